import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing
import VPTContract
import VPTOnlineStore
import VPTTestSupport
@testable import VPTRuntime

/// get-features answered on the connection's event loop without a task: every view's read goes out
/// at once, the answer keeps the service's order whatever order the store answers in, and no read
/// runs inside a task.
@Suite(.offCooperativePool) struct LoopServingTests {
    /// A store over `MemoryStore` that notes each read (its view, and whether it ran inside a task)
    /// and, while `holding`, keeps the answers until `release` says.
    final class HeldStore: OnlineStore, @unchecked Sendable {
        private let memory = MemoryStore()
        private struct State {
            var holding = false
            var held: [(view: String, answer: EventLoopFuture<[[UInt8]?]>, promise: EventLoopPromise<[[UInt8]?]>)] = []
            var reads: [(view: String, inTask: Bool)] = []
        }
        private let state = Mutex(State())

        var holding: Bool {
            get { state.withLock { $0.holding } }
            set { state.withLock { $0.holding = newValue } }
        }
        var heldViews: [String] { state.withLock { $0.held.map(\.view) } }
        var reads: [(view: String, inTask: Bool)] { state.withLock { $0.reads } }

        func write(_ records: [OnlineRecord]) throws -> Int { try memory.write(records) }
        func read(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) throws -> [StoredFeatures?] {
            try memory.read(workspace: workspace, featureView: featureView, entityKeys: entityKeys)
        }
        func readEncoded(workspace: String, featureView: String, entityKeys: [[FeatureValue]], on loop: any EventLoop) -> EventLoopFuture<[[UInt8]?]> {
            let inTask = withUnsafeCurrentTask { $0 != nil }
            let answer = memory.readEncoded(workspace: workspace, featureView: featureView, entityKeys: entityKeys, on: loop)
            return state.withLock { state in
                state.reads.append((featureView, inTask))
                guard state.holding else { return answer }
                let promise = loop.makePromise(of: [[UInt8]?].self)
                state.held.append((featureView, answer, promise))
                return promise.futureResult
            }
        }

        /// Answers the held reads, last first.
        func releaseInReverse() {
            let held = state.withLock { state in
                defer { state.held = [] }
                return state.held
            }
            for read in held.reversed() { read.promise.completeWith(read.answer) }
        }
    }

    /// Service `svc` over views `v1` (feature `a` = 1.5) and `v2` (feature `b` = 2.5), both keyed by
    /// entity `u`'s int64 `id`, with values for 42; a consumer key for workspace `ws`.
    struct TwoViews {
        let key: String
        let store = HeldStore()
        let features: FeatureServer
        let controller: DataPlaneController
        let now = Date()

        init() throws {
            let source = PushSourceDefinition(
                name: "s", schema: [TypedField(name: "id", type: .int64), TypedField(name: "a", type: .float64), TypedField(name: "b", type: .float64), TypedField(name: "ts", type: .string)],
                timestampField: "ts")
            let repo = FeatureRepo(
                entities: [EntityDefinition(name: "u", joinKeys: [TypedField(name: "id", type: .int64)])],
                pushSources: [source],
                featureViews: [
                    FeatureViewDefinition(name: "v1", entities: ["u"], source: "s", features: [TypedField(name: "a", type: .float64)], ttlSeconds: 3600),
                    FeatureViewDefinition(name: "v2", entities: ["u"], source: "s", features: [TypedField(name: "b", type: .float64)], ttlSeconds: 3600),
                ],
                featureServices: [FeatureServiceDefinition(name: "svc", featureViews: ["v1", "v2"])])
            let (_, key) = APIKeyFormat.generate(tenant: "t")
            let access = AccessList(tenant: "t", defaultRateLimit: nil)
            access.update(
                ControlPlaneSnapshot(
                    version: 1, principals: [PrincipalAccess(serviceAccount: "x", keyHashes: [APIKeyFormat.hash(key)], roles: ["ws": "consumer"])],
                    repos: ["ws": repo]))
            let event = Int64(now.timeIntervalSince1970 * 1e6)
            _ = try store.write([
                OnlineRecord(workspace: "ws", featureView: "v1", joinKeys: [("id", .int64(42))], features: [("a", .float64(1.5))], eventTimeMicros: event, writeTimeMicros: 1),
                OnlineRecord(workspace: "ws", featureView: "v2", joinKeys: [("id", .int64(42))], features: [("b", .float64(2.5))], eventTimeMicros: event, writeTimeMicros: 1),
            ])
            let metrics = RequestMetrics()
            self.key = key
            features = FeatureServer(access: access, store: store, cache: nil, metrics: metrics)
            controller = DataPlaneController(
                features: features, ingest: IngestService(access: access, store: store, cache: nil, offlineLog: nil, metrics: metrics), metrics: metrics)
        }
    }

