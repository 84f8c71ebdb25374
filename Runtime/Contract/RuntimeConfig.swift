/// The runtime configuration the provisioner renders for a tenant (`tenants/NAME/config/runtime.json`)
/// and a tenant's `vpt-runtime` reads. Versioned; holds no secret, only where secrets are.
public struct RuntimeConfig: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1
    public var schemaVersion: Int
    public var tenant: String
    /// `$VPT_HOME/accounts`, where the local target's cloud services keep their state.
    public var accountsRoot: String
    public var allowedRegions: [String]
    public var controlPlane: ControlPlaneConfig
    public var dataPlane: DataPlaneConfig
    public var onlineStore: StoreConfig
    public var offlineStore: StoreConfig
    public var crossAccount: CrossAccountConfig
    public var principals: [PrincipalConfig]
    /// TLS for both planes; absent in configs written before TLS (they serve plain HTTP).
    public var tls: TLSConfig?
}

/// The tenant's certificates (PEM files in `tenants/NAME/tls/`) and the control plane's
/// mutual-TLS port, where the data plane fetches its snapshot with its client certificate.
public struct TLSConfig: Codable, Sendable, Equatable {
    /// The tenant CA: clients trust it; the control plane's internal port accepts client
    /// certificates it issued.
    public var caFile: String
    public var controlPlaneCertFile: String
    public var controlPlaneKeyFile: String
    public var dataPlaneCertFile: String
    public var dataPlaneKeyFile: String
    /// The data plane's client certificate for the internal port.
    public var clientCertFile: String
    public var clientKeyFile: String
    public var internalPort: Int
}

/// Control plane process settings.
public struct ControlPlaneConfig: Codable, Sendable, Equatable {
    public var port: Int
    public var dataDirectory: String
    /// ARN of the tenant CMK that encrypts metadata at rest.
    public var cmkArn: String
    /// The vendor role the control plane acts as.
    public var roleArn: String
    /// SHA-256 of the tenant admin API key (the key itself is only in the tenant's secrets folder).
    public var adminKeySHA256: String
    /// SHA-256 of the token the data plane presents to fetch its snapshot.
    public var internalTokenSHA256: String
    /// The tenant's key audit log in the vendor account (API key events are appended to it).
    public var auditLogFile: String?
}

/// Data plane process settings.
public struct DataPlaneConfig: Codable, Sendable, Equatable {
    public var port: Int
    public var region: String
    public var dataDirectory: String
    public var roleArn: String
    /// File (0600) holding the token the data plane presents to the control plane.
    public var internalTokenFile: String
    public var servingCache: CacheConfig
    public var rift: RiftConfig
    /// Every service account's serving limit unless the control plane sets its own; absent: none.
    public var rateLimit: RateLimit?
    /// Threads serving HTTP (NIO event loops); absent: `defaultEventLoops` of the cores the process may use.
    public var eventLoops: Int?
    /// Connections the data plane keeps open at once; absent: the runtime's default (10,000).
    public var maxConnections: Int?

    /// One loop per core but one (and at least one): the data plane shares its host with the
    /// tenant's control plane, its Redis, Rift runners, the kernel's network work and, on the local
    /// target, other tenants. On two cores one loop served with a p99 of 1.0–1.7 ms at half of its
    /// saturation where two took 1.5–2.4 ms, for a fifth less peak throughput (docs/benchmarks.md,
    /// "Ninth session" onwards).
    public static func defaultEventLoops(cores: Int) -> Int { max(1, cores - 1) }
}

public struct CacheConfig: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var maxAgeSeconds: Int
    public var maxEntries: Int
}

/// Rift batch compute: whether the control plane schedules jobs, where (`region`) they run, and how
/// many runners it keeps going, how often a failed job is tried and how long it backs off
/// (doubling) between attempts. The tenant spec declares it as `dataPlane.rift`.
public struct RiftConfig: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var region: String
    public var maxConcurrentJobs: Int
    public var maxAttempts: Int
    public var retryBackoffSeconds: Int
    /// Finished jobs older than this leave the history (see the scheduler's retention rule).
    public var jobHistoryDays: Int

    public init(
        enabled: Bool = false, region: String, maxConcurrentJobs: Int = 2, maxAttempts: Int = 3, retryBackoffSeconds: Int = 30,
        jobHistoryDays: Int = 30
    ) {
        self.enabled = enabled
        self.region = region
        self.maxConcurrentJobs = maxConcurrentJobs
        self.maxAttempts = maxAttempts
        self.retryBackoffSeconds = retryBackoffSeconds
        self.jobHistoryDays = jobHistoryDays
    }

    enum CodingKeys: String, CodingKey { case enabled, region, maxConcurrentJobs, maxAttempts, retryBackoffSeconds, jobHistoryDays }

    /// Configs rendered (and specs recorded in the fleet state) before the scheduler existed carry
    /// only `enabled` and `region`; before retention, no `jobHistoryDays`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            enabled: try c.decode(Bool.self, forKey: .enabled), region: try c.decode(String.self, forKey: .region),
            maxConcurrentJobs: try c.decodeIfPresent(Int.self, forKey: .maxConcurrentJobs) ?? 2,
            maxAttempts: try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? 3,
            retryBackoffSeconds: try c.decodeIfPresent(Int.self, forKey: .retryBackoffSeconds) ?? 30,
            jobHistoryDays: try c.decodeIfPresent(Int.self, forKey: .jobHistoryDays) ?? 30)
    }
}

/// Where a store lives in the customer account.
public struct StoreConfig: Codable, Sendable, Equatable {
    public var kind: String
    public var account: String
    public var region: String
    /// A path for sqlite and local stores, a URL for redis.
    public var location: String
    /// The resource name that IAM permissions refer to.
    public var resource: String
    /// Key prefix (redis) or table name, isolating the tenant inside a shared engine.
    public var namespace: String
    /// Redis: the file (0600) holding the password of the endpoint's ACL user; absent for stores
    /// that the cross-account session alone opens.
    public var passwordFile: String?
    /// Redis over TLS (`rediss://`): a PEM file of the certificate authorities to trust for the
    /// server's certificate; absent, the system's trust roots.
    public var caFile: String?
    /// Redis over TLS to a server that verifies its clients: the tenant's client certificate
    /// (PEM) and its private key (PEM, 0600).
    public var clientCertFile: String?
    public var clientKeyFile: String?

    public init(
        kind: String, account: String, region: String, location: String, resource: String, namespace: String, passwordFile: String? = nil,
        caFile: String? = nil, clientCertFile: String? = nil, clientKeyFile: String? = nil
    ) {
        self.kind = kind
        self.account = account
        self.region = region
        self.location = location
        self.resource = resource
        self.namespace = namespace
        self.passwordFile = passwordFile
        self.caFile = caFile
        self.clientCertFile = clientCertFile
        self.clientKeyFile = clientKeyFile
    }
}

/// How the data plane reaches the customer account.
public struct CrossAccountConfig: Codable, Sendable, Equatable {
    public var roleArn: String
    public var externalId: String
    public var sessionSeconds: Int
    /// File (0600) holding the data plane role's own access key, used to call AssumeRole.
    public var callerCredentialFile: String
}

public struct PrincipalConfig: Codable, Sendable, Equatable {
    public var serviceAccount: String
    public var workspace: String
    public var role: String
}
