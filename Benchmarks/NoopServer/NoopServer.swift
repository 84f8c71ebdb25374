import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import VPTContract
import VPTRuntime

/// A no-op feature server for the serving benchmark: it decodes the get-features request as ours does
/// and returns a fixed 50-feature body, so the HTTP layer's own cost is measured in the same run.
/// `vpt-noop-server PORT [CERT KEY] [--hummingbird] [--event-loops N]`: with a certificate it serves
/// HTTPS, as the tenant's feature server does, so both pay for TLS. By default it runs on the data
/// plane's own server (`DataPlaneHTTPServer`), the framework the feature server uses; `--hummingbird`
/// serves the same handler with Hummingbird (the control plane's framework), to show what that layer
/// costs. On the data plane's server the handler answers on the connection's loop without a task, as
/// get-features does. Like the tenant's data plane, it runs Swift concurrency on NIO's event loops: as many as a
/// data plane has by default (one per core but one), or N, as a tenant's `dataPlane.eventLoops` sets them.
@main
enum NoopEntry {
    static func main() {
        RuntimeLogHandler.bootstrap()  // the data plane's logging configuration, too
        let (loops, arguments) = NoopServer.eventLoops(in: Array(CommandLine.arguments.dropFirst()))
        // Before anything touches NIO's shared group; by default as many loops as a tenant's data plane.
        NIOSingletons.groupLoopCountSuggestion = loops ?? DataPlaneConfig.defaultEventLoops(cores: System.coreCount)
        NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            do {
                try await NoopServer.run(arguments)
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
    /// `--event-loops N` taken out of `arguments`: N (if given and positive) and the rest.
    static func eventLoops(in arguments: [String]) -> (Int?, [String]) {
        guard let flag = arguments.firstIndex(of: "--event-loops") else { return (nil, arguments) }
        var rest = arguments
        rest.removeSubrange(flag..<min(flag + 2, arguments.count))
        let loops = flag + 1 < arguments.count ? Int(arguments[flag + 1]).flatMap { $0 > 0 ? $0 : nil } : nil
        return (loops, rest)
    }

    static func run(_ all: [String]) async throws {
        let hummingbird = all.contains("--hummingbird")
        let arguments = all.filter { $0 != "--hummingbird" }
        let port = Int(arguments.first ?? "") ?? 8099
        let features = (0..<50).map { Double($0) + 0.5 }
        let body: [String: Any] = [
            "result": ["features": features],
            "metadata": ["features": (0..<50).map { ["name": "user_stats.f\($0)"] }],
        ]
        let fixed = [UInt8](try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        let path = "/api/v1/feature-service/get-features"
        let tls = try arguments.count >= 3 ? tlsConfiguration(certificate: arguments[1], key: arguments[2]) : nil
        guard hummingbird else {
            // Answered on the loop, as the feature server answers get-features.
            let server = DataPlaneHTTPServer(port: port, tls: tls, serverName: "vpt-noop", logger: Logger(label: "vpt.noop")) { request, route in
                guard request.path == path, request.method == .POST else { return route.loop.makeSucceededFuture(DataPlaneResponse(status: .notFound)) }
                guard (try? request.jsonObject()) != nil else { return route.loop.makeSucceededFuture(DataPlaneResponse(status: .badRequest)) }  // the data plane's reader
                return route.loop.makeSucceededFuture(.json(bytes: fixed))
            }
            return try await server.run()
        }
        let router = Router()
        router.post(RouterPath(path)) { request, _ -> Response in
            var request = request
            let buffer = try await request.collectBody(upTo: 1 << 20)
            guard (try? JSONReader.parse(buffer.readableBytesView))?.objectValue != nil else {
                return Response(status: .badRequest)
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: fixed)))
        }
        let configuration = ApplicationConfiguration(address: .hostname("127.0.0.1", port: port))
        if let tls {
            try await Application(router: router, server: try .tls(.http1(), tlsConfiguration: tls), configuration: configuration).runService()
        } else {
            try await Application(router: router, configuration: configuration).runService()
        }
    }

    static func tlsConfiguration(certificate: String, key: String) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .file(key))
    }
}
