import Foundation
import GRDB
import NIOCore
import VPTContract
import VPTLocalCloud

/// The SQLite online store: one file in the customer account's region directory, opened only with a
/// session credential from the cross-account role and only inside the allowed regions.
///
/// One row per (workspace, feature view, entity key); the value is `OnlineRecordCodec`'s encoding.
/// Writes keep the newest event time (ties: newest write time), so late events never overwrite.
public final class SQLiteOnlineStore: Sendable {
    /// File name inside the store's directory.
    public static let fileName = "online.sqlite"

    public let config: StoreConfig
    fileprivate let pool: DatabasePool
    /// The serving path's reads (see SQLitePointReader).
    private let reader: SQLitePointReader

    /// Opens (creating on first use) the store described by `config`. A read or write that finds the
    /// file locked waits up to `busyTimeout` seconds, then fails as `SQLiteStoreUnavailable`.
    /// - Throws: `OnlineStoreError.outsideResidency` before touching anything when the store's region
    ///   is not allowed; `.accessDenied` when the session may not use this store.
    public init(
        config: StoreConfig, allowedRegions: [String], session: SessionCredential, sts: LocalSTS, write: Bool, now: Date = Date(),
        busyTimeout: Double = 10
    ) throws {
        try StoreAccess.check(
            config, kind: "sqlite", allowedRegions: allowedRegions, session: session, sts: sts, write: write, object: Self.fileName, now: now)
        self.config = config
        let url = URL(fileURLWithPath: config.location)
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        guard write else {
            // Readers (audits, health checks) change nothing: no folder, no mode, no schema.
            configuration.readonly = true
            pool = try DatabasePool(path: url.path, configuration: configuration)
            reader = try SQLitePointReader(path: url.path, eager: false, busyTimeout: busyTimeout)
            return
        }
        try SecureFiles.makeDirectory(url.deletingLastPathComponent())
        pool = try DatabasePool(path: url.path, configuration: configuration)
        for suffix in ["", "-wal", "-shm"] { chmod(url.path + suffix, 0o600) }
        try pool.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS online_record (
                        workspace TEXT NOT NULL, feature_view TEXT NOT NULL, entity_key BLOB NOT NULL,
                        value BLOB NOT NULL, event_time INTEGER NOT NULL, write_time INTEGER NOT NULL,
                        PRIMARY KEY (workspace, feature_view, entity_key)) WITHOUT ROWID
                    """)
        }
        reader = try SQLitePointReader(path: url.path, eager: true, busyTimeout: busyTimeout)
    }

    /// Upserts records in one transaction; returns how many rows changed (older events change none).
    @discardableResult
    public func write(_ records: [OnlineRecord]) throws -> Int {
        do {
            return try upsert(records)
        } catch {
            throw SQLiteStoreUnavailable.classify(error)
        }
    }

    private func upsert(_ records: [OnlineRecord]) throws -> Int {
        try pool.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO online_record (workspace, feature_view, entity_key, value, event_time, write_time)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (workspace, feature_view, entity_key) DO UPDATE SET
                        value = excluded.value, event_time = excluded.event_time, write_time = excluded.write_time
                    WHERE (excluded.event_time, excluded.write_time) > (online_record.event_time, online_record.write_time)
                    """)
            var changed = 0
            for record in records {
                let key = OnlineRecordCodec.entityKey(record.joinKeys.map(\.value))
                let value = OnlineRecordCodec.encodeValue(
                    features: record.features, eventTimeMicros: record.eventTimeMicros, writeTimeMicros: record.writeTimeMicros)
                try statement.execute(arguments: [
                    record.workspace, record.featureView, Data(key), Data(value), record.eventTimeMicros, record.writeTimeMicros,
                ])
                changed += db.changesCount
            }
            return changed
        }
    }

    /// The stored values for each entity key (nil where there is none), in the order asked.
    public func read(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) throws -> [StoredFeatures?] {
        try readEncoded(workspace: workspace, featureView: featureView, entityKeys: entityKeys).map { try $0.map(StoredFeatures.init(encoded:)) }
    }

    /// `read` with each value still encoded, for the serving path to decode onto its features. A
    /// caller on `loop`, one of the data plane's event loops, reads on that loop's own connection
    /// inside the read transaction of the loop's current pass (`SQLitePointReader.LoopPass`);
    /// any other caller reads on a pooled connection, each SELECT atomic on its own.
    public func readEncoded(workspace: String, featureView: String, entityKeys: [[FeatureValue]], inPassOf loop: (any EventLoop)? = nil) throws -> [[UInt8]?] {
        let read = { (slot: SQLitePointReader.Slot) in
            try entityKeys.map { key in try slot.read(workspace, featureView, OnlineRecordCodec.entityKey(key)) }
        }
        do {
            if let loop, loop.inEventLoop { return try reader.withLoopPass(loop, read) }
            return try reader.withSlot(read)
        } catch {
            throw SQLiteStoreUnavailable.classify(error)
        }
    }
}

extension SQLiteOnlineStore {
    /// Up to `limit` stored values, for audits (the health report's scan of the control plane).
    public func sample(limit: Int) throws -> [StoredFeatures] {
        try pool.read { db in
            try Data.fetchAll(db, sql: "SELECT value FROM online_record LIMIT ?", arguments: [limit]).map { data in
                try StoredFeatures(encoded: Array(data))
            }
        }
    }
}

/// Feature values as read back from a store.
public struct StoredFeatures: Sendable {
    public var features: [(name: String, value: FeatureValue)]
    public var eventTimeMicros: Int64
    public var writeTimeMicros: Int64

    public init(features: [(name: String, value: FeatureValue)], eventTimeMicros: Int64, writeTimeMicros: Int64) {
        self.features = features
        self.eventTimeMicros = eventTimeMicros
        self.writeTimeMicros = writeTimeMicros
    }
    /// A value as `OnlineRecordCodec.encodeValue` stored it.
    public init(encoded bytes: [UInt8]) throws {
        let decoded = try OnlineRecordCodec.decodeValue(bytes)
        self.init(features: decoded.features, eventTimeMicros: decoded.eventTimeMicros, writeTimeMicros: decoded.writeTimeMicros)
    }
}
