import Foundation
import NIOSSL
import VPTContract

/// Where a tenant's Redis online store is and how to log in to it: `redis://[USER@]HOST:PORT[/DB]`
/// (or `rediss://` for TLS) from the store config, and the password from the config's
/// `passwordFile`. Every new connection sends `handshake` first (AUTH, then SELECT).
///
/// The password file must be readable by its owner only, as every secret of a tenant is; a password
/// inside the URL is refused, so it never reaches a config file, a state dump or a log line.
///
/// Over `rediss://` the server's certificate is verified against the config's `caFile` (or the
/// system's trust roots) and must name the endpoint's host; the host must therefore be a DNS name,
/// since a certificate for an IP address cannot be checked the same way.
struct RedisEndpoint: Sendable, CustomStringConvertible {
    let host: String
    let port: Int
    let database: String
    let user: String?
    /// The TLS client context, for `rediss://` endpoints; made once, shared by every connection.
    let tls: NIOSSLContext?
    /// Whether the TLS context carries the tenant's client certificate.
    let presentsClientCertificate: Bool
    private let password: String?

    init(config: StoreConfig) throws {
        guard let url = URLComponents(string: config.location), url.scheme == "redis" || url.scheme == "rediss",
            let host = url.host, !host.isEmpty, let port = url.port
        else {
            throw OnlineStoreError.accessDenied("the redis endpoint must be redis://[USER@]HOST:PORT[/DB] or rediss://[USER@]HOST:PORT[/DB]")
        }
        guard url.password == nil else {
            throw OnlineStoreError.accessDenied("the redis endpoint must not carry a password; name a passwordFile instead")
        }
        let database = url.path.split(separator: "/").first.map(String.init) ?? "0"
        guard Int(database) != nil else { throw OnlineStoreError.accessDenied("the redis database '\(database)' must be a number") }
        self.host = host
        self.port = port
        self.database = database
        user = url.user.flatMap { $0.isEmpty ? nil : $0 }
        if url.scheme == "rediss" {
            let client: ClientIdentity?
            do throws(RedisClientCertificateError) {
                client = try Self.clientIdentity(certFile: config.clientCertFile, keyFile: config.clientKeyFile)
            } catch {
                throw OnlineStoreError.accessDenied(error.message)
            }
            tls = try Self.tlsContext(host: host, caFile: config.caFile, client: client)
            presentsClientCertificate = client != nil
        } else {
            let named = [("caFile", config.caFile), ("clientCertFile", config.clientCertFile), ("clientKeyFile", config.clientKeyFile)]
                .compactMap { $0.1 == nil ? nil : $0.0 }
            guard named.isEmpty else {
                throw OnlineStoreError.accessDenied(
                    "the redis \(named.joined(separator: " and ")) \(named.count == 1 ? "is" : "are") only used with a rediss:// (TLS) endpoint; this one is redis://")
            }
            tls = nil
            presentsClientCertificate = false
        }
        password = try config.passwordFile.map(Self.readPassword)
    }

