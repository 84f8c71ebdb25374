import Foundation
import GRDB
import VPTLocalCloud

extension StateStore {
    /// Loopback ports handed to tenant processes unless the fleet sets `portRange`.
    public static let defaultTenantPorts = 20_000...29_999

    /// The fleet's port range (`vpt init --port-range`).
    public func tenantPorts() throws -> ClosedRange<Int> {
        guard let text = try setting("portRange") else { return Self.defaultTenantPorts }
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, parts[0] <= parts[1] else { return Self.defaultTenantPorts }
        return parts[0]...parts[1]
    }

    /// The tenant's port for `key`, or the lowest port no tenant holds, recorded atomically.
    public func allocatePort(tenant: String, key: String) throws -> Int {
        let range = try tenantPorts()
        return try pool.write { db in
            if let existing = try String.fetchOne(
                db, sql: "SELECT value FROM tenant_value WHERE tenant = ? AND key = ?", arguments: [tenant, key]),
                let port = Int(existing)
            {
                return port
            }
            let used = Set(
                try String.fetchAll(db, sql: "SELECT value FROM tenant_value WHERE key IN ('controlPlanePort', 'dataPlanePort', 'internalPort')")
                    .compactMap { Int($0) })
            // Skip ports some other program (or another fleet) already listens on.
            guard let port = range.first(where: { !used.contains($0) && LoopbackPort.canBind($0, reuseAddress: false) }) else {
                throw DatabaseError(message: "no free tenant port left in \(range)")
            }
            try db.execute(
                sql: "INSERT INTO tenant_value (tenant, key, value) VALUES (?, ?, ?)", arguments: [tenant, key, String(port)])
            return port
        }
    }
}
