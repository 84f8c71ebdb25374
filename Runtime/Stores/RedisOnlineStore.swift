import Foundation
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
    private let host: String
    private let port: Int
    private let database: String
    static let maxConnections = 8
    /// The serving path's reads, on the data plane's event loops (see RedisLoopClients).
    private let loopClients: RedisLoopClients

    /// Compares the stored (event, write) pair with the new one; both are the first 16 bytes after the
    /// version byte of the value, big-endian signed 64-bit.
    static let upsertScript = """
        local current = redis.call('GET', KEYS[1])
        if current then
          local ce, cw = struct.unpack('>i8>i8', string.sub(current, 2, 17))
          local ne, nw = struct.unpack('>i8>i8', string.sub(ARGV[1], 2, 17))
          if ne < ce or (ne == ce and nw <= cw) then return 0 end
        end
        redis.call('SET', KEYS[1], ARGV[1])
        return 1
        """

    public init(config: StoreConfig, allowedRegions: [String], session: SessionCredential, sts: LocalSTS, write: Bool, now: Date = Date()) throws {
        try StoreAccess.check(
            config, kind: "redis", allowedRegions: allowedRegions, session: session, sts: sts, write: write, object: "redis", now: now)
        guard let url = URLComponents(string: config.location), url.scheme == "redis", let host = url.host, let port = url.port else {
            throw OnlineStoreError.accessDenied("the redis endpoint must be redis://HOST:PORT[/DB]")
        }
        let database = url.path.split(separator: "/").first.map(String.init) ?? "0"
        self.config = config
        self.host = host
        self.port = port
        self.database = database
        let first = try Self.connect(host, port, database)
        idle = [first]
        open = 1
        loopClients = RedisLoopClients(host: host, port: port, database: database)
    }

    private func connect() throws -> RedisConnection { try Self.connect(host, port, database) }

    private static func connect(_ host: String, _ port: Int, _ database: String) throws -> RedisConnection {
        let connection = try RedisConnection(host: host, port: port)
        _ = try connection.command([Array("SELECT".utf8), Array(database.utf8)])
        return connection
    }

    /// Runs `body` on a pooled connection; a connection that failed is dropped, not returned.
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
        }
    }

    func key(_ workspace: String, _ featureView: String, _ entity: [FeatureValue]) -> [UInt8] {
        Array("\(config.namespace)\(workspace):\(featureView):".utf8) + OnlineRecordCodec.entityKey(entity)
    }

    /// Upserts records in one pipelined round trip; returns how many replaced what was there.
    @discardableResult
    public func write(_ records: [OnlineRecord]) throws -> Int {
        let script = Array(Self.upsertScript.utf8)
        let commands = records.map { record -> [[UInt8]] in
            let value = OnlineRecordCodec.encodeValue(
                features: record.features, eventTimeMicros: record.eventTimeMicros, writeTimeMicros: record.writeTimeMicros)
            return [Array("EVAL".utf8), script, Array("1".utf8), key(record.workspace, record.featureView, record.joinKeys.map(\.value)), value]
        }
        let replies = try withConnection { try $0.pipeline(commands) }
        return try replies.reduce(0) { total, reply in
            switch reply {
            case .integer(let n): return total + Int(n)
            case .error(let message): throw RedisConnection.Failure.server(message)
            default: throw RedisConnection.Failure.protocolError("EVAL returned \(reply)")
            }
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

    /// `read` for the serving path, each value still encoded: the MGET goes out on the calling event
    /// loop's own connection, so the request's thread serves other requests while Redis answers and
    /// resumes this one itself.
    public func readEncoded(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) async throws -> [[UInt8]?] {
        guard !entityKeys.isEmpty else { return [] }
        let reply = try await loopClients.send([Array("MGET".utf8)] + entityKeys.map { key(workspace, featureView, $0) })
        return try Self.values(ofMGET: reply, count: entityKeys.count)
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

    /// Up to `limit` stored values of this tenant's namespace, for audits (SCAN, then one MGET).
    public func sample(limit: Int) throws -> [StoredFeatures] {
        let pattern = Array("\(config.namespace)*".utf8)
        var cursor = Array("0".utf8)
        var keys: [[UInt8]] = []
        repeat {
            let reply = try withConnection {
                try $0.command([Array("SCAN".utf8), cursor, Array("MATCH".utf8), pattern, Array("COUNT".utf8), Array("500".utf8)])
            }
            guard case .array(let parts?) = reply, parts.count == 2, case .bulk(let next?) = parts[0], case .array(let found?) = parts[1] else {
                throw RedisConnection.Failure.protocolError("SCAN returned \(reply)")
            }
            for item in found { if case .bulk(let key?) = item { keys.append(key) } }
            cursor = next
        } while cursor != Array("0".utf8) && keys.count < limit
        keys = Array(keys.prefix(limit))
        guard !keys.isEmpty else { return [] }
        guard case .array(let items?) = try withConnection({ try $0.command([Array("MGET".utf8)] + keys) }) else {
            throw RedisConnection.Failure.protocolError("MGET returned no array")
        }
        return try items.compactMap { item in
            guard case .bulk(let bytes?) = item else { return nil }
            return try StoredFeatures(encoded: bytes)
        }
    }
}
