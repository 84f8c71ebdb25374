import Crypto
import Foundation
import GRDB
import VPTLocalCloud

/// The metadata store's data keys, unwrapped through the KMS once and kept in memory only.
final class DataKeyRing: @unchecked Sendable {
    private let tenant: String
    private let cmk: KMSKeyRef
    private let kms: LocalKMS
    private let caller: String
    private let lock = NSLock()
    private var unwrapped: [String: [UInt8]] = [:]
    private var activeId: String?

    init(tenant: String, cmk: KMSKeyRef, kms: LocalKMS, caller: String) {
        self.tenant = tenant
        self.cmk = cmk
        self.kms = kms
        self.caller = caller
    }

    private func context(_ id: String) -> [String: String] { Self.context(tenant: tenant, id: id) }

    /// The KMS encryption context of a wrapped data key.
    static func context(tenant: String, id: String) -> [String: String] {
        ["tenant": tenant, "purpose": "control-plane-metadata", "dataKey": id]
    }

    /// Unwraps the active data key, creating one on first use.
    func load(_ pool: DatabasePool) throws {
        let existing = try pool.read { db in try Row.fetchOne(db, sql: "SELECT id, wrapped FROM data_key WHERE active = 1") }
        if let existing {
            let id: String = existing["id"]
            let plain = try unwrap(id, wrapped: existing["wrapped"])
            lock.withLock {
                unwrapped[id] = plain
                activeId = id
            }
            return
        }
        let id = UUID().uuidString.lowercased()
        let generated: (plaintext: SymmetricKey, wrapped: [UInt8])
        do {
            generated = try kms.generateDataKey(cmk, context: context(id), caller: caller)
        } catch {
            throw MetadataStoreError.keyUnavailable("\(error)")
        }
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO data_key (id, cmkArn, wrapped, active, createdAt) VALUES (?, ?, ?, 1, ?)",
                arguments: [id, cmk.arn, Data(generated.wrapped), Date()])
        }
        lock.withLock {
            unwrapped[id] = generated.plaintext.withUnsafeBytes { Array($0) }
            activeId = id
        }
    }

    /// The data key new values are sealed with. Re-read from the database on every call: a
    /// re-encryption (`vpt keys rotate --cmk --reencrypt`) may have switched it from another process.
    func active(_ pool: DatabasePool) throws -> (String, SymmetricKey) {
        if let current = try pool.read({ db in try String.fetchOne(db, sql: "SELECT id FROM data_key WHERE active = 1") }),
            current != lock.withLock({ activeId })
        {
            let key = try key(current, pool)
            lock.withLock { activeId = current }
            return (current, key)
        }
        return try lock.withLock {
            guard let id = activeId, let bytes = unwrapped[id] else { throw MetadataStoreError.keyUnavailable("no active data key") }
            return (id, SymmetricKey(data: bytes))
        }
    }

    /// Drops every unwrapped key from memory (the CMK was disabled: crypto-shredding).
    func forget() {
        lock.withLock {
            unwrapped.removeAll()
            activeId = nil
        }
    }

    func key(_ id: String, _ pool: DatabasePool) throws -> SymmetricKey {
        if let bytes = lock.withLock({ unwrapped[id] }) { return SymmetricKey(data: bytes) }
        guard let wrapped = try pool.read({ db in try Data.fetchOne(db, sql: "SELECT wrapped FROM data_key WHERE id = ?", arguments: [id]) })
        else { throw MetadataStoreError.keyUnavailable("data key \(id) is missing") }
        let plain = try unwrap(id, wrapped: wrapped)
        lock.withLock { unwrapped[id] = plain }
        return SymmetricKey(data: plain)
    }

    private func unwrap(_ id: String, wrapped: Data) throws -> [UInt8] {
        do {
            return try kms.decrypt(cmk, Array(wrapped), context: context(id), caller: caller)
        } catch {
            throw MetadataStoreError.keyUnavailable("\(error)")
        }
    }
}
