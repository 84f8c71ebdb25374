import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import VPTContract

/// Where a tenant's planes answer and which CA vouches for them: `https` with the tenant CA once
/// the tenant has TLS, `http` for configs written before.
public struct TenantEndpoints: Sendable {
    public let controlPlane: URL
    public let dataPlane: URL
    /// The tenant CA (PEM) that clients trust; nil without TLS.
    public let caFile: String?

    public init(config: RuntimeConfig) {
        let scheme = config.tls == nil ? "http" : "https"
        controlPlane = URL(string: "\(scheme)://127.0.0.1:\(config.controlPlane.port)")!
        dataPlane = URL(string: "\(scheme)://127.0.0.1:\(config.dataPlane.port)")!
        caFile = config.tls?.caFile
    }

    /// The endpoints of a provisioned tenant, from its runtime config.
    public init(paths: FleetPaths, tenant: String) throws {
        self.init(config: try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: paths.runtimeConfig(tenant))))
    }
}

/// HTTPS calls for the provisioner, trusting one tenant CA. One client per CA file, kept for the
/// life of the process; each call has a deadline, so a frozen peer costs at most `timeout`.
enum TLSHTTP {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var clients: [String: HTTPClient] = [:]

    static func client(caFile: String?) -> HTTPClient {
        // Keyed by the CA file's identity too: a tenant provisioned again gets a new CA at the same path.
        var info = stat()
        let stamp = caFile.map { stat($0, &info) == 0 ? "\(info.st_ino).\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)" : "missing" } ?? ""
        return lock.withLock {
            let key = (caFile ?? "") + "|" + stamp
            if let client = clients[key] { return client }
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile { tls.trustRoots = .file(caFile) }
            tls.minimumTLSVersion = .tlsv12
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
            clients[key] = client
            return client
        }
    }

    static func send(_ method: String, url: URL, headers: [String: String], body: Data?, timeout: TimeInterval, caFile: String?) throws -> (status: Int, body: Data) {
        var request = try HTTPClient.Request(url: url.absoluteString, method: HTTPMethod(rawValue: method))
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(body)
        }
        let response = try client(caFile: caFile).execute(request: request, deadline: .now() + .milliseconds(Int64(timeout * 1000))).wait()
        return (Int(response.status.code), response.body.map { Data($0.readableBytesView) } ?? Data())
    }
}
