import Foundation
import VPTContract
import VPTLocalCloud
import VPTModel
import VPTState

/// `vpt keys rotate --credentials`.
public struct CredentialRotationReport: Codable, Sendable {
    public var tenant: String
    public var accessKeyId: String
    public var previousAccessKeyIds: [String]
    public var externalIdRotated: Bool
    /// Whether a running data plane switched to the new session (false: no runtime running).
    public var dataPlaneSwitched: Bool
    public var seconds: Double
}

extension KeyService {
    /// Replaces the data plane's access key and the cross-account role's external ID without a
    /// failed request: the role trusts the new external ID alongside the old one, the data plane
    /// switches to a session made with the new credentials, and only then are the old external ID
    /// and access key removed. A re-run after a crash rotates again and cleans up what is left.
    public func rotateCredentials(tenant name: String) throws -> CredentialRotationReport {
        let lock = try TenantLock(home: paths.home, tenant: name, purpose: "vpt keys rotate \(name) --credentials")
        defer { withExtendedLifetime(lock) {} }
        let began = Date()
        let t = try tenant(name)
        let pinned = t.spec.customerAccount.crossAccountRole.externalId != "auto"
        let iam = LocalIAM(accountsRoot: paths.accounts)
        guard let dataRole = IAMRole.parse(arn: t.config.dataPlane.roleArn), let accessRole = IAMRole.parse(arn: t.config.crossAccount.roleArn),
            var role = try iam.role(account: accessRole.account, name: accessRole.name), var trust = role.trust
        else { throw KeyError.notProvisioned(name) }
        try t.audit.append(action: "credentials.rotate.start", target: t.config.crossAccount.roleArn, detail: pinned ? "access key only (the spec pins the external ID)" : "access key and external ID")

        // 1. Trust the new external ID beside the old one.
        var externalId = t.config.crossAccount.externalId
        if !pinned {
            externalId = "vpt-\(RandomText.hex(bytes: 16))"
            trust.externalIds.append(externalId)
            role.trust = trust
            try iam.putRole(role)
            FaultInjection.hit("credentials.after-trust")
        }
        // 2. A second access key for the data plane's role; the first keeps working.
        let fresh = try iam.createAccessKey(account: dataRole.account, roleName: dataRole.name)
        try SecureFiles.writeJSON(fresh, to: URL(fileURLWithPath: t.config.crossAccount.callerCredentialFile))
        FaultInjection.hit("credentials.after-access-key")
        // 3. The runtime config and the recorded state name the new external ID.
        if !pinned { try recordExternalId(t, externalId) }
        FaultInjection.hit("credentials.after-config")
        // 4. A running data plane switches to the new session (and proves the new credentials work).
        let switched = try switchDataPlane(t, accessKeyId: fresh.accessKeyId, externalId: externalId)
        // 5. Only now: the old external ID and access keys go.
        if !pinned, var current = try iam.role(account: accessRole.account, name: accessRole.name), var currentTrust = current.trust {
            currentTrust.externalIds = [externalId]
            current.trust = currentTrust
            try iam.putRole(current)
        }
        let old = (try iam.role(account: dataRole.account, name: dataRole.name)?.accessKeys ?? []).map(\.accessKeyId).filter { $0 != fresh.accessKeyId }
        for id in old { try iam.deleteAccessKey(account: dataRole.account, roleName: dataRole.name, accessKeyId: id) }
        if var record = try store.resources(tenant: name).first(where: { $0.address == "iam_role.data_plane" }) {
            record.outputs["accessKeyId"] = fresh.accessKeyId
            try store.record(record)
        }
        try t.audit.append(
            action: "credentials.rotate.complete", target: t.config.crossAccount.roleArn,
            detail: "access key \(fresh.accessKeyId) (retired \(old.joined(separator: ", ")))\(pinned ? "" : "; external ID replaced")"
                + (switched ? "; data plane switched" : "; no data plane running"))
        return CredentialRotationReport(
            tenant: name, accessKeyId: fresh.accessKeyId, previousAccessKeyIds: old, externalIdRotated: !pinned, dataPlaneSwitched: switched,
            seconds: Date().timeIntervalSince(began))
    }

    /// Writes the new external ID into the state store, the runtime config and the recorded
    /// resources, so that `vpt plan` shows no change afterwards.
    func recordExternalId(_ t: Tenant, _ externalId: String) throws {
        try store.setValue(tenant: t.name, key: "externalId", value: externalId)
        let identity = try TenantIdentity.peek(tenant: t.name, spec: t.spec, store: store)
        let graph = TenantGraph(tenant: t.name, spec: t.spec, identity: identity, paths: paths)
        let text = try RuntimeConfigRenderer(
            graph: graph, cmkArn: t.config.controlPlane.cmkArn,
            secrets: ["adminKeySHA256": t.config.controlPlane.adminKeySHA256, "internalTokenSHA256": t.config.controlPlane.internalTokenSHA256]
        ).render()
        let data = Data(text.utf8)
        _ = try JSONDecoder().decode(RuntimeConfig.self, from: data)
        try SecureFiles.write(data, to: paths.runtimeConfig(t.name))
        let sha = Hex.sha256(data)
        // The supervisor runs with this config now (the data plane reloads it): no restart needed.
        let marker = paths.runDirectory(t.name).appendingPathComponent("config.sha256")
        if FileManager.default.fileExists(atPath: marker.path) { try SecureFiles.write(Data(sha.utf8), to: marker) }
        // The recorded attributes become what the graph now wants, so the plan is empty.
        let desired = Dictionary(uniqueKeysWithValues: graph.resources().map { ($0.address, $0) })
        for var record in try store.resources(tenant: t.name) where ["cross_account_role", "runtime_config", "control_plane"].contains(record.address) {
            guard let wanted = desired[record.address] else { continue }
            record.attributes = wanted.attributes
            if record.address == "runtime_config" { record.outputs["sha256"] = sha }
            try store.record(record)
        }
    }

    /// Asks a running data plane to reload its credentials; true when it now uses the new ones.
    func switchDataPlane(_ t: Tenant, accessKeyId: String, externalId: String) throws -> Bool {
        guard RuntimeLauncher(paths: paths).livePid(t.name, "data-plane") != nil,
            let token = FileManager.default.contents(atPath: t.config.dataPlane.internalTokenFile).map({ String(decoding: $0, as: UTF8.self) })
        else { return false }
        let (status, json) = try HTTPCall.request(
            "POST", TenantEndpoints(config: t.config).dataPlane.appendingPathComponent("internal/v1/credentials/reload"), body: nil,
            headers: ["Authorization": "Bearer \(token)"], timeout: 10, caFile: t.config.tls?.caFile)
        guard status == 200, let identity = json as? [String: Any], identity["accessKeyId"] as? String == accessKeyId,
            identity["externalIdSHA256"] as? String == Hex.sha256(externalId)
        else {
            throw KeyError.controlPlane("switch the data plane to the new credentials (both stay valid; re-run to retry)", status, Self.message(json))
        }
        return true
    }
}
