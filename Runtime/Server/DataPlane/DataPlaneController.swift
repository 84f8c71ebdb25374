import Foundation
import Hummingbird
import VPTContract

/// The data plane's HTTP API: the Tecton-compatible feature server, ingest, health and metrics.
public struct DataPlaneController: Sendable {
    let features: FeatureServer
    let ingest: IngestService
    let metrics: RequestMetrics
    /// SHA-256 of the internal token: operators' tools read key usage with it.
    let internalTokenSHA256: String

    let credentials: CredentialReloader?

    public init(
        features: FeatureServer, ingest: IngestService, metrics: RequestMetrics, internalTokenSHA256: String = "",
        credentials: CredentialReloader? = nil
    ) {
        self.features = features
        self.ingest = ingest
        self.metrics = metrics
        self.internalTokenSHA256 = internalTokenSHA256
        self.credentials = credentials
    }

    func requireInternal(_ request: Request) throws {
        guard !internalTokenSHA256.isEmpty, let token = AuthorizationHeader.bearer(request), APIKeyFormat.hash(token) == internalTokenSHA256 else {
            throw APIError.unauthorized("the internal token is missing or wrong")
        }
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.get("/healthz") { _, _ in "ok" }
        router.get("/readyz") { _, _ -> Response in
            guard features.access.isLoaded else { throw APIError.unavailable("access rules are not loaded yet") }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ready")))
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.prometheusText())))
        }
        router.get("/internal/v1/credentials") { request, _ -> Response in
            try requireInternal(request)
            guard let credentials else { throw APIError.notFound("credential reload is not configured") }
            return try JSONBody.encodable(credentials.store.identity)
        }
        router.post("/internal/v1/credentials/reload") { request, _ -> Response in
            try requireInternal(request)
            guard let credentials else { throw APIError.notFound("credential reload is not configured") }
            return try JSONBody.encodable(try credentials.reload())
        }
        router.get("/internal/v1/key-usage") { request, _ -> Response in
            try requireInternal(request)
            let formatter = ISO8601DateFormatter()
            return JSONBody.response(["lastUsed": features.access.lastUsed().mapValues { formatter.string(from: $0) }])
        }
        router.post("/api/v1/feature-service/get-features") { request, _ -> Response in
            let body = try await JSONBody.object(request)
            let bytes = try await features.getFeaturesJSON(body: body, key: AuthorizationHeader.tectonKey(request))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.post("/api/v1/feature-service/get-features-batch") { request, _ -> Response in
            let body = try await JSONBody.object(request)
            return JSONBody.response(try await features.getFeaturesBatch(body: body, key: AuthorizationHeader.tectonKey(request)))
        }
        router.post("/api/v1/feature-service/metadata") { request, _ -> Response in
            let body = try await JSONBody.object(request)
            return JSONBody.response(try features.metadata(body: body, key: AuthorizationHeader.tectonKey(request)))
        }
        router.post("/ingest") { request, _ -> Response in
            let body = try await JSONBody.object(request)
            do {
                return JSONBody.response(try ingest.ingest(body: body, key: AuthorizationHeader.tectonKey(request)))
            } catch let rejected as IngestRejected {
                let message = "\(rejected.invalidRecords.count) record(s) are invalid; nothing was written"
                return JSONBody.response(
                    ["error": message, "message": message, "code": "INVALID_ARGUMENT", "invalidRecords": rejected.invalidRecords.map(\.json)], status: .badRequest)
            }
        }
    }
}
