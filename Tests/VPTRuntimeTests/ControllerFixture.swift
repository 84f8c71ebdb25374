import Foundation
import VPTContract
@testable import VPTRuntime

/// A feature server and data plane controller over an in-memory store holding `v.a = 2.5` for
/// entity 42 (event time `now`), and a consumer key for workspace `ws` (service account `x`).
/// `defaultRateLimit` and `clock` are the access list's (the tenant's serving limit).
struct ControllerFixture {
    let key: String
    let access: AccessList
    let repo: FeatureRepo
    let store: MemoryStore
    let features: FeatureServer
    let controller: DataPlaneController

    init(
        now: Date = Date(), defaultRateLimit: RateLimit? = nil,
        clock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    ) throws {
        let repo = FeatureRepo(
            entities: [EntityDefinition(name: "u", joinKeys: [TypedField(name: "id", type: .int64)])],
            pushSources: [
                PushSourceDefinition(
                    name: "s", schema: [TypedField(name: "id", type: .int64), TypedField(name: "a", type: .float64), TypedField(name: "ts", type: .string)],
                    timestampField: "ts")
            ],
            featureViews: [FeatureViewDefinition(name: "v", entities: ["u"], source: "s", features: [TypedField(name: "a", type: .float64)], ttlSeconds: 3600)],
            featureServices: [FeatureServiceDefinition(name: "svc", featureViews: ["v"])])
        let (_, key) = APIKeyFormat.generate(tenant: "t")
        let access = AccessList(tenant: "t", defaultRateLimit: defaultRateLimit, clock: clock)
        access.update(
            ControlPlaneSnapshot(
                version: 1, principals: [PrincipalAccess(serviceAccount: "x", keyHashes: [APIKeyFormat.hash(key)], roles: ["ws": "consumer"])],
                repos: ["ws": repo]))
        let store = MemoryStore()
        _ = try store.write([
            OnlineRecord(
                workspace: "ws", featureView: "v", joinKeys: [("id", .int64(42))], features: [("a", .float64(2.5))],
                eventTimeMicros: Int64(now.timeIntervalSince1970 * 1e6), writeTimeMicros: 1)
        ])
        let metrics = RequestMetrics()
        self.key = key
        self.access = access
        self.repo = repo
        self.store = store
        features = FeatureServer(access: access, store: store, cache: nil, metrics: metrics)
        controller = DataPlaneController(
            features: features,
            ingest: IngestService(access: access, store: store, cache: nil, offlineLog: nil, metrics: metrics), metrics: metrics)
    }
}
