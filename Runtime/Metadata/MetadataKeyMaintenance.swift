import Crypto
import Foundation
import GRDB
import VPTContract
import VPTLocalCloud

/// One data key of a metadata database, as `vpt keys status` lists it (never its material).
public struct DataKeyInfo: Codable, Sendable, Equatable {
    public var id: String
    /// The CMK version that wraps it (from the envelope header).
    public var cmkVersion: UInt32
    public var active: Bool
    public var createdAt: Date
    /// Metadata records sealed with it.
    public var records: Int
}

/// Key maintenance on a tenant's metadata database, run by `vpt keys rotate` beside a running
/// control plane (SQLite WAL: both may write). Every step is its own transaction and can be
/// repeated, so a process killed at any point leaves every record decryptable and a re-run
/// finishes the work.
public struct MetadataKeyMaintenance: Sendable {
    public let database: URL
    public let tenant: String
    public let cmk: KMSKeyRef
    public let kms: LocalKMS
    public let caller: String

    public init(database: URL, tenant: String, cmk: KMSKeyRef, kms: LocalKMS, caller: String) {
        self.database = database
        self.tenant = tenant
        self.cmk = cmk
        self.kms = kms
        self.caller = caller
    }

    private func open() throws -> DatabaseQueue {
        guard FileManager.default.fileExists(atPath: database.path) else { throw MetadataStoreError.keyUnavailable("no metadata database at \(database.path)") }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: database.path, configuration: configuration)
    }

    public func dataKeys() throws -> [DataKeyInfo] {
        try open().read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT k.id, k.wrapped, k.active, k.createdAt, (SELECT COUNT(*) FROM metadata_record r WHERE r.dataKeyId = k.id) AS records
                    FROM data_key k ORDER BY k.createdAt
                    """
            ).map { row in
                let wrapped: Data = row["wrapped"]
                return DataKeyInfo(
                    id: row["id"], cmkVersion: EnvelopeCiphertext(bytes: Array(wrapped))?.keyVersion ?? 0, active: row["active"],
                    createdAt: row["createdAt"], records: row["records"])
            }
        }
    }

    /// Records in the database (for reports and benchmarks).
    public func recordCount() throws -> Int {
        try open().read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM metadata_record") ?? 0 }
    }

    /// Re-wraps every data key not yet under the CMK's primary version: unwrap with its old
    /// version, wrap with the primary, one update per key. Returns how many it re-wrapped.
    @discardableResult
    public func rewrap(primary: UInt32) throws -> Int {
        let db = try open()
        let rows = try db.read { db in try Row.fetchAll(db, sql: "SELECT id, wrapped FROM data_key") }
        var count = 0
        for row in rows {
            let id: String = row["id"]
            let wrapped: Data = row["wrapped"]
            guard EnvelopeCiphertext(bytes: Array(wrapped))?.keyVersion != primary else { continue }
            let context = DataKeyRing.context(tenant: tenant, id: id)
            let plain = try kms.decrypt(cmk, Array(wrapped), context: context, caller: caller)
            let rewrapped = try kms.encrypt(cmk, plain, context: context, caller: caller)
            try db.write { db in
                try db.execute(sql: "UPDATE data_key SET wrapped = ? WHERE id = ?", arguments: [Data(rewrapped), id])
            }
            count += 1
            FaultInjection.hit("cmk-rotate.after-rewrap")
        }
        return count
    }

    /// Seals every record again under a new data key (wrapped by the primary CMK version) and
    /// deletes data keys nothing refers to any more. A re-run after a crash continues with the
    /// records still under older keys. Returns records and plaintext bytes re-encrypted.
    public func reencrypt(batchSize: Int = 2_000) throws -> (records: Int, bytes: Int) {
        let db = try open()
        let pending = try db.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM metadata_record WHERE dataKeyId <> (SELECT id FROM data_key WHERE active = 1)") ?? 0
        }
        let activeId: String
        if pending == 0 {
            // Nothing left from an interrupted run: this is a fresh re-encryption under a new key.
            let id = UUID().uuidString.lowercased()
            let generated = try kms.generateDataKey(cmk, context: DataKeyRing.context(tenant: tenant, id: id), caller: caller)
            try db.write { db in
                try db.execute(sql: "UPDATE data_key SET active = 0 WHERE active = 1")
                try db.execute(
                    sql: "INSERT INTO data_key (id, cmkArn, wrapped, active, createdAt) VALUES (?, ?, ?, 1, ?)",
                    arguments: [id, cmk.arn, Data(generated.wrapped), Date()])
            }
            FaultInjection.hit("cmk-reencrypt.after-new-key")
            activeId = id
        } else {
            activeId = try db.read { db in try String.fetchOne(db, sql: "SELECT id FROM data_key WHERE active = 1") } ?? ""
        }
        var keys: [String: SymmetricKey] = [:]
        func key(_ id: String) throws -> SymmetricKey {
            if let known = keys[id] { return known }
            guard let wrapped = try db.read({ db in try Data.fetchOne(db, sql: "SELECT wrapped FROM data_key WHERE id = ?", arguments: [id]) }) else {
                throw MetadataStoreError.keyUnavailable("data key \(id) is missing")
            }
            let plain = SymmetricKey(data: try kms.decrypt(cmk, Array(wrapped), context: DataKeyRing.context(tenant: tenant, id: id), caller: caller))
            keys[id] = plain
            return plain
        }
        let target = try key(activeId)
        var records = 0, bytes = 0
        // Walk the table once in rowid order: re-selecting "not yet under the active key" from the
        // start for every batch would rescan the records already done (quadratic).
        var lastRowid: Int64 = 0
        while true {
            let batch = try db.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT rowid, kind, workspace, name, dataKeyId, ciphertext FROM metadata_record
                        WHERE rowid > ? ORDER BY rowid LIMIT ?
                        """,
                    arguments: [lastRowid, batchSize])
            }
            guard let last = batch.last else { break }
            lastRowid = last["rowid"]
            var updates: [(Data, Int64, String)] = []
            for row in batch {
                let old: String = row["dataKeyId"]
                guard old != activeId else { continue }
                let kind: String = row["kind"], workspace: String = row["workspace"], name: String = row["name"]
                let plain: Data
                do {
                    plain = try AES.GCM.open(
                        AES.GCM.SealedBox(combined: row["ciphertext"] as Data), using: try key(old),
                        authenticating: MetadataStore.associatedData(tenant: tenant, kind, workspace, name, old))
                } catch let error as MetadataStoreError {
                    throw error
                } catch {
                    throw MetadataStoreError.undecryptable(kind: kind, workspace: workspace, name: name)
                }
                let sealed = try AES.GCM.seal(
                    plain, using: target, authenticating: MetadataStore.associatedData(tenant: tenant, kind, workspace, name, activeId))
                updates.append((sealed.combined!, row["rowid"], old))
                bytes += plain.count
            }
            guard !updates.isEmpty else { continue }
            try db.write { db in
                // Only if the control plane did not rewrite the record meanwhile.
                let statement = try db.makeStatement(sql: "UPDATE metadata_record SET dataKeyId = ?, ciphertext = ? WHERE rowid = ? AND dataKeyId = ?")
                for (ciphertext, rowid, old) in updates {
                    try statement.execute(arguments: [activeId, ciphertext, rowid, old])
                }
            }
            records += updates.count
            FaultInjection.hit("cmk-reencrypt.after-batch")
        }
        // Records the control plane wrote meanwhile under an older key (it re-reads the active key
        // on every write, so only writes racing the switch): one more pass catches them.
        let stragglers = try db.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM metadata_record WHERE dataKeyId <> ?", arguments: [activeId]) ?? 0
        }
        if stragglers > 0 {
            let more = try reencrypt(batchSize: batchSize)
            records += more.records
            bytes += more.bytes
        }
        try db.write { db in
            try db.execute(sql: "DELETE FROM data_key WHERE active = 0 AND id NOT IN (SELECT DISTINCT dataKeyId FROM metadata_record)")
        }
        return (records, bytes)
    }
}
