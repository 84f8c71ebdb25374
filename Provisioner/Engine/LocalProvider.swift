import Foundation
import VPTLocalCloud
import VPTModel

/// What happened to a resource on delete.
public enum DeleteOutcome: Sendable, Equatable {
    case deleted
    /// Customer data or a customer-owned key: left in place on purpose.
    case retained(String)
    /// A key scheduled for deletion at the end of its waiting period.
    case scheduled(Date)
}

/// Errors of the local provider, each saying what to do.
public enum ProviderError: Error, CustomStringConvertible, Equatable {
    case missingOutput(String, String)
    case renderFailed(String)
    case unsupported(String)
    /// A secret file the spec names cannot be used; `field` is the spec field that names it.
    case unusableSecret(field: String, reason: String)

    public var description: String {
        switch self {
        case .missingOutput(let address, let key): "\(address) has no recorded \(key); run `vpt provision` again to recreate it"
        case .renderFailed(let reason): "the runtime config did not render to a valid document: \(reason)"
        case .unsupported(let what): "\(what) is not available on the local target"
        case .unusableSecret(let field, let reason): "\(field): \(reason)"
        }
    }
}

/// Creates, updates and deletes a tenant's resources on the local target, with real semantics:
/// account directories, the local KMS and IAM. Every operation is idempotent, so a run interrupted
/// at any point is completed by running it again.
public struct LocalProvider: Sendable {
    public let paths: FleetPaths
    public let kms: LocalKMS
    public let iam: LocalIAM
    public let graph: TenantGraph
    /// Waiting period for vendor keys on deprovision (7...30 days).
    public var keyDeletionDays = 30
    /// Starts the tenant's processes; nil when the fleet runs configuration only (`vpt init --no-runtime`).
    public var launcher: RuntimeLauncher?

    public init(paths: FleetPaths, kms: LocalKMS, graph: TenantGraph) {
        self.paths = paths
        self.kms = kms
        self.iam = LocalIAM(accountsRoot: paths.accounts)
        self.graph = graph
    }

    /// Brings a resource to its desired state; returns its outputs. Used for create, update and replace.
    public func apply(_ resource: DesiredResource, dependencies: [String: [String: String]]) throws -> [String: String] {
        FaultInjection.hit("provider.begin:\(resource.kind.rawValue)")
        let outputs: [String: String]
        switch resource.kind {
        case .vendorAccount: outputs = try applyVendorAccount(resource)
        case .vpc, .subnet: outputs = try applyNetwork(resource)
        case .vendorRole: outputs = try applyVendorRole(resource)
        case .cmk: outputs = try applyCMK(resource)
        case .crossAccountRole: outputs = try applyCrossAccountRole(resource)
        case .onlineStore, .offlineStore: outputs = try applyStore(resource)
        case .runtimeSecrets: outputs = try applyRuntimeSecrets(resource)
        case .certificates: outputs = try applyCertificates(resource)
        case .runtimeConfig: outputs = try applyRuntimeConfig(resource, dependencies: dependencies)
        case .controlPlane, .dataPlane: outputs = try applyPlane(resource, dependencies: dependencies)
        case .principal: outputs = ["registeredIn": paths.runtimeConfig(graph.tenant).path]
        }
        FaultInjection.hit("provider.end:\(resource.kind.rawValue)")
        return outputs
    }

    /// Removes a recorded resource (or retains it, for customer data).
    public func delete(kind: ResourceKind, attributes: [String: String], outputs: [String: String]) throws -> DeleteOutcome {
        FaultInjection.hit("provider.delete:\(kind.rawValue)")
        switch kind {
        case .vendorAccount: return try closeVendorAccount(attributes)
        case .vpc, .subnet:
            try removeIfPresent(networkFile(kind, attributes))
            return .deleted
        case .vendorRole:
            try iam.deleteRole(account: attributes["account"] ?? "", name: attributes["name"] ?? "")
            if attributes["name"] == graph.dataPlaneRoleName { try removeIfPresent(paths.dataPlaneCredential(graph.tenant)) }
            return .deleted
        case .cmk: return try deleteCMK(attributes, outputs)
        case .crossAccountRole:
            try iam.deleteRole(account: attributes["account"] ?? "", name: attributes["name"] ?? "")
            return .deleted
        case .onlineStore, .offlineStore:
            return .retained("customer data at \(attributes["location"] ?? "?") (\(attributes["region"] ?? "?")) is left in place")
        case .runtimeConfig:
            try removeIfPresent(URL(fileURLWithPath: attributes["path"] ?? ""))
            return .deleted
        case .certificates:
            try removeIfPresent(URL(fileURLWithPath: attributes["folder"] ?? ""))
            return .deleted
        case .runtimeSecrets:
            try removeIfPresent(paths.adminKey(graph.tenant))
            try removeIfPresent(paths.internalToken(graph.tenant))
            return .deleted
        case .controlPlane, .dataPlane:
            launcher?.stop(tenant: graph.tenant)
            try removeIfPresent(URL(fileURLWithPath: attributes["directory"] ?? ""))
            return .deleted
        case .principal: return .deleted
        }
    }

    func removeIfPresent(_ url: URL) throws {
        guard !url.path.isEmpty, url.path != "/" else { return }
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
    }
}
