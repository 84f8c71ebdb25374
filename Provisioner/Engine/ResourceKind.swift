/// The kinds of resource in a tenant's graph.
public enum ResourceKind: String, Codable, Sendable, CaseIterable {
    case vendorAccount = "vendor_account"
    case vpc
    case subnet
    case vendorRole = "iam_role"
    case cmk
    case crossAccountRole = "cross_account_role"
    case onlineStore = "online_store"
    case offlineStore = "offline_store"
    case principal
    case runtimeSecrets = "runtime_secrets"
    case certificates
    case runtimeConfig = "runtime_config"
    case controlPlane = "control_plane"
    case dataPlane = "data_plane"

    /// Customer data: never deleted by vpt, listed as retained on deprovision.
    public var holdsCustomerData: Bool { self == .onlineStore || self == .offlineStore }
}

/// One node of the desired graph: what should exist, built from the spec and generated values.
public struct DesiredResource: Sendable, Equatable {
    public var address: String
    public var kind: ResourceKind
    public var dependsOn: [String]
    /// Every attribute that matters to the resource; a change is an update (or a replacement, below).
    public var attributes: [String: String]
    /// Attributes that cannot change in place.
    public var replaceOnChange: Set<String>

    public init(
        _ address: String, _ kind: ResourceKind, dependsOn: [String] = [], attributes: [String: String],
        replaceOnChange: Set<String> = []
    ) {
        self.address = address
        self.kind = kind
        self.dependsOn = dependsOn
        self.attributes = attributes
        self.replaceOnChange = replaceOnChange
    }
}
