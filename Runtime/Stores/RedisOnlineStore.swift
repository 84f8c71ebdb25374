import Foundation
import NIOCore
import VPTContract
import VPTLocalCloud

/// The Redis online store: one key per (workspace, feature view, entity key) under the tenant's
/// namespace, holding `OnlineRecordCodec`'s value encoding. Key layout (binary-safe):
/// `NAMESPACE WORKSPACE ":" FEATURE_VIEW ":" ENTITY_KEY_BYTES`, NAMESPACE being `vpt:TENANT:`.
///
/// Opened like the SQLite store: only inside the allowed regions and with a session from the
/// tenant's cross-account role. Writes run a Lua script so that "newest event wins, ties to the newest
/// write" is decided atomically inside Redis.
public final class RedisOnlineStore: @unchecked Sendable {
    public let config: StoreConfig
    /// Idle connections; a request takes one for its round trip, so requests do not queue behind a
    /// single connection. Grows on demand up to `maxConnections`.
    private var idle: [RedisConnection] = []
    private var open = 0
    private let available = NSCondition()
    private let endpoint: RedisEndpoint
    static let maxConnections = 8
    /// The serving path's reads, on the data plane's event loops (see RedisLoopClients).
    private let loopClients: RedisLoopClients

    /// Compares the stored (event, write) pair with the new one; both are the first 16 bytes after the
    /// version byte of the value, big-endian signed 64-bit. Answers 0 (older, kept what was there),
    /// 1 (replaced) or 2 (created). It writes one key only: a script's writes to two keys reach the
    /// append-only file as MULTI/EXEC, which Redis 7.0 refuses to replay when the default user is off.
    static let upsertScript = """
        local current = redis.call('GET', KEYS[1])
        if current then
          local ce, cw = struct.unpack('>i8>i8', string.sub(current, 2, 17))
          local ne, nw = struct.unpack('>i8>i8', string.sub(ARGV[1], 2, 17))
          if ne < ce or (ne == ce and nw <= cw) then return 0 end
        end
        redis.call('SET', KEYS[1], ARGV[1])
        if current then return 1 end
        return 2
        """

    /// Keys written for the first time join the sample set while it holds fewer than this many: the
    /// tenant's ACL user may not SCAN (that would list other tenants' key names on a shared server),
    /// so audits sample from the set. Concurrent writers may take it a little past the cap.
    static let sampleCap = 1000

    /// The sample set's key; `#` cannot start a workspace name, so it never meets a record's key.
    var sampleKey: [UInt8] { Array("\(config.namespace)#sample".utf8) }

    public init(config: StoreConfig, allowedRegions: [String], session: SessionCredential, sts: LocalSTS, write: Bool, now: Date = Date()) throws {
        try StoreAccess.check(
            config, kind: "redis", allowedRegions: allowedRegions, session: session, sts: sts, write: write, object: "redis", now: now)
        let endpoint = try RedisEndpoint(config: config)
        self.config = config
        self.endpoint = endpoint
        let first = try RedisConnection(endpoint: endpoint)
        idle = [first]
        open = 1
        loopClients = RedisLoopClients(endpoint: endpoint)
    }

    /// A new connection, logged in and on the endpoint's database.
    private func connect() throws -> RedisConnection { try RedisConnection(endpoint: endpoint) }

    /// Throws, naming the rule, when `path` cannot serve as a Redis password file (missing, readable
    /// by others, empty). The password itself is read and dropped.
    public static func checkPasswordFile(_ path: String) throws { _ = try RedisEndpoint.readPassword(path) }

    /// Throws, naming the rule, when `path` cannot serve as a `rediss://` endpoint's caFile (missing,
    /// unreadable, or without a PEM certificate).
    public static func checkCAFile(_ path: String) throws { _ = try RedisEndpoint.certificateAuthorities(path) }

    /// Throws, naming the rule, when the pair cannot serve as the tenant's client certificate (one
    /// without the other, unreadable, not PEM, a key file others can read, or a key that does not
    /// match the certificate).
    public static func checkClientCertificate(certFile: String?, keyFile: String?) throws(RedisClientCertificateError) {
        _ = try RedisEndpoint.clientIdentity(certFile: certFile, keyFile: keyFile)
    }

    /// Runs `body` on a pooled connection; a connection that failed is dropped, not returned.
    ///
    /// An idle connection that the server closed meanwhile (a restart, its idle timeout, `CLIENT
    /// KILL` after a password rotation) fails on first use; then `body` runs once more on a new
    /// connection. That is safe for everything sent here: reads, `SADD`, and upserts, where the
    /// newest-event rule turns a repeat of an upsert that did land into a no-op.
    private func withConnection<T>(_ body: (RedisConnection) throws -> T) throws -> T {
        available.lock()
        while idle.isEmpty && open >= Self.maxConnections { available.wait() }
        let pooled = idle.popLast()
        if pooled == nil { open += 1 }
        available.unlock()
        var connection: RedisConnection?
        defer {
            // Back to the pool if it worked; a failed (or never opened) connection frees its slot.
            available.lock()
            if let connection { idle.append(connection) } else { open -= 1 }
            available.signal()
            available.unlock()
        }
        let current = try pooled ?? connect()
        do {
            let result = try body(current)
            connection = current
            return result
        } catch RedisConnection.Failure.io where pooled != nil {
            let fresh = try connect()
            let result = try body(fresh)
            connection = fresh
            return result
        }
    }

