import Foundation
import VPTModel
import VPTState

/// One line of the fleet inventory.
public struct TenantSummary: Codable, Sendable, Equatable {
    public var name: String
    public var status: String
    public var provider: String
    public var region: String
    public var vpcCidr: String?
    public var onlineStore: String
    public var cmkManagedBy: String
    public var labels: [String: String]
    public var createdAt: String
    public var updatedAt: String
}

/// A resource as shown to operators.
public struct ResourceView: Codable, Sendable, Equatable {
    public var address: String
    public var kind: String
    public var status: String
    public var updatedAt: String
    public var outputs: [String: String]
}

/// Everything `vpt tenant show` prints. Built from state only; no secret is ever read into it.
public struct TenantDetail: Codable, Sendable, Equatable {
    public var summary: TenantSummary
    public var lastError: String?
    public var vendorAccountId: String?
    public var customerAccountId: String
    public var allowedRegions: [String]
    public var crossAccountRoleArn: String?
    public var externalId: String?
    public var cmkArn: String?
    public var onlineStoreLocation: String?
    public var offlineStoreLocation: String?
    public var controlPlanePort: String?
    public var dataPlanePort: String?
    public var runtimeConfig: String?
    public var resources: [ResourceView]
}

/// Reads the fleet's inventory from the state store.
public struct TenantInventory: Sendable {
    public let provisioner: Provisioner
    public init(provisioner: Provisioner) { self.provisioner = provisioner }

    private static func date(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    public func summaries() throws -> [TenantSummary] {
        let allocations = try provisioner.store.allocations()
        return try provisioner.store.tenants().map { record in
            let spec = try record.spec()
            return TenantSummary(
                name: record.name, status: record.status.rawValue, provider: spec.vendorAccount.provider.rawValue,
                region: spec.vendorAccount.region, vpcCidr: allocations[record.name]?.description,
                onlineStore: "\(spec.customerAccount.onlineStore.kind.rawValue) (\(spec.customerAccount.onlineStore.region))",
                cmkManagedBy: spec.encryption.cmk.managedBy.rawValue, labels: spec.labels,
                createdAt: Self.date(record.createdAt), updatedAt: Self.date(record.updatedAt))
        }
    }

    public func detail(_ name: String) throws -> TenantDetail {
        let store = provisioner.store
        guard let record = try store.tenant(name), let summary = try summaries().first(where: { $0.name == name }) else {
            throw FleetError.unknownTenant(name)
        }
        let spec = try record.spec()
        let values = try store.values(tenant: name)
        let resources = try store.resources(tenant: name)
        let byAddress = Dictionary(uniqueKeysWithValues: resources.map { ($0.address, $0) })
        return TenantDetail(
            summary: summary, lastError: record.lastError, vendorAccountId: values["vendorAccountId"],
            customerAccountId: spec.customerAccount.accountId, allowedRegions: spec.customerAccount.residency.allowedRegions,
            crossAccountRoleArn: byAddress["cross_account_role"]?.outputs["arn"],
            externalId: byAddress["cross_account_role"]?.attributes["externalId"], cmkArn: byAddress["cmk"]?.outputs["arn"],
            onlineStoreLocation: byAddress["online_store"]?.attributes["location"],
            offlineStoreLocation: byAddress["offline_store"]?.attributes["location"],
            controlPlanePort: values["controlPlanePort"], dataPlanePort: values["dataPlanePort"],
            runtimeConfig: byAddress["runtime_config"]?.outputs["path"],
            resources: resources.map {
                ResourceView(address: $0.address, kind: $0.kind, status: $0.status.rawValue, updatedAt: Self.date($0.updatedAt), outputs: $0.outputs)
            })
    }
}
