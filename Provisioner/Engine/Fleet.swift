import Foundation
import VPTLocalCloud
import VPTModel
import VPTState

/// Errors about the fleet as a whole.
public enum FleetError: Error, CustomStringConvertible, Equatable {
    case notInitialized(String)
    case poolMismatch(existing: String, requested: String)
    case invalidPool(String)
    case unknownTenant(String)
    case nameMismatch(spec: String, argument: String)
    case providerUnavailable(String)
    case invalidImage(String)

    public var description: String {
        switch self {
        case .notInitialized(let home): "no fleet at \(home); run `vpt init` first (or set VPT_HOME / --home)"
        case .poolMismatch(let existing, let requested):
            "the fleet already uses the CIDR pool \(existing); it cannot change to \(requested) once tenants may hold blocks"
        case .invalidPool(let pool): "--cidr-pool: '\(pool)' must be an IPv4 CIDR block from /8 to /16 with host bits zero"
        case .unknownTenant(let name): "tenant '\(name)' is not in the fleet; `vpt tenant list` shows the tenants"
        case .nameMismatch(let spec, let argument):
            "name: the spec names tenant '\(spec)' but the command names '\(argument)'; they must match"
        case .invalidImage(let image):
            "runtime image: '\(image)' must be pinned by digest, as REPOSITORY@sha256:<64 lowercase hex digits>"
        case .providerUnavailable(let provider):
            "vendorAccount.provider: '\(provider)' is not available in this version; use 'local'"
        }
    }
}

/// What `vpt init` did.
public struct FleetInitReport: Codable, Sendable, Equatable {
    public var home: String
    public var created: Bool
    public var cidrPool: String
    public var masterKeyCreated: Bool
    public var migrations: [String]
    public var runtime: Bool
    public var portRange: String
    /// Set when outgoing connections may take some of the tenant ports (see `EphemeralPorts`).
    public var portRangeWarning: String?
    /// The digest-pinned image the rendered Kubernetes manifests run, if set.
    public var runtimeImage: String?
}

/// Creating and opening a fleet home.
public enum Fleet {
    /// Fleet setting naming the runtime image of rendered Kubernetes manifests.
    public static let runtimeImageSetting = "runtimeImage"

    /// Creates the fleet under `home` (idempotent): state store, CIDR pool, master key.
    /// - Parameters:
    ///   - runtime: whether `provision` starts tenant processes (off: configuration only).
    ///   - portRange: loopback ports handed to tenant processes.
    ///   - ephemeral: the machine's ephemeral ports, which the port range should stay clear of.
    public static func initialize(
        home: URL, cidrPool: String = "10.0.0.0/8", runtime: Bool = true, portRange: ClosedRange<Int> = StateStore.defaultTenantPorts,
        runtimeImage: String? = nil, ephemeral: EphemeralPorts? = .current()
    ) throws -> FleetInitReport {
        if let runtimeImage, !DeploymentConfigRenderer.validateImage(runtimeImage) { throw FleetError.invalidImage(runtimeImage) }
        guard case .success(let pool) = CIDRBlock.parse(cidrPool), (8...16).contains(pool.prefixLength) else {
            throw FleetError.invalidPool(cidrPool)
        }
        let paths = FleetPaths(home: home)
        let existed = FileManager.default.fileExists(atPath: paths.stateDatabase.path)
        try SecureFiles.makeDirectory(paths.home)
        try SecureFiles.makeDirectory(paths.accounts)
        let store = try StateStore(url: paths.stateDatabase)
        let inForce = try store.initializeSetting("cidrPool", pool.description)
        if inForce != pool.description, existed {
            throw FleetError.poolMismatch(existing: inForce, requested: pool.description)
        }
        try store.initializeSetting("createdAt", ISO8601DateFormatter().string(from: Date()))
        let runtimeSetting = try store.initializeSetting("runtime", runtime ? "on" : "off")
        let ports = try store.initializeSetting("portRange", "\(portRange.lowerBound)-\(portRange.upperBound)")
        if let runtimeImage { try store.setSetting(runtimeImageSetting, runtimeImage) }
        let keyCreated = try FleetMasterKey.create(home: paths.home)
        return FleetInitReport(
            home: paths.home.path, created: !existed, cidrPool: inForce, masterKeyCreated: keyCreated,
            migrations: try store.appliedMigrations(), runtime: runtimeSetting == "on", portRange: ports,
            portRangeWarning: runtimeSetting == "on" ? try ephemeral.flatMap { $0.warning(for: try store.tenantPorts()) } : nil,
            runtimeImage: try store.setting(runtimeImageSetting))
    }

    /// Opens an initialized fleet.
    public static func open(home: URL) throws -> (FleetPaths, StateStore) {
        let paths = FleetPaths(home: home)
        guard FileManager.default.fileExists(atPath: paths.stateDatabase.path),
            FileManager.default.fileExists(atPath: FleetMasterKey.url(home: paths.home).path)
        else { throw FleetError.notInitialized(paths.home.path) }
        return (paths, try StateStore(url: paths.stateDatabase))
    }
}
