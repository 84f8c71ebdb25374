/// What the data plane needs from the control plane, fetched every second: who may call, with which
/// roles, and the applied feature repositories. Holds key hashes, never keys, and no feature values.
public struct ControlPlaneSnapshot: Codable, Sendable, Equatable {
    /// Increases with every change, so unchanged snapshots are cheap to skip.
    public var version: Int64
    public var principals: [PrincipalAccess]
    public var repos: [String: FeatureRepo]

    public init(version: Int64, principals: [PrincipalAccess], repos: [String: FeatureRepo]) {
        self.version = version
        self.principals = principals
        self.repos = repos
    }
}

/// One service account's live API keys and its roles by workspace.
public struct PrincipalAccess: Codable, Sendable, Equatable {
    public var serviceAccount: String
    /// SHA-256 hashes of the keys that are valid now (revoked and expired ones are left out).
    public var keyHashes: [String]
    public var roles: [String: String]
    /// The service account's own serving limit; nil: the tenant's default (`dataPlane.rateLimit`).
    public var rateLimit: RateLimit?

    public init(serviceAccount: String, keyHashes: [String], roles: [String: String], rateLimit: RateLimit? = nil) {
        self.serviceAccount = serviceAccount
        self.keyHashes = keyHashes
        self.roles = roles
        self.rateLimit = rateLimit
    }
}

/// Workspace roles, strongest first; each includes those after it.
public enum AccessRole: String, Codable, Sendable, CaseIterable, Comparable {
    case owner, editor, `operator`, consumer, viewer
    private var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (lhs: AccessRole, rhs: AccessRole) -> Bool { lhs.rank > rhs.rank }
}
