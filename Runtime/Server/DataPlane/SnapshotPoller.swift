import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import VPTContract

/// Fetches the control plane snapshot every `interval` (so a revoked key stops working within about
/// two intervals) and installs it in the access list. With TLS it calls the control plane's
/// mutual-TLS port with the data plane's client certificate, trusting only the tenant CA; a
/// reissued client certificate is picked up on the next poll.
public final class SnapshotPoller: Service, @unchecked Sendable {
    public struct ClientTLS: Sendable {
        public var caFile: String
        public var certificate: ReloadingCertificate
        public init(caFile: String, certificate: ReloadingCertificate) {
            self.caFile = caFile
            self.certificate = certificate
        }
    }

    public let url: URL
    public let token: String
    public let access: AccessList
    public let interval: Duration
    let tls: ClientTLS?
    private let lock = NSLock()
    private var client: (HTTPClient, fingerprint: String)?

    public init(controlPlane: URL, token: String, access: AccessList, interval: Duration = .milliseconds(500), tls: ClientTLS? = nil) {
        url = controlPlane.appendingPathComponent("internal/v1/snapshot")
        self.token = token
        self.access = access
        self.interval = interval
        self.tls = tls
    }

    /// The HTTP client for the current client certificate (a new one after a reissue).
    private func currentClient() throws -> HTTPClient {
        var fingerprint = "plain"
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(2), read: .seconds(2)))
        if let tls {
            let (chain, key) = try tls.certificate.current()
            fingerprint = chain.map { $0.description }.joined() + "\(ObjectIdentifier(key as AnyObject))"
            var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
            tlsConfiguration.trustRoots = .file(tls.caFile)
            tlsConfiguration.certificateChain = chain.map { .certificate($0) }
            tlsConfiguration.privateKey = .privateKey(key)
            tlsConfiguration.minimumTLSVersion = .tlsv12
            configuration.tlsConfiguration = tlsConfiguration
        }
        return lock.withLock {
            if let client, client.fingerprint == fingerprint { return client.0 }
            let fresh = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            if let old = client?.0 { old.shutdown { _ in } }
            client = (fresh, fingerprint)
            return fresh
        }
    }

    /// One fetch; true when the access list is current (a new snapshot installed, or none newer).
    @discardableResult
    public func refresh() async -> Bool {
        guard var components = URLComponents(url: url, resolvingAgainstBaseURL: false) else { return false }
        components.queryItems = [URLQueryItem(name: "since", value: String(access.version))]
        guard let target = components.url?.absoluteString, let client = try? currentClient() else { return false }
        var request = HTTPClientRequest(url: target)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        guard let response = try? await client.execute(request, timeout: .seconds(2)),
            let body = try? await response.body.collect(upTo: 64 * 1024 * 1024)
        else { return false }
        let data = Data(buffer: body)
        switch response.status.code {
        case 204:
            // Unchanged; after a suspension the next snapshot arrives as 200 (the version was reset).
            return true
        case 200:
            guard let snapshot = try? JSONDecoder().decode(ControlPlaneSnapshot.self, from: data) else { return false }
            access.update(snapshot)
            return true
        case 503:
            let message = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["message"] as? String
            access.suspend(message ?? "the control plane cannot read the tenant's metadata")
            return false
        default: return false
        }
    }

    public func run() async throws {
        // Shutdown cancels the sleep; that is the normal end, not an error.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.refresh()
                try? await Task.sleep(for: self.interval)
            }
        }
        let last = lock.withLock { client?.0 }
        try? await last?.shutdown()
    }
}
