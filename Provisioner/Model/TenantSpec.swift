import VPTContract

/// A tenant's desired deployment, as written by an operator (`apiVersion: vpt/v1`, `kind: Tenant`).
///
/// Field names match the YAML keys; `docs/tenant-spec.md` is the reference.
public struct TenantSpec: Codable, Sendable, Equatable {
    public var apiVersion: String = "vpt/v1"
    public var kind: String = "Tenant"
    /// DNS label, at most 21 characters; names the tenant everywhere.
    public var name: String
    /// Free-form labels for inventory; rendered as tags and annotations.
    public var labels: [String: String] = [:]
    /// Free text for people (at most 256 characters); rendered into descriptions and tags.
    public var description: String?
    public var vendorAccount: VendorAccountSpec
    public var customerAccount: CustomerAccountSpec
    public var encryption: EncryptionSpec
    public var dataPlane: DataPlaneSpec
    public var principals: [PrincipalSpec]

    public init(
        name: String, labels: [String: String] = [:], description: String? = nil, vendorAccount: VendorAccountSpec,
        customerAccount: CustomerAccountSpec, encryption: EncryptionSpec, dataPlane: DataPlaneSpec,
        principals: [PrincipalSpec]
    ) {
        self.name = name
        self.labels = labels
        self.description = description
        self.vendorAccount = vendorAccount
        self.customerAccount = customerAccount
        self.encryption = encryption
        self.dataPlane = dataPlane
        self.principals = principals
    }
}

/// Where a tenant's vendor-side resources live.
public enum CloudProvider: String, Codable, Sendable, CaseIterable {
    case local, aws
}

/// The dedicated vendor account and its VPC.
public struct VendorAccountSpec: Codable, Sendable, Equatable {
    public var provider: CloudProvider
    public var region: String
    public var vpc: VPCSpec
    public init(provider: CloudProvider, region: String, vpc: VPCSpec) {
        self.provider = provider
        self.region = region
        self.vpc = vpc
    }
}

/// The VPC's address space: `auto` (allocated from the fleet pool) or an explicit block.
public struct VPCSpec: Codable, Sendable, Equatable {
    /// `auto` or `a.b.c.d/n`.
    public var cidr: String
    /// Block size requested with `cidr: auto`.
    public var prefixLength: Int
    public init(cidr: String = "auto", prefixLength: Int = 16) {
        self.cidr = cidr
        self.prefixLength = prefixLength
    }
    /// The explicit block, when one is given and well-formed.
    public var explicitBlock: CIDRBlock? {
        if case .success(let block) = CIDRBlock.parse(cidr) { return block }
        return nil
    }
    /// The prefix length the VPC will have.
    public var effectivePrefixLength: Int { explicitBlock?.prefixLength ?? prefixLength }
}

/// The customer's own cloud account, where feature data lives.
public struct CustomerAccountSpec: Codable, Sendable, Equatable {
    public var accountId: String
    public var region: String
    public var residency: ResidencySpec
    public var crossAccountRole: CrossAccountRoleSpec
    public var onlineStore: OnlineStoreSpec
    public var offlineStore: OfflineStoreSpec
    /// External compute engines (e.g. Spark) that may run the tenant's jobs.
    public var computeProviders: [ComputeProviderSpec]
    public init(
        accountId: String, region: String, residency: ResidencySpec, crossAccountRole: CrossAccountRoleSpec,
        onlineStore: OnlineStoreSpec, offlineStore: OfflineStoreSpec, computeProviders: [ComputeProviderSpec] = []
    ) {
        self.accountId = accountId
        self.region = region
        self.residency = residency
        self.crossAccountRole = crossAccountRole
        self.onlineStore = onlineStore
        self.offlineStore = offlineStore
        self.computeProviders = computeProviders
    }
}

/// Regions where feature data may be stored, cached or computed.
public struct ResidencySpec: Codable, Sendable, Equatable {
    public var allowedRegions: [String]
    public init(allowedRegions: [String]) { self.allowedRegions = allowedRegions }
}

/// The role in the customer account that the tenant's data plane assumes.
public struct CrossAccountRoleSpec: Codable, Sendable, Equatable {
    /// `auto` (generated once, kept across re-runs) or an explicit value.
    public var externalId: String
    public var maxSessionSeconds: Int
    public init(externalId: String = "auto", maxSessionSeconds: Int = 3600) {
        self.externalId = externalId
        self.maxSessionSeconds = maxSessionSeconds
    }
}

/// Kinds of online store.
public enum OnlineStoreKind: String, Codable, Sendable, CaseIterable {
    case sqlite, redis, dynamodb
}

