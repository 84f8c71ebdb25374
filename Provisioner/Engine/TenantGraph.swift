import Foundation
import VPTContract
import VPTLocalCloud
import VPTModel

/// Builds a tenant's desired resource graph from its spec and generated identity.
public struct TenantGraph: Sendable {
    public let tenant: String
    public let spec: TenantSpec
    public let identity: TenantIdentity
    public let paths: FleetPaths

    public init(tenant: String, spec: TenantSpec, identity: TenantIdentity, paths: FleetPaths) {
        self.tenant = tenant
        self.spec = spec
        self.identity = identity
        self.paths = paths
    }

    public var controlPlaneRoleName: String { "vpt-\(tenant)-control-plane" }
    public var dataPlaneRoleName: String { "vpt-\(tenant)-data-plane" }
    public var crossAccountRoleName: String { "vpt-\(tenant)-access" }
    public var controlPlaneRoleArn: String { IAMRole.arn(account: identity.vendorAccountId, name: controlPlaneRoleName) }
    public var dataPlaneRoleArn: String { IAMRole.arn(account: identity.vendorAccountId, name: dataPlaneRoleName) }
    public var crossAccountRoleArn: String { IAMRole.arn(account: spec.customerAccount.accountId, name: crossAccountRoleName) }

    /// Where the CMK lives: the vendor account, or the customer's account for `managedBy: customer`.
    public var cmkLocation: (account: String, region: String) {
        if spec.encryption.cmk.managedBy == .customer {
            if let ref = spec.encryption.cmk.keyRef, let parsed = NameRules.parseKeyRef(ref), let region = parsed.region,
                let account = parsed.account
            {
                return (account, region)
            }
            return (spec.customerAccount.accountId, spec.customerAccount.region)
        }
        return (identity.vendorAccountId, spec.vendorAccount.region)
    }

    public var onlineStoreLocation: String {
        let store = spec.customerAccount.onlineStore
        switch store.kind {
        case .redis: return store.endpoint ?? ""
        case .sqlite, .dynamodb:
            return paths.onlineStore(account: spec.customerAccount.accountId, region: store.region, tenant: tenant)
                .appendingPathComponent("online.sqlite").path
        }
    }

    public var offlineStoreLocation: String {
        let store = spec.customerAccount.offlineStore
        if store.kind == .s3 { return "s3://\(store.bucket ?? "")/\(tenant)/" }
        return paths.offlineStore(account: spec.customerAccount.accountId, region: store.region, tenant: tenant).path
    }

    /// IAM resource names of the stores, as the cross-account role's permissions name them.
    public var onlineStoreResource: String { "local:\(spec.customerAccount.accountId):\(spec.customerAccount.onlineStore.region):online/\(tenant)" }
    public var offlineStoreResource: String { "local:\(spec.customerAccount.accountId):\(spec.customerAccount.offlineStore.region):offline/\(tenant)" }

    public static func principalAddress(_ p: PrincipalSpec) -> String { "principal.\(p.serviceAccount).\(p.workspace)" }

