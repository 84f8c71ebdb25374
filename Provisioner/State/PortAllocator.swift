import GRDB

extension StateStore {
    /// Loopback ports handed to tenant processes; each tenant's ports are its own.
    public static let tenantPorts = 20_000...29_999

    /// The tenant's port for `key`, or the lowest port no tenant holds, recorded atomically.
    public func allocatePort(tenant: String, key: String) throws -> Int {
        try pool.write { db in
            if let existing = try String.fetchOne(
                db, sql: "SELECT value FROM tenant_value WHERE tenant = ? AND key = ?", arguments: [tenant, key]),
                let port = Int(existing)
            {
                return port
            }
            let used = Set(
                try String.fetchAll(db, sql: "SELECT value FROM tenant_value WHERE key IN ('controlPlanePort', 'dataPlanePort')")
                    .compactMap { Int($0) })
            guard let port = Self.tenantPorts.first(where: { !used.contains($0) }) else {
                throw DatabaseError(message: "no free tenant port left in \(Self.tenantPorts)")
            }
            try db.execute(
                sql: "INSERT INTO tenant_value (tenant, key, value) VALUES (?, ?, ?)", arguments: [tenant, key, String(port)])
            return port
        }
    }
}
