/// What validation needs to know about the rest of the fleet.
public struct FleetContext: Sendable {
    /// Tenants other than the one being validated whose VPC blocks overlap a given block.
    public var overlapping: @Sendable (CIDRBlock) -> [(tenant: String, block: CIDRBlock)]

    public init(overlapping: @escaping @Sendable (CIDRBlock) -> [(tenant: String, block: CIDRBlock)]) {
        self.overlapping = overlapping
    }

    /// A fleet given as a table of blocks by tenant name.
    public init(allocations: [String: CIDRBlock]) {
        self.overlapping = { block in
            allocations.filter { $0.value.overlaps(block) }.map { ($0.key, $0.value) }.sorted { $0.tenant < $1.tenant }
        }
    }

    /// No other tenants (a spec checked outside any fleet).
    public static let empty = FleetContext(allocations: [:])
}
