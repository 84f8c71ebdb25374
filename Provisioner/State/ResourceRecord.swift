import Foundation
import GRDB

/// How far a resource got. `creating` with no matching `created` means a crash mid-way: the
/// resource may be half there and is replaced on the next run.
public enum ResourceStatus: String, Codable, Sendable {
    case creating, created, deleting
}

/// One resource of a tenant's graph as recorded after (or while) it was applied.
public struct ResourceRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "resource"
    public var tenant: String
    public var address: String
    public var kind: String
    public var status: ResourceStatus
    public var dependsOn: [String]
    /// Desired attributes the resource was applied with (no secrets).
    public var attributes: [String: String]
    /// What creating it produced: ids, paths, ARNs (no secrets).
    public var outputs: [String: String]
    public var updatedAt: Date

    public init(
        tenant: String, address: String, kind: String, status: ResourceStatus, dependsOn: [String],
        attributes: [String: String], outputs: [String: String], updatedAt: Date = Date()
    ) {
        self.tenant = tenant
        self.address = address
        self.kind = kind
        self.status = status
        self.dependsOn = dependsOn
        self.attributes = attributes
        self.outputs = outputs
        self.updatedAt = updatedAt
    }
}

extension StateStore {
    public func resources(tenant: String) throws -> [ResourceRecord] {
        try pool.read { db in
            try ResourceRecord.filter(Column("tenant") == tenant).order(Column("address")).fetchAll(db)
        }
    }

    /// Records a resource at once (one transaction), as apply finishes each step.
    public func record(_ resource: ResourceRecord) throws {
        try pool.write { db in try resource.save(db) }
    }

    public func deleteResource(tenant: String, address: String) throws {
        try pool.write { db in
            try db.execute(sql: "DELETE FROM resource WHERE tenant = ? AND address = ?", arguments: [tenant, address])
        }
    }
}