/// The online (serving) store in the customer account.
public struct OnlineStoreSpec: Codable, Sendable, Equatable {
    public var kind: OnlineStoreKind
    public var region: String
    /// Redis URL (`redis://[user@]host:port/db`, or `rediss://` for TLS) for `redis`; an endpoint
    /// override for `dynamodb`.
    public var endpoint: String?
    /// Redis: an absolute path to the file (0600) holding the password of the ACL user the customer
    /// issued for this tenant. The spec names the file; the password never enters the spec or state.
    public var passwordFile: String?
    /// Redis over TLS (`rediss://`): an absolute path to a PEM file of the certificate authorities
    /// that sign the server's certificate; absent, the system's trust roots (a managed service's
    /// public CA).
    public var caFile: String?
    /// Redis over TLS, for a server that verifies its clients (`tls-auth-clients yes`): absolute
    /// paths to the tenant's client certificate (PEM) and its private key (PEM, mode 0600), issued
    /// by the customer. Both or neither.
    public var clientCertFile: String?
    public var clientKeyFile: String?
    public init(
        kind: OnlineStoreKind, region: String, endpoint: String? = nil, passwordFile: String? = nil, caFile: String? = nil,
        clientCertFile: String? = nil, clientKeyFile: String? = nil
    ) {
        self.kind = kind
        self.region = region
        self.endpoint = endpoint
        self.passwordFile = passwordFile
        self.caFile = caFile
        self.clientCertFile = clientCertFile
        self.clientKeyFile = clientKeyFile
    }
}

/// Kinds of offline store.
public enum OfflineStoreKind: String, Codable, Sendable, CaseIterable {
    case local, s3
}

/// The offline (training) store in the customer account.
public struct OfflineStoreSpec: Codable, Sendable, Equatable {
    public var kind: OfflineStoreKind
    public var region: String
    public var bucket: String?
    public init(kind: OfflineStoreKind, region: String, bucket: String? = nil) {
        self.kind = kind
        self.region = region
        self.bucket = bucket
    }
}

/// Kinds of external compute.
public enum ComputeProviderKind: String, Codable, Sendable, CaseIterable {
    case spark
}

/// An external compute engine in the customer account.
public struct ComputeProviderSpec: Codable, Sendable, Equatable {
    public var name: String
    public var kind: ComputeProviderKind
    public var region: String
    public init(name: String, kind: ComputeProviderKind, region: String) {
        self.name = name
        self.kind = kind
        self.region = region
    }
}

/// Who manages the tenant's customer master key.
public enum KeyManager: String, Codable, Sendable, CaseIterable {
    case vendor, customer
}

/// Encryption settings.
public struct EncryptionSpec: Codable, Sendable, Equatable {
    public var cmk: CMKSpec
    public init(cmk: CMKSpec) { self.cmk = cmk }
}

/// The tenant's customer master key.
public struct CMKSpec: Codable, Sendable, Equatable {
    public var managedBy: KeyManager
    /// For `managedBy: customer`: `alias/NAME` in the customer account, or a KMS key ARN.
    public var keyRef: String?
    public var rotationDays: Int
    public init(managedBy: KeyManager = .vendor, keyRef: String? = nil, rotationDays: Int = 365) {
        self.managedBy = managedBy
        self.keyRef = keyRef
        self.rotationDays = rotationDays
    }
}

/// Data-plane settings.
public struct DataPlaneSpec: Codable, Sendable, Equatable {
    public var servingCache: ServingCacheSpec
    public var rift: RiftSpec
    /// Every service account's serving limit, unless the control plane sets its own; nil: none.
    public var rateLimit: RateLimit?
    /// Threads the feature server serves HTTP on; nil: one per core but one (at least one). Fewer
    /// bound what one tenant takes of a shared host, and cost less CPU per request where load is moderate.
    public var eventLoops: Int?
    /// Connections the data plane keeps open at once; nil: the runtime's default (10,000).
    public var maxConnections: Int?
    public init(
        servingCache: ServingCacheSpec = .init(), rift: RiftSpec, rateLimit: RateLimit? = nil, eventLoops: Int? = nil, maxConnections: Int? = nil
    ) {
        self.servingCache = servingCache
        self.rift = rift
        self.rateLimit = rateLimit
        self.eventLoops = eventLoops
        self.maxConnections = maxConnections
    }

    /// The accepted ranges of `eventLoops` and `maxConnections`.
    public static let eventLoopsRange = 1...64
    public static let maxConnectionsRange = 1...1_000_000
}

/// The feature server's volatile cache.
public struct ServingCacheSpec: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var maxAgeSeconds: Int
    public var maxEntries: Int
    public init(enabled: Bool = true, maxAgeSeconds: Int = 300, maxEntries: Int = 100_000) {
        self.enabled = enabled
        self.maxAgeSeconds = maxAgeSeconds
        self.maxEntries = maxEntries
    }
}

/// Rift batch compute, as the spec declares it and the runtime config carries it: the same type,
/// so the two cannot drift apart (see `RiftConfig` for the fields and their defaults).
public typealias RiftSpec = RiftConfig

/// Roles on a workspace (owner ⊃ editor ⊃ operator ⊃ consumer ⊃ viewer): the same roles the
/// tenant's control plane enforces.
public typealias WorkspaceRole = AccessRole

/// A service account with a role on one workspace.
public struct PrincipalSpec: Codable, Sendable, Equatable, Hashable {
    public var serviceAccount: String
    public var workspace: String
    public var role: WorkspaceRole
    public init(serviceAccount: String, workspace: String, role: WorkspaceRole) {
        self.serviceAccount = serviceAccount
        self.workspace = workspace
        self.role = role
    }
}
