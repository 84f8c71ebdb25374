import Crypto
import Foundation
import GRDB
import VPTContract
import VPTLocalCloud

/// The control plane's metadata (feature repository, principals, key hashes, jobs) in SQLite, every
/// value encrypted at rest with AES-256-GCM under a data key that the tenant CMK wraps (envelope
/// encryption). The associated data binds tenant, kind, workspace, name and data key, so a value
/// cannot be moved to another record or tenant. If the CMK is disabled the store cannot be opened:
/// pulling the key shreds access to the metadata.
public final class MetadataStore: Sendable {
    public let tenant: String
    let pool: DatabasePool
    private let keys: DataKeyRing

    /// Opens (creating on first use) the store at `url`, unwrapping its data keys with the CMK.
    public init(url: URL, tenant: String, cmk: KMSKeyRef, kms: LocalKMS, caller: String) throws {
        self.tenant = tenant
        try SecureFiles.makeDirectory(url.deletingLastPathComponent())
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        pool = try DatabasePool(path: url.path, configuration: configuration)
        for suffix in ["", "-wal", "-shm"] { chmod(url.path + suffix, 0o600) }
        try Self.migrator.migrate(pool)
        keys = DataKeyRing(tenant: tenant, cmk: cmk, kms: kms, caller: caller)
        try keys.load(pool)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-metadata") { db in
            try db.create(table: "data_key") { t in
                t.primaryKey("id", .text)
                t.column("cmkArn", .text).notNull()
                t.column("wrapped", .blob).notNull()
                t.column("active", .boolean).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "metadata_record") { t in
                t.column("kind", .text).notNull()
                t.column("workspace", .text).notNull()
                t.column("name", .text).notNull()
                t.column("dataKeyId", .text).notNull().references("data_key")
                t.column("ciphertext", .blob).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["kind", "workspace", "name"])
            }
        }
        return migrator
    }

    private func associatedData(_ kind: String, _ workspace: String, _ name: String, _ keyId: String) -> Data {
        Self.associatedData(tenant: tenant, kind, workspace, name, keyId)
    }

    static func associatedData(tenant: String, _ kind: String, _ workspace: String, _ name: String, _ keyId: String) -> Data {
        Data("vpt-metadata-v1\n\(tenant)\n\(kind)\n\(workspace)\n\(name)\n\(keyId)".utf8)
    }

    /// Drops the unwrapped data keys (the CMK was disabled); `reload()` brings them back.
    public func lock() { keys.forget() }

    /// Unwraps the data keys again (after the CMK was re-enabled).
    public func reload() throws { try keys.load(pool) }

    /// Encrypts and stores a value (replacing any previous one).
    public func put(kind: String, workspace: String, name: String, value: Data) throws {
        let (keyId, key) = try keys.active(pool)
        let sealed = try AES.GCM.seal(value, using: key, authenticating: associatedData(kind, workspace, name, keyId))
        try pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO metadata_record (kind, workspace, name, dataKeyId, ciphertext, updatedAt) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [kind, workspace, name, keyId, sealed.combined!, Date()])
        }
    }

    /// The decrypted value, or nil if there is none.
    public func get(kind: String, workspace: String, name: String) throws -> Data? {
        let row = try pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT dataKeyId, ciphertext FROM metadata_record WHERE kind = ? AND workspace = ? AND name = ?",
                arguments: [kind, workspace, name])
        }
        guard let row else { return nil }
        return try open(kind, workspace, name, keyId: row["dataKeyId"], ciphertext: row["ciphertext"])
    }

    /// Every record of a kind in a workspace, by name.
    public func list(kind: String, workspace: String) throws -> [(name: String, value: Data)] {
        let rows = try pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT name, dataKeyId, ciphertext FROM metadata_record WHERE kind = ? AND workspace = ? ORDER BY name",
                arguments: [kind, workspace])
        }
        return try rows.map { ($0["name"], try open(kind, workspace, $0["name"], keyId: $0["dataKeyId"], ciphertext: $0["ciphertext"])) }
    }

    /// Every record of a kind, in every workspace.
    public func listAll(kind: String) throws -> [(workspace: String, name: String, value: Data)] {
        let rows = try pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT workspace, name, dataKeyId, ciphertext FROM metadata_record WHERE kind = ? ORDER BY workspace, name",
                arguments: [kind])
        }
        return try rows.map {
            ($0["workspace"], $0["name"], try open(kind, $0["workspace"], $0["name"], keyId: $0["dataKeyId"], ciphertext: $0["ciphertext"]))
        }
    }

    public func delete(kind: String, workspace: String, name: String) throws {
        try pool.write { db in
            try db.execute(
                sql: "DELETE FROM metadata_record WHERE kind = ? AND workspace = ? AND name = ?", arguments: [kind, workspace, name])
        }
    }

    private func open(_ kind: String, _ workspace: String, _ name: String, keyId: String, ciphertext: Data) throws -> Data {
        let key = try keys.key(keyId, pool)
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: ciphertext), using: key, authenticating: associatedData(kind, workspace, name, keyId))
        } catch {
            throw MetadataStoreError.undecryptable(kind: kind, workspace: workspace, name: name)
        }
    }
}

extension MetadataStore {
    /// Workspaces that hold a record of `kind` named `name`.
    public func workspaces(kind: String, name: String) throws -> [String] {
        try pool.read { db in
            try String.fetchAll(db, sql: "SELECT workspace FROM metadata_record WHERE kind = ? AND name = ?", arguments: [kind, name])
        }
    }
}