    func key(_ workspace: String, _ featureView: String, _ entity: [FeatureValue]) -> [UInt8] {
        Array("\(config.namespace)\(workspace):\(featureView):".utf8) + OnlineRecordCodec.entityKey(entity)
    }

    /// Upserts records in one pipelined round trip (and adds the keys it created to the sample set in
    /// a second one while the set is below its cap); returns how many records were stored.
    @discardableResult
    public func write(_ records: [OnlineRecord]) throws -> Int {
        guard !records.isEmpty else { return 0 }
        let script = Array(Self.upsertScript.utf8)
        let keys = records.map { key($0.workspace, $0.featureView, $0.joinKeys.map(\.value)) }
        let commands = [[Array("SCARD".utf8), sampleKey]] + zip(records, keys).map { record, key -> [[UInt8]] in
            let value = OnlineRecordCodec.encodeValue(
                features: record.features, eventTimeMicros: record.eventTimeMicros, writeTimeMicros: record.writeTimeMicros)
            return [Array("EVAL".utf8), script, Array("1".utf8), key, value]
        }
        return try withConnection { connection in
            let replies = try connection.pipeline(commands)
            var sampled = 0
            var stored = 0
            var created: [[UInt8]] = []
            for (index, reply) in replies.enumerated() {
                switch reply {
                case .integer(let n) where index == 0: sampled = Int(n)
                case .integer(let n):
                    if n > 0 { stored += 1 }
                    if n == 2 { created.append(keys[index - 1]) }
                case .error(let message): throw RedisConnection.Failure.server(message)
                default: throw RedisConnection.Failure.protocolError("EVAL returned \(reply)")
                }
            }
            let joining = created.prefix(max(0, Self.sampleCap - sampled))
            if !joining.isEmpty { _ = try connection.command([Array("SADD".utf8), sampleKey] + joining) }
            return stored
        }
    }

    /// The stored values for each entity key (nil where there is none), in the order asked, in one MGET.
    public func read(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) throws -> [StoredFeatures?] {
        guard !entityKeys.isEmpty else { return [] }
        let reply = try withConnection {
            try $0.command([Array("MGET".utf8)] + entityKeys.map { key(workspace, featureView, $0) })
        }
        return try Self.values(ofMGET: reply, count: entityKeys.count).map { try $0.map(StoredFeatures.init(encoded:)) }
    }

    /// `read` for the serving path, each value still encoded: the MGET goes out on `loop`'s own
    /// connection, so the request's thread serves other requests while Redis answers, and the reply
    /// completes the future on that thread.
    public func readEncoded(workspace: String, featureView: String, entityKeys: [[FeatureValue]], on loop: any EventLoop) -> EventLoopFuture<[[UInt8]?]> {
        guard !entityKeys.isEmpty else { return loop.makeSucceededFuture([]) }
        let count = entityKeys.count
        return loopClients.send([Array("MGET".utf8)] + entityKeys.map { key(workspace, featureView, $0) }, on: loop)
            .flatMapThrowing { try Self.values(ofMGET: $0, count: count) }
    }

    /// `readEncoded` from async code: on the current event loop's connection (any loop's, off the loops).
    public func readEncoded(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) async throws -> [[UInt8]?] {
        try await readEncoded(workspace: workspace, featureView: featureView, entityKeys: entityKeys, on: loopClients.currentLoop).get()
    }

    static func values(ofMGET reply: RESPValue, count: Int) throws -> [[UInt8]?] {
        if case .error(let message) = reply { throw RedisConnection.Failure.server(message) }
        guard case .array(let items?) = reply, items.count == count else {
            throw RedisConnection.Failure.protocolError("MGET returned \(reply)")
        }
        return items.map { item in
            guard case .bulk(let bytes?) = item else { return nil }
            return bytes
        }
    }

    /// When the server's TLS certificate stops being valid (nil for a `redis://` endpoint), for
    /// audits to warn before the store becomes unreachable.
    public func serverCertificateExpiry() throws -> Date? {
        try withConnection { try $0.serverCertificateExpiry() }
    }

    /// Up to `limit` stored values of this tenant's namespace, for audits: random members of its
    /// sample set (about the first `sampleCap` keys it created), then one MGET.
    public func sample(limit: Int) throws -> [StoredFeatures] {
        let reply = try withConnection { try $0.command([Array("SRANDMEMBER".utf8), sampleKey, Array(String(max(0, limit)).utf8)]) }
        guard case .array(let members?) = reply else { throw RedisConnection.Failure.protocolError("SRANDMEMBER returned \(reply)") }
        let keys = members.compactMap { member -> [UInt8]? in if case .bulk(let key?) = member { return key } else { return nil } }
        guard !keys.isEmpty else { return [] }
        return try Self.values(ofMGET: try withConnection { try $0.command([Array("MGET".utf8)] + keys) }, count: keys.count)
            .compactMap { try $0.map(StoredFeatures.init(encoded:)) }
    }
}
