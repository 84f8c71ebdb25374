import Foundation
import Hummingbird
import HummingbirdTLS
import ServiceLifecycle
import Logging
import VPTContract
import VPTLocalCloud
import VPTMetadata
import VPTOnlineStore

/// Builds and runs the two tenant processes from a rendered runtime config.
public enum RuntimeServices {
    public enum StartupError: Error, CustomStringConvertible {
        case missingFile(String)
        case badConfig(String)
        public var description: String {
            switch self {
            case .missingFile(let path): "required file \(path) is missing; run `vpt provision` again"
            case .badConfig(let reason): "the runtime config is not usable: \(reason)"
            }
        }
    }

    public static func loadConfig(_ path: String) throws -> RuntimeConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw StartupError.missingFile(path) }
        do {
            return try JSONDecoder().decode(RuntimeConfig.self, from: data)
        } catch {
            throw StartupError.badConfig("\(error)")
        }
    }

    static func readSecret(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw StartupError.missingFile(path) }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The control plane's services, not yet running: the public API (HTTPS when the tenant has
    /// TLS), the mutual-TLS internal listener for the data plane's snapshot, and the CMK watcher.
    /// - Parameter riftCommand: the Rift runner command (`vpt-runtime rift-run --config PATH`); the
    ///   scheduler runs only with one.
    public static func controlPlane(_ config: RuntimeConfig, port: Int? = nil, riftCommand: [String]? = nil, logger: Logger) throws -> [any Service] {
        guard let cmk = KMSKeyRef(arn: config.controlPlane.cmkArn) else { throw StartupError.badConfig("controlPlane.cmkArn") }
        let home = URL(fileURLWithPath: config.accountsRoot).deletingLastPathComponent()
        let kms = try LocalKMS(home: home)
        let store = try MetadataStore(
            url: URL(fileURLWithPath: config.controlPlane.dataDirectory).appendingPathComponent("metadata.sqlite"), tenant: config.tenant,
            cmk: cmk, kms: kms, caller: config.controlPlane.roleArn)
        let state = try ControlPlaneState(store: store, tenant: config.tenant, bootstrap: config.principals)
        let metrics = RequestMetrics()
        let cmkGuard = CMKGuard()
        let watcher = CMKWatcher(guardState: cmkGuard, store: store, kms: kms, cmk: cmk, tenant: config.tenant, logger: logger)
        let scheduler = try riftCommand.map {
            try JobScheduler(
                store: store, state: state,
                launcher: RiftLauncher(command: $0, workDirectory: URL(fileURLWithPath: config.dataPlane.dataDirectory).appendingPathComponent("rift")),
                settings: config.dataPlane.rift)
        }
        let background: [any Service] = [watcher] + (scheduler.map { [SchedulerService(scheduler: $0, logger: logger)] } ?? [])
        let controller = ControlPlaneController(
            state: state, tenant: config.tenant, adminKeySHA256: config.controlPlane.adminKeySHA256,
            internalTokenSHA256: config.controlPlane.internalTokenSHA256, metrics: metrics,
            audit: config.controlPlane.auditLogFile.map { AuditLog(url: URL(fileURLWithPath: $0)) }, scheduler: scheduler,
            defaultRateLimit: config.dataPlane.rateLimit)
        let router = Router()
        router.add(middleware: MetricsMiddleware(metrics: metrics))
        router.add(middleware: CMKGuardMiddleware(guardState: cmkGuard))
        controller.addRoutes(to: router)
        let address = BindAddress.hostname("127.0.0.1", port: port ?? config.controlPlane.port)
        guard let tls = config.tls else {
            controller.addInternalRoutes(to: router)
            return [
                Application(router: router, configuration: .init(address: address, serverName: "vpt-control-plane"), services: background, logger: logger)
            ]
        }
        let serverCertificate = ReloadingCertificate(certificateFile: tls.controlPlaneCertFile, keyFile: tls.controlPlaneKeyFile)
        let internalRouter = Router()
        internalRouter.add(middleware: MetricsMiddleware(metrics: metrics))
        internalRouter.add(middleware: CMKGuardMiddleware(guardState: cmkGuard))
        controller.addInternalRoutes(to: internalRouter)
        return [
            Application(
                router: router, server: try .tls(.http1(), tlsConfiguration: try serverCertificate.serverConfiguration()),
                configuration: .init(address: address, serverName: "vpt-control-plane"), services: background, logger: logger),
            Application(
                router: internalRouter, server: try .tls(.http1(), tlsConfiguration: try serverCertificate.serverConfiguration(clientCA: tls.caFile)),
                configuration: .init(address: .hostname("127.0.0.1", port: tls.internalPort), serverName: "vpt-control-plane-internal"),
                logger: logger),
        ]
    }

    /// Everything the data plane needs, opened: session, store, cache, access list.
    public struct DataPlaneParts: Sendable {
        public let controller: DataPlaneController
        public let poller: SnapshotPoller
        public let access: AccessList
        public let tls: TLSConfig?
        public let connections: ConnectionLimit
    }

    /// - Parameter configPath: where `config` was read from; a credential reload reads it again.
    public static func dataPlaneParts(_ config: RuntimeConfig, configPath: String? = nil, controlPlaneURL: URL? = nil) throws -> DataPlaneParts {
        let (opened, identity) = try SwitchableStore.open(config)
        let store = SwitchableStore(opened, identity: identity)
        let metrics = RequestMetrics()
        let cache =
            config.dataPlane.servingCache.enabled
            ? ServingCache(capacity: config.dataPlane.servingCache.maxEntries, maxAgeSeconds: config.dataPlane.servingCache.maxAgeSeconds, metrics: metrics)
            : nil
        let access = AccessList(tenant: config.tenant, defaultRateLimit: config.dataPlane.rateLimit)
        let offline = config.offlineStore.kind == "local" ? OfflineLog(root: URL(fileURLWithPath: config.offlineStore.location)) : nil
        let features = FeatureServer(access: access, store: store, cache: cache, metrics: metrics)
        let connections = ConnectionLimit(maximum: FileDescriptorLimit.connections(wanted: config.dataPlane.maxConnections ?? ConnectionLimit.defaultMaximum))
        let ingest = IngestService(access: access, store: store, cache: cache, offlineLog: offline, metrics: metrics)
        let token = try readSecret(config.dataPlane.internalTokenFile)
        let url = controlPlaneURL ?? (config.tls.map { URL(string: "https://127.0.0.1:\($0.internalPort)/")! } ?? URL(string: "http://127.0.0.1:\(config.controlPlane.port)/")!)
        return DataPlaneParts(
            controller: DataPlaneController(
                features: features, ingest: ingest, metrics: metrics, connections: connections, internalTokenSHA256: APIKeyFormat.hash(token),
                credentials: CredentialReloader(store: store, configPath: configPath)),
            poller: SnapshotPoller(
                controlPlane: url, token: token, access: access,
                tls: config.tls.map { SnapshotPoller.ClientTLS(caFile: $0.caFile, certificate: ReloadingCertificate(certificateFile: $0.clientCertFile, keyFile: $0.clientKeyFile)) }),
            access: access, tls: config.tls, connections: connections)
    }

    public static func dataPlane(_ parts: DataPlaneParts, port: Int, logger: Logger) throws -> any Service {
        let controller = parts.controller
        let tls = try parts.tls.map {
            try ReloadingCertificate(certificateFile: $0.dataPlaneCertFile, keyFile: $0.dataPlaneKeyFile).serverConfiguration()
        }
        return DataPlaneHTTPServer(
            port: port, tls: tls, serverName: "vpt-data-plane", connectionLimit: parts.connections, logger: logger,
            onRefusal: { controller.recordRefusal(path: $0, status: $1, seconds: $2) }
        ) { controller.respond(to: $0, route: $1) }
    }
}