    static let request = #"{"params": {"workspace_name": "ws", "feature_service_name": "svc", "join_key_map": {"id": "42"}}}"#

    static func features(_ json: [UInt8]) throws -> [Double]? {
        let document = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any]
        return (document?["result"] as? [String: Any])?["features"] as? [Double]
    }

    @Test func everyViewIsReadBeforeAnyAnswersAndTheAnswerKeepsServiceOrder() async throws {
        let fixture = try TwoViews()
        fixture.store.holding = true
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let body = try #require(try JSONReader.parse(Array(Self.request.utf8)).objectValue)
        let answer = try await loop.submit { fixture.features.getFeaturesJSON(body: body, key: fixture.key, now: fixture.now, on: loop) }.get()
        #expect(fixture.store.heldViews == ["v1", "v2"], "both views' reads are out before either is answered")
        fixture.store.releaseInReverse()
        #expect(try Self.features(try await answer.get()) == [1.5, 2.5], "v2 answered first, and the response is still in service order")
    }

    @Test func getFeaturesIsServedOnTheLoopWithoutATaskAndOtherRoutesStillRun() async throws {
        let fixture = try TwoViews()
        let controller = fixture.controller
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let server = DataPlaneHTTPServer(
            port: 0, serverName: "vpt-test", logger: Logger(label: "test"), onListening: { continuation.yield($0) },
            respondOnLoop: { controller.respond(to: $0, route: $1) })
        let running = Task { try await server.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        let connection = try RawConnection(port: port)

        let auth = "authorization: Tecton-key \(fixture.key)\r\n"
        let path = "/api/v1/feature-service/get-features"
        try connection.send("POST \(path) HTTP/1.1\r\nhost: x\r\n\(auth)content-length: \(Self.request.utf8.count)\r\n\r\n\(Self.request)")
        let served = try connection.readResponse()
        #expect(served.status == 200)
        #expect(try Self.features(Array(served.body.utf8)) == [1.5, 2.5], "\(served.body)")
        #expect(fixture.store.reads.map(\.view) == ["v1", "v2"])
        #expect(fixture.store.reads.allSatisfy { !$0.inTask }, "get-features reads the store from the loop, outside any task")

        // The routes that still run as tasks answer on the same connection, in turn.
        try connection.send("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        #expect(try connection.readResponse().body == "ok")
        try connection.send("GET \(path) HTTP/1.1\r\nhost: x\r\n\(auth)\r\n")
        let wrongMethod = try connection.readResponse()
        #expect(wrongMethod.status == 405 && wrongMethod.headers["allow"] == "POST")
        try connection.send("POST \(path) HTTP/1.1\r\nhost: x\r\ncontent-length: \(Self.request.utf8.count)\r\n\r\n\(Self.request)")
        #expect(try connection.readResponse().status == 401, "no key: refused on the loop path too")
        #expect(fixture.controller.metrics.prometheusText().contains(#"route="/api/v1/feature-service/get-features",status="200""#))

        running.cancel()
        try await running.value
    }
}
