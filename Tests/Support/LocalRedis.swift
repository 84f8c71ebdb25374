import Foundation

/// A real redis-server on a loopback port of its own, run by `infra/redis.sh`: unauthenticated
/// clients are refused, and each tenant logs in as the ACL user `issueUser` creates for it.
public struct LocalRedis: Sendable {
    public let port: Int
    public let directory: URL
    /// Speaks only TLS, with a certificate for `localhost` signed by `caFile`.
    public let tls: Bool
    /// Speaks only TLS and verifies its clients: each presents a certificate `caFile` signed
    /// (`issueUser` issues one per tenant).
    public let verifyClients: Bool
    static let script = repositoryRoot.appendingPathComponent("infra/redis.sh").path

    public static func start(_ label: String = #function, tls: Bool = false, verifyClients: Bool = false) throws -> LocalRedis {
        let redis = LocalRedis(
            port: TestPorts.redisPort(), directory: temporaryDirectory(label).appendingPathComponent("redis"), tls: tls || verifyClients,
            verifyClients: verifyClients)
        try redis.start()
        return redis
    }

    /// Starts it again on the same port and files (its data and users survive).
    public func start() throws {
        try runScript(["bash", Self.script, "start", String(port), directory.path] + (verifyClients ? ["mtls"] : tls ? ["tls"] : []))
    }

    /// The CA that signs a TLS server's certificate (the store's `caFile`).
    public var caFile: String { directory.appendingPathComponent("tls/ca.pem").path }

    /// `tenant`'s client certificate and key (0600) on a server that verifies its clients.
    public func clientCertificate(_ tenant: String) -> (certFile: String, keyFile: String) {
        (passwordFile(tenant) + ".client.pem", passwordFile(tenant) + ".client-key.pem")
    }

    public func stop() { try? runScript(["bash", Self.script, "stop", String(port)]) }

    /// The ACL user `tenant` (keys `vpt:TENANT:*` only): its endpoint URL and its password file (0600).
    public func issueUser(_ tenant: String) throws -> (url: String, passwordFile: String) {
        let file = passwordFile(tenant)
        try runScript(["bash", Self.script, "user", String(port), directory.path, tenant, file])
        return (tls ? "rediss://\(tenant)@localhost:\(port)/0" : "redis://\(tenant)@127.0.0.1:\(port)/0", file)
    }

    /// Where `issueUser` writes `tenant`'s password.
    public func passwordFile(_ tenant: String) -> String {
        directory.deletingLastPathComponent().appendingPathComponent("\(tenant).redis-password").path
    }

    /// The admin user's password, for tests that look at the server from outside a tenant.
    public func adminPassword() throws -> String {
        try String(contentsOf: directory.appendingPathComponent("admin.password"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// redis-cli as the admin user (the password through the environment, not the command line).
    public func admin(_ arguments: [String]) throws -> String {
        let environment = ["REDISCLI_AUTH": try adminPassword(), "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let tlsArguments =
            (tls ? ["--tls", "--cacert", caFile, "-h", "localhost"] : [])
            + (verifyClients
                ? ["--cert", directory.appendingPathComponent("tls/admin-client.pem").path, "--key", directory.appendingPathComponent("tls/admin-client-key.pem").path]
                : [])
        return try commandOutput(["redis-cli"] + tlsArguments + ["-p", String(port), "--user", "admin"] + arguments, environment: environment)
    }

    /// `spec` (the globex-us example, or a copy) pointed at this server as `tenant`'s ACL user
    /// (over TLS, trusting `caFile`, when the server speaks TLS; with the tenant's client
    /// certificate when it verifies its clients).
    public func point(_ spec: String, at tenant: String) throws -> String {
        let (url, passwordFile) = try issueUser(tenant)
        let password = "passwordFile: /etc/vpt/globex-us/redis.password"
        let client = clientCertificate(tenant)
        return spec.replacingOccurrences(of: "redis://globex-us@127.0.0.1:6379/0", with: url)
            .replacingOccurrences(
                of: password,
                with: "passwordFile: \(passwordFile)" + (tls ? "\n    caFile: \(caFile)" : "")
                    + (verifyClients ? "\n    clientCertFile: \(client.certFile)\n    clientKeyFile: \(client.keyFile)" : ""))
    }
}
