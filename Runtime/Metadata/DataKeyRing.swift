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

    private func context(_ id: String) -> [String: String] {
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

    func active() throws -> (String, SymmetricKey) {
        try lock.withLock {
            guard let id = activeId, let bytes = unwrapped[id] else { throw MetadataStoreError.keyUnavailable("no active data key") }
            return (id, SymmetricKey(data: bytes))
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