    /// The tenant's client certificate chain and key, for a server that verifies its clients.
    struct ClientIdentity {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    /// The client certificate and key the config names (both or neither). The key file must be
    /// readable by its owner only, as the password file must; neither file's contents reach a message.
    static func clientIdentity(certFile: String?, keyFile: String?) throws(RedisClientCertificateError) -> ClientIdentity? {
        typealias Problem = RedisClientCertificateError
        guard let certFile, let keyFile else {
            if certFile == nil, keyFile == nil { return nil }
            throw Problem(field: certFile == nil ? "clientCertFile" : "clientKeyFile", "the redis clientCertFile and clientKeyFile go together: name both or neither")
        }
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certFile) } catch {
            throw Problem(field: "clientCertFile", "the redis clientCertFile \(certFile) cannot be read as a PEM certificate (\(error))")
        }
        guard let leaf = chain.first else { throw Problem(field: "clientCertFile", "the redis clientCertFile \(certFile) holds no PEM certificate") }
        if let problem = ownerOnlyProblem(keyFile, what: "clientKeyFile") { throw Problem(field: "clientKeyFile", problem) }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyFile, format: .pem) } catch {
            throw Problem(field: "clientKeyFile", "the redis clientKeyFile \(keyFile) cannot be read as a PEM private key (\(error))")
        }
        // BoringSSL refuses a context whose key is not the leaf certificate's.
        var probe = TLSConfiguration.makeClientConfiguration()
        probe.certificateChain = [.certificate(leaf)]
        probe.privateKey = .privateKey(key)
        guard (try? NIOSSLContext(configuration: probe)) != nil else {
            throw Problem(field: "clientKeyFile", "the redis clientKeyFile \(keyFile) is not the key of the certificate in \(certFile)")
        }
        return ClientIdentity(chain: chain, key: key)
    }

    /// The client context for a TLS endpoint: TLS 1.2 or newer, the server's certificate verified
    /// against `caFile` (PEM) or the system's roots, its name checked against `host`, and the
    /// tenant's certificate presented when the server asks for one.
    static func tlsContext(host: String, caFile: String?, client: ClientIdentity? = nil) throws -> NIOSSLContext {
        guard !NameRules.isIPAddress(host) else {
            throw OnlineStoreError.accessDenied(
                "a rediss:// endpoint must name the server by the DNS name in its certificate, not by the IP address \(host)")
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let caFile { configuration.trustRoots = .certificates(try certificateAuthorities(caFile)) }
        if let client {
            configuration.certificateChain = client.chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(client.key)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw OnlineStoreError.accessDenied("the TLS settings for the redis endpoint cannot be used (\(error))")
        }
    }

    /// The certificates of a caFile; throws, naming the file, when it holds none or cannot be read.
    static func certificateAuthorities(_ caFile: String) throws -> [NIOSSLCertificate] {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(caFile)
        } catch {
            throw OnlineStoreError.accessDenied("the redis caFile \(caFile) cannot be read as PEM certificates (\(error))")
        }
        guard !certificates.isEmpty else { throw OnlineStoreError.accessDenied("the redis caFile \(caFile) holds no PEM certificate") }
        return certificates
    }

    /// The TLS handler a new connection starts with, when the endpoint uses TLS.
    func tlsHandler() throws -> NIOSSLClientHandler? {
        try tls.map { try NIOSSLClientHandler(context: $0, serverHostname: host) }
    }

    /// AUTH (when there is a password) and SELECT, in the order they go out on a new connection.
    var handshake: [[[UInt8]]] {
        var commands: [[[UInt8]]] = []
        if let password {
            commands.append([Array("AUTH".utf8)] + (user.map { [Array($0.utf8)] } ?? []) + [Array(password.utf8)])
        }
        commands.append([Array("SELECT".utf8), Array(database.utf8)])
        return commands
    }

    /// Names the endpoint and the user, never the password.
    var description: String { "\(tls == nil ? "redis" : "rediss")://\(user.map { "\($0)@" } ?? "")\(host):\(port)/\(database)" }

    /// A server's refusal of the handshake, turned into what the operator should change. Redis's own
    /// messages do not echo the password.
    static func handshakeFailure(_ message: String, endpoint: RedisEndpoint) -> OnlineStoreError {
        if message.hasPrefix("NOAUTH") {
            return .accessDenied("\(endpoint) requires a login; set customerAccount.onlineStore.passwordFile (\(message))")
        }
        if message.hasPrefix("WRONGPASS") {
            return .accessDenied("\(endpoint) refused the user and password in the store's passwordFile (\(message))")
        }
        return .accessDenied("\(endpoint) refused the connection setup: \(message)")
    }

    /// Why `path` cannot hold a secret, or nil when it is a regular file only its owner can read.
    static func ownerOnlyProblem(_ path: String, what: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            return "the redis \(what) \(path) is missing or not a regular file"
        }
        guard info.st_mode & 0o077 == 0 else {
            return "the redis \(what) \(path) must be readable by its owner only (mode 0600); it is \(String(info.st_mode & 0o777, radix: 8))"
        }
        return nil
    }

    static func readPassword(_ path: String) throws -> String {
        if let problem = ownerOnlyProblem(path, what: "password file") { throw OnlineStoreError.accessDenied(problem) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw OnlineStoreError.accessDenied("the redis password file \(path) cannot be read")
        }
        let password = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !password.isEmpty, !password.contains(where: \.isNewline) else {
            throw OnlineStoreError.accessDenied("the redis password file \(path) must hold the password on one line")
        }
        return password
    }
}

/// A Redis client certificate or key that cannot be used, with the store config field to fix
/// (`clientCertFile` or `clientKeyFile`).
public struct RedisClientCertificateError: Error, CustomStringConvertible {
    public let field: String
    public let message: String
    init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { message }
}
