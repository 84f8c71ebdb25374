import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import HummingbirdTLS
import NIOSSL
import VPTRuntime

/// A no-op feature server for the serving benchmark: it decodes the get-features request as ours does
/// and returns a fixed 50-feature body, so the framework's own cost is measured in the same run.
/// `vpt-noop-server PORT [CERT KEY]`: with a certificate it serves HTTPS, as the tenant's feature
/// server does, so both pay for TLS. Like the tenant's data plane, it runs Swift concurrency on
/// NIO's event loops (the same configuration of the same framework).
@main
enum NoopEntry {
    static func main() {
        RuntimeLogHandler.bootstrap()  // the data plane's logging configuration, too
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            do {
                try await NoopServer.run()
            } catch {
                FileHandle.standardError.write(Data("vpt-noop-server: \(error)\n".utf8))
                exit(1)
            }
            exit(0)
        }
        dispatchMain()
    }
}

enum NoopServer {
    static func run() async throws {
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
            guard (try? JSONReader.parse(buffer.readableBytesView))?.objectValue != nil else {  // the data plane's reader
                return Response(status: .badRequest)
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: fixed)))
        }
        let arguments = Array(CommandLine.arguments.dropFirst())
        let configuration = ApplicationConfiguration(address: .hostname("127.0.0.1", port: port))
        if arguments.count >= 3 {
            let chain = try NIOSSLCertificate.fromPEMFile(arguments[1]).map { NIOSSLCertificateSource.certificate($0) }
            let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .file(arguments[2]))
            try await Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls), configuration: configuration).runService()
        } else {
            try await Application(router: router, configuration: configuration).runService()
        }
    }
}
