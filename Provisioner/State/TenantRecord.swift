import Foundation
import GRDB
import VPTModel

/// Where a tenant stands in its lifecycle.
public enum TenantStatus: String, Codable, Sendable {
    case provisioning, ready, failed, deprovisioning
}

/// A tenant as the fleet knows it: the spec last applied and its status.
public struct TenantRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "tenant"
    public var name: String
    public var specJSON: String
    public var specHash: String
    public var status: TenantStatus
    public var lastError: String?
    public var createdAt: Date
    public var updatedAt: Date

    public init(name: String, specJSON: String, specHash: String, status: TenantStatus, lastError: String? = nil, createdAt: Date, updatedAt: Date) {
        self.name = name
        self.specJSON = specJSON
        self.specHash = specHash
        self.status = status
        self.lastError = lastError
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The spec stored with the record.
    public func spec() throws -> TenantSpec {
        try JSONDecoder().decode(TenantSpec.self, from: Data(specJSON.utf8))
    }
}

extension StateStore {
    public func tenant(_ name: String) throws -> TenantRecord? {
        try pool.read { db in try TenantRecord.fetchOne(db, key: name) }
    }

    public func tenants() throws -> [TenantRecord] {
        try pool.read { db in try TenantRecord.order(Column("name")).fetchAll(db) }
    }

    /// Inserts or replaces the tenant row, keeping its creation date.
    public func saveTenant(_ record: TenantRecord) throws {
        try pool.write { db in
            var record = record
            if let existing = try TenantRecord.fetchOne(db, key: record.name) { record.createdAt = existing.createdAt }
            try record.save(db)
        }
    }

    public func setTenantStatus(_ name: String, _ status: TenantStatus, error: String? = nil) throws {
        try pool.write { db in
            try db.execute(
                sql: "UPDATE tenant SET status = ?, lastError = ?, updatedAt = ? WHERE name = ?",
                arguments: [status.rawValue, error, Date(), name])
        }
    }

    /// Forgets a deprovisioned tenant: its row, resources, allocation and generated values. Events stay.
    public func forgetTenant(_ name: String) throws {
        try pool.write { db in
            for table in ["resource", "tenant_value", "cidr_allocation"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE tenant = ?", arguments: [name])
            }
            try db.execute(sql: "DELETE FROM tenant WHERE name = ?", arguments: [name])
        }
    }
}
