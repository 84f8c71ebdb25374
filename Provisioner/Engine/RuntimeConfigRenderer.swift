import Foundation
import Mustache
import VPTContract
import VPTLocalCloud
import VPTTemplates

/// Renders `Templates/runtime/runtime.json.mustache`. Every value is passed as a JSON literal and
/// inserted unescaped, so quotes or newlines in a value cannot break the document.
struct RuntimeConfigRenderer {
    let graph: TenantGraph
    let cmkArn: String
    let secrets: [String: String]
    /// Where the control plane appends key events; default: the tenant's log in its vendor account.
    var auditLogFile: String? = nil
    /// Where the runtime finds the Redis password; default: the file the spec names.
    var onlineStorePasswordFile: String? = nil
    /// Where the runtime finds the Redis server's CA certificates; default: the file the spec names.
    var onlineStoreCAFile: String? = nil
    /// Where the runtime finds its Redis client certificate and key; default: the files the spec names.
    var onlineStoreClientCertFile: String? = nil
    var onlineStoreClientKeyFile: String? = nil

    func render() throws -> String {
        let template = try MustacheTemplate(string: try Templates.text("runtime/runtime.json.mustache"))
        return template.render(try context())
    }

    private func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private func list<T>(_ items: [T], _ transform: (T) throws -> [String: Any]) rethrows -> [[String: Any]] {
        try items.enumerated().map { index, item in
            var entry = try transform(item)
            entry["last"] = index == items.count - 1
            return entry
        }
    }

    private func context() throws -> [String: Any] {
        let spec = graph.spec, tenant = graph.tenant, paths = graph.paths
        let customer = spec.customerAccount
        let online = StoreConfig(
            kind: customer.onlineStore.kind.rawValue, account: customer.accountId, region: customer.onlineStore.region,
            location: graph.onlineStoreLocation, resource: graph.onlineStoreResource, namespace: "vpt:\(tenant):",
            passwordFile: customer.onlineStore.passwordFile.map { onlineStorePasswordFile ?? $0 },
            caFile: customer.onlineStore.caFile.map { onlineStoreCAFile ?? $0 },
            clientCertFile: customer.onlineStore.clientCertFile.map { onlineStoreClientCertFile ?? $0 },
            clientKeyFile: customer.onlineStore.clientKeyFile.map { onlineStoreClientKeyFile ?? $0 })
        let offline = StoreConfig(
            kind: customer.offlineStore.kind.rawValue, account: customer.accountId, region: customer.offlineStore.region,
            location: graph.offlineStoreLocation, resource: graph.offlineStoreResource, namespace: tenant)
        let pki = TenantPKI(paths: paths, tenant: tenant)
        let principals = spec.principals.sorted { ($0.serviceAccount, $0.workspace) < ($1.serviceAccount, $1.workspace) }
        return [
            "tenant": try json(tenant),
            "accountsRoot": try json(paths.accounts.path),
            "allowedRegions": try list(customer.residency.allowedRegions) { ["value": try json($0)] },
            "controlPlanePort": try json(Int(graph.identity.controlPlanePort) ?? 0),
            "controlPlaneDir": try json(paths.controlPlaneDirectory(tenant).path),
            "cmkArn": try json(cmkArn),
            "controlPlaneRoleArn": try json(graph.controlPlaneRoleArn),
            "dataPlanePort": try json(Int(graph.identity.dataPlanePort) ?? 0),
            "dataPlaneRegion": try json(spec.vendorAccount.region),
            "dataPlaneDir": try json(paths.dataPlaneDirectory(tenant).path),
            "dataPlaneRoleArn": try json(graph.dataPlaneRoleArn),
            "cacheEnabled": try json(spec.dataPlane.servingCache.enabled),
            "cacheMaxAge": try json(spec.dataPlane.servingCache.maxAgeSeconds),
            "cacheMaxEntries": try json(spec.dataPlane.servingCache.maxEntries),
            "riftEnabled": try json(spec.dataPlane.rift.enabled),
            "riftRegion": try json(spec.dataPlane.rift.region),
            "riftMaxConcurrentJobs": try json(spec.dataPlane.rift.maxConcurrentJobs),
            "riftMaxAttempts": try json(spec.dataPlane.rift.maxAttempts),
            "riftRetryBackoffSeconds": try json(spec.dataPlane.rift.retryBackoffSeconds),
            "riftJobHistoryDays": try json(spec.dataPlane.rift.jobHistoryDays),
            // Only a tenant with a limit gets the field: configs without one stay as they were.
            "hasRateLimit": spec.dataPlane.rateLimit != nil,
            "rateLimit": try json(spec.dataPlane.rateLimit),
            "hasEventLoops": spec.dataPlane.eventLoops != nil,
            "eventLoops": try json(spec.dataPlane.eventLoops),
            "hasMaxConnections": spec.dataPlane.maxConnections != nil,
            "maxConnections": try json(spec.dataPlane.maxConnections),
            "onlineStore": try json(online),
            "offlineStore": try json(offline),
            "crossAccountRoleArn": try json(graph.crossAccountRoleArn),
            "externalId": try json(graph.identity.externalId),
            "sessionSeconds": try json(customer.crossAccountRole.maxSessionSeconds),
            "callerCredentialFile": try json(paths.dataPlaneCredential(tenant).path),
            "adminKeySHA256": try json(secrets["adminKeySHA256"] ?? ""),
            "internalTokenSHA256": try json(secrets["internalTokenSHA256"] ?? ""),
            "internalTokenFile": try json(paths.internalToken(tenant).path),
            "internalPort": try json(Int(graph.identity.internalPort) ?? 0),
            "auditLogFile": try json(
                auditLogFile
                    ?? AuditLog(accountsRoot: paths.accounts, vendorAccount: graph.identity.vendorAccountId, region: spec.vendorAccount.region, tenant: tenant)
                    .url.path),
            "caFile": try json(pki.caCertificate.path),
            "controlPlaneCertFile": try json(pki.certificate(.controlPlane).path),
            "controlPlaneKeyFile": try json(pki.key(.controlPlane).path),
            "dataPlaneCertFile": try json(pki.certificate(.dataPlane).path),
            "dataPlaneKeyFile": try json(pki.key(.dataPlane).path),
            "clientCertFile": try json(pki.certificate(.dataPlaneClient).path),
            "clientKeyFile": try json(pki.key(.dataPlaneClient).path),
            "principals": try list(principals) {
                ["serviceAccount": try json($0.serviceAccount), "workspace": try json($0.workspace), "role": try json($0.role.rawValue)]
            },
        ]
    }
}
