import Foundation
import NIOSSL

/// A certificate and key pair on disk, re-read when the files change: new TLS connections get
/// the current pair (through NIOSSL's per-handshake context callback), connections already open
/// keep theirs, so reissuing certificates (`vpt keys rotate --certs`) drops nothing. The two files
/// carry a `# generation:` line; a pair whose generations differ (caught between the two renames
/// of a rotation) is not used, the previous pair stays.
public final class ReloadingCertificate: @unchecked Sendable {
    public let certificateFile: String
    public let keyFile: String
    private let lock = NSLock()
    private var cached: (stamp: String, chain: [NIOSSLCertificate], key: NIOSSLPrivateKey)?

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    private static func modified(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else { return "missing" }
        return "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec).\(info.st_ino)"
    }

    static func generation(_ text: String) -> Substring? {
        text.split(separator: "\n").first { $0.hasPrefix("# generation: ") }?.dropFirst("# generation: ".count)
    }

    /// The current pair; throws only if no usable pair was ever read.
    public func current() throws -> (chain: [NIOSSLCertificate], key: NIOSSLPrivateKey) {
        let stamp = Self.modified(certificateFile) + "|" + Self.modified(keyFile)
        if let cached = lock.withLock({ cached }), cached.stamp == stamp { return (cached.chain, cached.key) }
        do {
            let certificateText = try String(contentsOfFile: certificateFile, encoding: .utf8)
            let keyText = try String(contentsOfFile: keyFile, encoding: .utf8)
            guard Self.generation(certificateText) == Self.generation(keyText) else { throw NIOSSLError.failedToLoadCertificate }
            let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificateText.utf8))
            let key = try NIOSSLPrivateKey(bytes: Array(keyText.utf8), format: .pem)
            lock.withLock { cached = (stamp, chain, key) }
            return (chain, key)
        } catch {
            if let cached = lock.withLock({ cached }) { return (cached.chain, cached.key) }
            throw error
        }
    }

    /// A server configuration that presents the current pair on every handshake; with `clientCA`
    /// it also requires a client certificate issued by that CA (mutual TLS).
    public func serverConfiguration(clientCA: String? = nil) throws -> TLSConfiguration {
        let (chain, key) = try current()
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCA {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .file(clientCA)
        }
        configuration.sslContextCallback = { [self] _, promise in
            guard let (chain, key) = try? current() else { return promise.succeed(.noChanges) }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = chain.map { .certificate($0) }
            override.privateKey = .privateKey(key)
            promise.succeed(override)
        }
        return configuration
    }
}
