import Foundation
import Hummingbird

/// A no-op feature server for the serving benchmark: it decodes the get-features request as ours does
/// and returns a fixed 50-feature body, so the framework's own cost is measured in the same run.
@main
struct NoopServer {
    static func main() async throws {
        let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 8099
        let features = (0..<50).map { Double($0) + 0.5 }
        let body: [String: Any] = [
            "result": ["features": features],
            "metadata": ["features": (0..<50).map { ["name": "user_stats.f\($0)"] }],
        ]
        let fixed = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        let router = Router()
        router.post("/api/v1/feature-service/get-features") { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            guard (try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView))) is [String: Any] else {
                return Response(status: .badRequest)
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: fixed)))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
    }
}
