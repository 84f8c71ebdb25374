import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import VPTContract
import VPTOnlineStore

/// The data plane's HTTP API: the Tecton-compatible feature server, ingest, health and metrics.
/// Served by `DataPlaneHTTPServer`: `respond` routes one request and counts it by route and status.
public struct DataPlaneController: Sendable {
    let features: FeatureServer
    let ingest: IngestService
    let metrics: RequestMetrics
    /// Open connections against the limit, for `/metrics`.
    let connections: ConnectionLimit?
    /// SHA-256 of the internal token: operators' tools read key usage with it.
    let internalTokenSHA256: String

    let credentials: CredentialReloader?

    public init(
        features: FeatureServer, ingest: IngestService, metrics: RequestMetrics, connections: ConnectionLimit? = nil, internalTokenSHA256: String = "",
        credentials: CredentialReloader? = nil
    ) {
        self.features = features
        self.ingest = ingest
        self.metrics = metrics
        self.connections = connections
        self.internalTokenSHA256 = internalTokenSHA256
        self.credentials = credentials
    }

    /// The routes, by path, with the one method each accepts. The path is also the metrics label.
    static let routes: [String: HTTPMethod] = [
        "/healthz": .GET, "/readyz": .GET, "/metrics": .GET,
        "/internal/v1/credentials": .GET, "/internal/v1/credentials/reload": .POST, "/internal/v1/key-usage": .GET,
        "/api/v1/feature-service/get-features": .POST, "/api/v1/feature-service/get-features-batch": .POST,
        "/api/v1/feature-service/metadata": .POST, "/ingest": .POST,
    ]

    static let getFeaturesPath = "/api/v1/feature-service/get-features"

    /// Answers one request on `route`'s loop: a route's response, or the documented error body (404
    /// for an unknown path, 405 with `allow` for a known path and another method, 500 for an
    /// unexpected error). get-features, the serving hot path, runs on the loop without a task (a
    /// task costs its creation and a pass round the loop's queue for each async call it makes);
    /// every other route runs as a task there.
    public func respond(to request: DataPlaneRequest, route: RouteContext) -> EventLoopFuture<DataPlaneResponse> {
        let start = ContinuousClock.now
        let answer: EventLoopFuture<DataPlaneResponse>
        if Self.servedOnLoop(request) {
            answer = getFeatures(request, on: route.loop)
        } else {
            answer = route.run { [self] in
                do { return try await dispatch(request) } catch { return response(for: error, path: request.path) }
            }
        }
        return answer.flatMapErrorThrowing { [self] error in response(for: error, path: request.path) }.map { [self] response in
            record(response, for: request, since: start)
            return response
        }
    }

    /// `respond(to:route:)` from async code (tests, tools): every route runs in the caller's task,
    /// get-features on the current event loop (any loop's connection, off the loops).
    public func respond(to request: DataPlaneRequest) async -> DataPlaneResponse {
        let start = ContinuousClock.now
        var response: DataPlaneResponse
        do {
            if Self.servedOnLoop(request) {
                let loop = RouteContext.callersLoop
                response = try await getFeatures(request, on: loop).get()
            } else {
                response = try await dispatch(request)
            }
        } catch {
            response = self.response(for: error, path: request.path)
        }
        record(response, for: request, since: start)
        return response
    }

    /// get-features, the one route answered on the loop without a task (other methods get 405 from `dispatch`).
    static func servedOnLoop(_ request: DataPlaneRequest) -> Bool {
        request.method == .POST && request.path == getFeaturesPath
    }

    private func record(_ response: DataPlaneResponse, for request: DataPlaneRequest, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        metrics.record(route: Self.metricsLabel(request.path), status: Int(response.status.code), seconds: seconds)
    }

    /// The response for a route's error: its own status and body for an `APIError`, 503 for a store
    /// that is unavailable, 500 otherwise (the cause goes to the operator's log only).
    func response(for error: any Error, path: String) -> DataPlaneResponse {
        switch error {
        case let error as APIError:
            return .error(error)
        case let error as any OnlineStoreUnavailable:
            // Retryable for clients; the cause (endpoint, login refused) goes to the operator's log only.
            Logger(label: "vpt.data-plane").error("online store unavailable", metadata: ["route": "\(Self.metricsLabel(path))", "error": "\(error)"])
            return .error(APIError.unavailable("the online store is unavailable; retry later (the data plane's log says why)"))
        default:
            Logger(label: "vpt.data-plane").error("request failed", metadata: ["route": "\(Self.metricsLabel(path))", "error": "\(error)"])
            return .error(APIError(.internalServerError, "the request failed unexpectedly"))
        }
    }