    /// The graph, in a stable order.
    public func resources() -> [DesiredResource] {
        let vendor = identity.vendorAccountId
        let region = spec.vendorAccount.region
        let customer = spec.customerAccount
        let cmk = spec.encryption.cmk
        var nodes: [DesiredResource] = []
        nodes.append(
            DesiredResource(
                "vendor_account", .vendorAccount,
                attributes: ["accountId": vendor, "provider": spec.vendorAccount.provider.rawValue, "region": region],
                replaceOnChange: ["accountId", "provider"]))
        nodes.append(
            DesiredResource(
                "vpc", .vpc, dependsOn: ["vendor_account"],
                attributes: ["vpcId": identity.vpcId, "cidr": identity.cidr, "region": region, "account": vendor],
                replaceOnChange: ["cidr", "region", "account"]))
        let subnets = (try? CIDRBlock.parse(identity.cidr).get().availabilityZoneSubnets.map(\.description))
            ?? identity.subnetIds.map { _ in TenantIdentity.unknown }
        let zones = ["a", "b"]
        for (i, subnetId) in identity.subnetIds.enumerated() where i < subnets.count {
            nodes.append(
                DesiredResource(
                    "subnet.\(zones[i])", .subnet, dependsOn: ["vpc"],
                    attributes: [
                        "subnetId": subnetId, "cidr": subnets[i], "availabilityZone": region + zones[i],
                        "vpcId": identity.vpcId, "account": vendor, "region": region,
                    ], replaceOnChange: ["cidr", "availabilityZone", "vpcId", "account", "region"]))
        }
        for (address, name) in [("iam_role.control_plane", controlPlaneRoleName), ("iam_role.data_plane", dataPlaneRoleName)] {
            nodes.append(
                DesiredResource(
                    address, .vendorRole, dependsOn: ["vendor_account"],
                    attributes: ["account": vendor, "name": name, "tenant": tenant], replaceOnChange: ["account", "name"]))
        }
        let location = cmkLocation
        nodes.append(
            DesiredResource(
                "cmk", .cmk, dependsOn: ["vendor_account", "iam_role.control_plane", "iam_role.data_plane"],
                attributes: [
                    "managedBy": cmk.managedBy.rawValue, "keyRef": cmk.keyRef ?? "alias/vpt-\(tenant)",
                    "account": location.account, "region": location.region,
                    "keyId": cmk.managedBy == .vendor ? identity.cmkKeyId : "(resolved from keyRef)",
                    "rotationDays": String(cmk.rotationDays),
                    "grantees": [controlPlaneRoleArn, dataPlaneRoleArn].joined(separator: ","),
                ], replaceOnChange: ["managedBy", "keyRef", "account", "region", "keyId"]))
        nodes.append(
            DesiredResource(
                "cross_account_role", .crossAccountRole, dependsOn: ["iam_role.data_plane"],
                attributes: [
                    "account": customer.accountId, "name": crossAccountRoleName, "trustedPrincipal": dataPlaneRoleArn,
                    "externalId": identity.externalId, "maxSessionSeconds": String(customer.crossAccountRole.maxSessionSeconds),
                    "onlineStore": onlineStoreResource, "offlineStore": offlineStoreResource,
                ], replaceOnChange: ["account", "name"]))
        nodes.append(
            DesiredResource(
                "online_store", .onlineStore,
                attributes: [
                    "kind": customer.onlineStore.kind.rawValue, "account": customer.accountId,
                    "region": customer.onlineStore.region, "location": onlineStoreLocation, "namespace": "vpt:\(tenant):",
                ].merging(customer.onlineStore.passwordFile.map { ["passwordFile": $0] } ?? [:]) { $1 }
                    .merging(customer.onlineStore.caFile.map { ["caFile": $0] } ?? [:]) { $1 }
                    .merging(customer.onlineStore.clientCertFile.map { ["clientCertFile": $0] } ?? [:]) { $1 }
                    .merging(customer.onlineStore.clientKeyFile.map { ["clientKeyFile": $0] } ?? [:]) { $1 },
                replaceOnChange: ["kind", "account", "region", "location"]))
        nodes.append(
            DesiredResource(
                "offline_store", .offlineStore,
                attributes: [
                    "kind": customer.offlineStore.kind.rawValue, "account": customer.accountId,
                    "region": customer.offlineStore.region, "location": offlineStoreLocation,
                ], replaceOnChange: ["kind", "account", "region", "location"]))
        let principals = spec.principals.sorted { Self.principalAddress($0) < Self.principalAddress($1) }
        nodes.append(
            DesiredResource(
                "runtime_secrets", .runtimeSecrets, dependsOn: ["vendor_account"],
                attributes: ["adminKeyFile": paths.adminKey(tenant).path, "tokenFile": paths.internalToken(tenant).path]))
        nodes.append(
            DesiredResource(
                "certificates", .certificates, dependsOn: ["vendor_account"],
                attributes: ["folder": paths.tenant(tenant).appendingPathComponent("tls").path, "names": "127.0.0.1,localhost"]))
        let rift = spec.dataPlane.rift
        var configAttributes = [
            "path": paths.runtimeConfig(tenant).path, "controlPlanePort": identity.controlPlanePort,
            "dataPlanePort": identity.dataPlanePort, "internalPort": identity.internalPort,
            "servingCache": "enabled=\(spec.dataPlane.servingCache.enabled),maxAgeSeconds=\(spec.dataPlane.servingCache.maxAgeSeconds),maxEntries=\(spec.dataPlane.servingCache.maxEntries)",
            "rift": "enabled=\(rift.enabled),region=\(rift.region),maxConcurrentJobs=\(rift.maxConcurrentJobs),maxAttempts=\(rift.maxAttempts),"
                + "retryBackoffSeconds=\(rift.retryBackoffSeconds),jobHistoryDays=\(rift.jobHistoryDays)",
            "allowedRegions": customer.residency.allowedRegions.joined(separator: ","),
            "principals": principals.map { "\($0.serviceAccount)@\($0.workspace)=\($0.role.rawValue)" }.joined(separator: ","),
            "externalId": identity.externalId, "sessionSeconds": String(customer.crossAccountRole.maxSessionSeconds),
        ]
        // Only a tenant with a limit has the attribute: tenants without one plan no change.
        if let limit = spec.dataPlane.rateLimit { configAttributes["rateLimit"] = "requestsPerSecond=\(limit.requestsPerSecond),burst=\(limit.burst)" }
        if let loops = spec.dataPlane.eventLoops { configAttributes["eventLoops"] = String(loops) }
        if let connections = spec.dataPlane.maxConnections { configAttributes["maxConnections"] = String(connections) }
        nodes.append(
            DesiredResource(
                "runtime_config", .runtimeConfig,
                dependsOn: ["cmk", "cross_account_role", "online_store", "offline_store", "runtime_secrets", "certificates", "subnet.a"]
                    .filter { $0 != "subnet.a" || !identity.subnetIds.isEmpty },
                attributes: configAttributes))
        // The planes restart when anything their config is made from changes.
        let configInputs = nodes.last!.attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
        nodes.append(
            DesiredResource(
                "control_plane", .controlPlane, dependsOn: ["runtime_config", "iam_role.control_plane"],
                attributes: [
                    "port": identity.controlPlanePort, "directory": paths.controlPlaneDirectory(tenant).path,
                    "configInputs": String(Hex.sha256(configInputs).prefix(16)),
                ],
                replaceOnChange: ["directory"]))
        nodes.append(
            DesiredResource(
                "data_plane", .dataPlane, dependsOn: ["control_plane", "iam_role.data_plane"],
                attributes: [
                    "port": identity.dataPlanePort, "directory": paths.dataPlaneDirectory(tenant).path, "region": region,
                ], replaceOnChange: ["directory"]))
        for principal in principals {
            nodes.append(
                DesiredResource(
                    Self.principalAddress(principal), .principal, dependsOn: ["control_plane"],
                    attributes: [
                        "serviceAccount": principal.serviceAccount, "workspace": principal.workspace, "role": principal.role.rawValue,
                    ], replaceOnChange: ["serviceAccount", "workspace"]))
        }
        return nodes
    }
}
