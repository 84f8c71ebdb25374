/// What validation needs to know about the rest of the fleet.
public struct FleetContext: Sendable {
    /// VPC blocks held by other tenants, by tenant name.
    public var allocations: [String: CIDRBlock]
    public init(allocations: [String: CIDRBlock]) { self.allocations = allocations }
    /// No other tenants (a spec checked outside any fleet).
    public static let empty = FleetContext(allocations: [:])
}
