import Foundation
import VPTContract
import VPTLocalCloud
import VPTOnlineStore

/// What the Python runner executes: the request resolved against the tenant's runtime config into
/// absolute locations, after residency and the tenant's session were checked for every resource
/// the job touches. Holds no secret: the session's key id is there to be logged, not used.
public struct RiftRunnerJob: Codable, Sendable, Equatable {
    public struct Location: Codable, Sendable, Equatable {
        public var kind: String?
        public var location: String
        public var region: String
        public var namespace: String?
        /// Redis: the file with the tenant's ACL user's password (the runner reads it, as the data plane does).
        public var passwordFile: String? = nil
        /// Redis over TLS: the CA certificates to check the server's certificate against.
        public var caFile: String? = nil
        /// Redis over TLS to a server that verifies its clients: the tenant's certificate and key.
        public var clientCertFile: String? = nil
        public var clientKeyFile: String? = nil
    }
    public struct Source: Codable, Sendable, Equatable {
        public var name: String
        public var path: String
        public var format: String
        public var region: String
    }
    public struct Window: Codable, Sendable, Equatable {
        public var start: String
        public var end: String
    }
    public struct Schedule: Codable, Sendable, Equatable {
        public var seconds: Int
        public var anchor: String
    }
    public struct View: Codable, Sendable, Equatable {
        public var name: String
        public var joinKeys: [TypedField]
        public var features: [TypedField]
        public var sql: String
        public var timestampField: String
        public var online: Bool
        public var offline: Bool
        public var aggregations: [AggregationDefinition]?
    }
    public var tenant: String
    public var workspace: String
    public var jobId: String
    public var attempt: Int
    public var allowedRegions: [String]
    public var computeRegion: String
    public var view: View
    public var source: Source
    public var offlineStore: Location
    public var onlineStore: Location
    public var window: Window
    public var schedule: Schedule
    /// Where DuckDB may spill: inside the offline store, so spilled rows stay in the customer's region.
    public var tempDirectory: String
    public var memoryLimit: String
    /// The session the launcher checked (key id and expiry only).
    public var sessionAccessKeyId: String
}

/// Why a job was refused before the runner started; names the resource and the rule.
public enum RiftLaunchError: Error, CustomStringConvertible {
    case outsideResidency(what: String, region: String, allowed: [String])
    case accessDenied(resource: String, reason: String)
    case disabled

    public var description: String {
        switch self {
        case .outsideResidency(let what, let region, let allowed):
            "\(what): region '\(region)' is outside allowedRegions \(allowed); the job did not run"
        case .accessDenied(let resource, let reason): "access to \(resource) was refused (\(reason)); the job did not run"
        case .disabled: "Rift batch compute is not enabled for this tenant; the job did not run"
        }
    }
}

public enum RiftJobBuilder {
    /// Checks residency, assumes the tenant's cross-account role and has the session authorized for
    /// each resource; then builds the runner's job. Nothing is read or written before that.
    public static func build(_ request: RiftJobRequest, config: RuntimeConfig, memoryLimit: String = "1GB") throws -> RiftRunnerJob {
        guard config.dataPlane.rift.enabled else { throw RiftLaunchError.disabled }
        let allowed = config.allowedRegions
        for (what, region) in [
            ("dataPlane.rift.region", config.dataPlane.rift.region), ("offlineStore", config.offlineStore.region),
            ("onlineStore", config.onlineStore.region),
        ] where !allowed.contains(region) {
            throw RiftLaunchError.outsideResidency(what: what, region: region, allowed: allowed)
        }
        let sts = LocalSTS(iam: LocalIAM(accountsRoot: URL(fileURLWithPath: config.accountsRoot)))
        guard let caller = try SecureFiles.readJSON(AccessKeyCredential.self, from: URL(fileURLWithPath: config.crossAccount.callerCredentialFile)) else {
            throw RuntimeServices.StartupError.missingFile(config.crossAccount.callerCredentialFile)
        }
        let session = try sts.assumeRole(
            roleArn: config.crossAccount.roleArn, externalId: config.crossAccount.externalId,
            sessionName: "\(config.tenant)-rift-\(request.jobId)", durationSeconds: config.crossAccount.sessionSeconds, caller: caller)
        let offline = config.offlineStore
        let online = config.onlineStore
        let viewFolder = "batch/\(request.workspace)/\(request.view.name)"
        let onlineObject = online.kind == "sqlite" ? SQLiteOnlineStore.fileName : "redis"
        var checks = [("store:read", "\(offline.resource)/\(request.source.path)")]
        if request.view.offline { checks.append(("store:write", "\(offline.resource)/\(viewFolder)")) }
        if request.view.online { checks.append(("store:write", "\(online.resource)/\(onlineObject)")) }
        for (action, resource) in checks {
            do {
                _ = try sts.authorize(session, action: action, resource: resource)
            } catch {
                throw RiftLaunchError.accessDenied(resource: resource, reason: "\(error)")
            }
        }
        let iso = ISO8601DateFormatter()
        let root = URL(fileURLWithPath: offline.location)
        return RiftRunnerJob(
            tenant: config.tenant, workspace: request.workspace, jobId: request.jobId, attempt: request.attempt, allowedRegions: allowed,
            computeRegion: config.dataPlane.rift.region,
            view: .init(
                name: request.view.name, joinKeys: request.joinKeys, features: request.view.features, sql: request.view.sql,
                timestampField: request.view.timestampField, online: request.view.online, offline: request.view.offline,
                aggregations: request.view.aggregations),
            source: .init(
                name: request.source.name, path: root.appendingPathComponent(request.source.path).path, format: request.source.format,
                region: offline.region),
            offlineStore: .init(kind: offline.kind, location: offline.location, region: offline.region),
            onlineStore: .init(
                kind: online.kind, location: online.location, region: online.region, namespace: online.namespace, passwordFile: online.passwordFile,
                caFile: online.caFile, clientCertFile: online.clientCertFile, clientKeyFile: online.clientKeyFile),
            window: .init(start: iso.string(from: request.windowStart), end: iso.string(from: request.windowEnd)),
            schedule: .init(seconds: request.scheduleSeconds, anchor: iso.string(from: request.featureStartTime)),
            tempDirectory: root.appendingPathComponent(".rift-tmp/\(request.jobId)").path, memoryLimit: memoryLimit,
            sessionAccessKeyId: session.accessKeyId)
    }

    /// The runner's environment: what Python needs to start, nothing that could carry a credential
    /// (plus the runner's test hook and chunk size, which carry none).
    public static func environment(from parent: [String: String]) -> [String: String] {
        let kept = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "VPT_RIFT_HOLD", "VPT_RIFT_CHUNK_ROWS"]
        return parent.filter { kept.contains($0.key) }
    }
}
