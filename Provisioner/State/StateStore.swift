import Foundation
import GRDB
import VPTModel

/// The fleet's state: one SQLite database (`$VPT_HOME/state.db`, WAL) that owns its migrations.
///
/// Every provisioning step is recorded here as soon as it finishes, so the database is always
/// true to what exists. Several `vpt` processes may use it at once; writes are serialized by
/// SQLite and wait up to 30 seconds for each other.
public final class StateStore: Sendable {
    public let pool: DatabasePool
    public let url: URL

    /// Opens (and migrates) the state store of a fleet home.
    public init(url: URL) throws {
        self.url = url
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let existed = FileManager.default.fileExists(atPath: url.path)
        pool = try DatabasePool(path: url.path, configuration: config)
        if !existed { chmod(url.path, 0o600) }
        try Self.migrator.migrate(pool)
        for suffix in ["-wal", "-shm"] { chmod(url.path + suffix, 0o600) }
    }

    /// Append-only: a released migration is never edited, only followed by a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-fleet") { db in
            try db.create(table: "fleet_setting") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
            try db.create(table: "tenant") { t in
                t.primaryKey("name", .text)
                t.column("specJSON", .text).notNull()
                t.column("specHash", .text).notNull()
                t.column("status", .text).notNull()
                t.column("lastError", .text)
                t.column("createdAt", .datetime).notNull()
                t.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "cidr_allocation") { t in
                t.primaryKey("tenant", .text)
                t.column("network", .integer).notNull().unique()
                t.column("last", .integer).notNull()
                t.column("prefixLength", .integer).notNull()
                t.column("explicit", .boolean).notNull()
            }
            try db.create(table: "tenant_value") { t in
                t.column("tenant", .text).notNull()
                t.column("key", .text).notNull()
                t.column("value", .text).notNull()
                t.primaryKey(["tenant", "key"])
            }
            try db.create(table: "resource") { t in
                t.column("tenant", .text).notNull()
                t.column("address", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("status", .text).notNull()
                t.column("dependsOn", .text).notNull()
                t.column("attributes", .text).notNull()
                t.column("outputs", .text).notNull()
                t.column("updatedAt", .datetime).notNull()
                t.primaryKey(["tenant", "address"])
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("tenant", .text).notNull().indexed()
                t.column("at", .datetime).notNull()
                t.column("action", .text).notNull()
                t.column("address", .text)
                t.column("detail", .text)
            }
        }
        migrator.registerMigration("v2-value-key-index") { db in
            // Port allocation looks values up by key across tenants.
            try db.create(index: "tenant_value_key", on: "tenant_value", columns: ["key", "value"])
        }
        return migrator
    }

    /// Names of the applied migrations, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }

    // MARK: Fleet settings

    public func setting(_ key: String) throws -> String? {
        try pool.read { db in try String.fetchOne(db, sql: "SELECT value FROM fleet_setting WHERE key = ?", arguments: [key]) }
    }

    /// Sets a setting only if it has none; returns the value in force.
    @discardableResult
    public func initializeSetting(_ key: String, _ value: String) throws -> String {
        try pool.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO fleet_setting (key, value) VALUES (?, ?)", arguments: [key, value])
            return try String.fetchOne(db, sql: "SELECT value FROM fleet_setting WHERE key = ?", arguments: [key]) ?? value
        }
    }

    /// Sets (or replaces) a setting.
    public func setSetting(_ key: String, _ value: String) throws {
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO fleet_setting (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                arguments: [key, value])
        }
    }

    // MARK: Generated values

    /// A value generated once per tenant (external ID, account id, key id): the stored one if any,
    /// else `generate()` is stored and returned. Recorded before the resource that uses it exists, so a
    /// crash and re-run reuse it.
    public func ensureValue(tenant: String, key: String, generate: () -> String) throws -> String {
        let candidate = generate()
        return try pool.write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO tenant_value (tenant, key, value) VALUES (?, ?, ?)",
                arguments: [tenant, key, candidate])
            return try String.fetchOne(
                db, sql: "SELECT value FROM tenant_value WHERE tenant = ? AND key = ?", arguments: [tenant, key]) ?? candidate
        }
    }

    public func setValue(tenant: String, key: String, value: String) throws {
        try pool.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO tenant_value (tenant, key, value) VALUES (?, ?, ?)", arguments: [tenant, key, value])
        }
    }

    public func values(tenant: String) throws -> [String: String] {
        try pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT key, value FROM tenant_value WHERE tenant = ?", arguments: [tenant])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0["key"] as String, $0["value"] as String) })
        }
    }

    // MARK: Events

    /// Appends to the tenant's history (never holds secrets).
    public func appendEvent(tenant: String, action: String, address: String? = nil, detail: String? = nil) throws {
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO event (tenant, at, action, address, detail) VALUES (?, ?, ?, ?, ?)",
                arguments: [tenant, Date(), action, address, detail])
        }
    }

    public func events(tenant: String) throws -> [(at: Date, action: String, address: String?, detail: String?)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM event WHERE tenant = ? ORDER BY id", arguments: [tenant]).map {
                ($0["at"], $0["action"], $0["address"], $0["detail"])
            }
        }
    }
}