    /// `POST /api/v1/feature-service/get-features`, on `loop`.
    private func getFeatures(_ request: DataPlaneRequest, on loop: any EventLoop) -> EventLoopFuture<DataPlaneResponse> {
        let body: [String: JSONValue]
        do { body = try request.jsonObject() } catch { return loop.makeFailedFuture(error) }
        return features.getFeaturesJSON(body: body, key: AuthorizationHeader.tectonKey(request.headers), on: loop).map { .json(bytes: $0) }
    }

    /// Counts a request the HTTP server answered itself (a body over the limit): it never reaches
    /// `respond`, and is counted under its route all the same.
    public func recordRefusal(path: String, status: Int, seconds: Double) {
        metrics.record(route: Self.metricsLabel(path), status: status, seconds: seconds)
    }

    /// A route's path, or `unmatched`: unknown paths do not each get a series of their own.
    static func metricsLabel(_ path: String) -> String { routes[path] == nil ? "unmatched" : path }

    private func dispatch(_ request: DataPlaneRequest) async throws -> DataPlaneResponse {
        guard let method = Self.routes[request.path] else { throw APIError.notFound("no route for \(request.path)") }
        guard request.method == method else {
            var response = DataPlaneResponse.error(APIError(.methodNotAllowed, "\(request.path) accepts \(method.rawValue) only"))
            response.headers.add(name: "allow", value: method.rawValue)
            return response
        }
        let key: @Sendable () -> String? = { AuthorizationHeader.tectonKey(request.headers) }
        switch request.path {
        case "/healthz":
            return .text("ok")
        case "/readyz":
            guard features.access.isLoaded else { throw APIError.unavailable("access rules are not loaded yet") }
            return .text("ready")
        case "/metrics":
            let text = metrics.prometheusText() + Self.refusalsText(features.access.rateLimitRefusals()) + (connections?.prometheusText() ?? "")
            return .text(text, contentType: "text/plain; version=0.0.4")
        case "/internal/v1/credentials":
            try requireInternal(request)
            guard let credentials else { throw APIError.notFound("credential reload is not configured") }
            return try .encodable(credentials.store.identity)
        case "/internal/v1/credentials/reload":
            try requireInternal(request)
            guard let credentials else { throw APIError.notFound("credential reload is not configured") }
            return try .encodable(try credentials.reload())
        case "/internal/v1/key-usage":
            try requireInternal(request)
            let formatter = ISO8601DateFormatter()
            return .json(["lastUsed": features.access.lastUsed().mapValues { formatter.string(from: $0) }])
        case "/api/v1/feature-service/get-features-batch":
            return .json(try await features.getFeaturesBatch(body: try request.jsonObject(), key: key()))
        case "/api/v1/feature-service/metadata":
            return .json(try features.metadata(body: try request.jsonObject(), key: key()))
        case "/ingest":
            // Off the event loop: a batch is parsed and checked, the offline log fsynced and the
            // store written, milliseconds of blocking work that would stall every request sharing
            // the loop.
            let ingest = self.ingest
            return try await NIOThreadPool.singleton.runIfActive {
                let body = try request.jsonObject()
                do {
                    return .json(try ingest.ingest(body: body, key: key()))
                } catch let rejected as IngestRejected {
                    let message = "\(rejected.invalidRecords.count) record(s) are invalid; nothing was written"
                    return .json(
                        ["error": message, "message": message, "code": "INVALID_ARGUMENT", "invalidRecords": rejected.invalidRecords.map(\.json)],
                        status: .badRequest)
                }
            }
        default:
            // get-features is answered on the loop (`respond`), never here.
            throw APIError.notFound("no route for \(request.path)")
        }
    }

    /// `vpt_rate_limited_requests_total` by service account, when any account has a limit. Service
    /// account names are DNS labels: nothing in them needs escaping in a label value.
    static func refusalsText(_ refusals: [String: Int]) -> String {
        guard !refusals.isEmpty else { return "" }
        var lines = [
            "# HELP vpt_rate_limited_requests_total Serving requests refused with 429 (over the service account's limit).",
            "# TYPE vpt_rate_limited_requests_total counter",
        ]
        for (account, count) in refusals.sorted(by: { $0.key < $1.key }) {
            lines.append("vpt_rate_limited_requests_total{service_account=\"\(account)\"} \(count)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func requireInternal(_ request: DataPlaneRequest) throws {
        guard !internalTokenSHA256.isEmpty, let token = AuthorizationHeader.bearer(request.headers), APIKeyFormat.hash(token) == internalTokenSHA256 else {
            throw APIError.unauthorized("the internal token is missing or wrong")
        }
    }
}
