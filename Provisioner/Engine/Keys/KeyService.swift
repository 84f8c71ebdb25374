import Foundation
import VPTContract
import VPTLocalCloud
import VPTMetadata
import VPTModel
import VPTState

/// Why a key operation could not run; each names what to do.
public enum KeyError: Error, CustomStringConvertible, Equatable {
    case notProvisioned(String)
    case noCMK(String)
    case controlPlane(String, Int, String)
    case unknownServiceAccount(String)

    public var description: String {
        switch self {
        case .notProvisioned(let tenant): "tenant '\(tenant)' has no runtime config; run `vpt provision tenant \(tenant)` first"
        case .noCMK(let tenant): "tenant '\(tenant)' has no CMK recorded; run `vpt provision tenant \(tenant)` first"
        case .controlPlane(let what, let status, let message):
            "the control plane refused to \(what) (HTTP \(status)): \(message); is the runtime up (`vpt tenant start`)?"
        case .unknownServiceAccount(let name): "service account '\(name)' does not exist in this tenant"
        }
    }
}

/// `vpt keys`: status, rotation and revocation of a tenant's CMK and API keys, each event
/// written to the tenant's audit log.
public struct KeyService: Sendable {
    public let paths: FleetPaths
    public let store: StateStore
    let kms: LocalKMS

    public init(home: URL) throws {
        (paths, store) = try Fleet.open(home: home)
        kms = try LocalKMS(home: paths.home)
    }

    /// What every operation needs about a tenant.
    struct Tenant {
        var name: String
        var spec: TenantSpec
        var config: RuntimeConfig
        var cmk: KMSKeyRef
        var audit: AuditLog
        var database: URL
        var rootCaller: String { "arn:aws:iam::\(cmk.account):root" }
    }

    func tenant(_ name: String) throws -> Tenant {
        guard let record = try store.tenant(name) else { throw FleetError.unknownTenant(name) }
        let spec = try record.spec()
        guard let config = try? JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: paths.runtimeConfig(name))) else {
            throw KeyError.notProvisioned(name)
        }
        guard let cmk = KMSKeyRef(arn: config.controlPlane.cmkArn) else { throw KeyError.noCMK(name) }
        let vendor = try store.values(tenant: name)["vendorAccountId"] ?? "unknown"
        return Tenant(
            name: name, spec: spec, config: config, cmk: cmk,
            audit: AuditLog(accountsRoot: paths.accounts, vendorAccount: vendor, region: spec.vendorAccount.region, tenant: name),
            database: URL(fileURLWithPath: config.controlPlane.dataDirectory).appendingPathComponent("metadata.sqlite"))
    }

    func maintenance(_ t: Tenant) -> MetadataKeyMaintenance {
        MetadataKeyMaintenance(database: t.database, tenant: t.name, cmk: t.cmk, kms: kms, caller: t.rootCaller)
    }

    /// Marks a CMK rotation under way, so that a re-run after a crash resumes it instead of adding
    /// another version.
    struct RotationMarker: Codable {
        var targetVersion: UInt32
        var previousVersion: UInt32
        var reencrypt: Bool
    }

    func markerURL(_ tenant: String) -> URL { paths.tenant(tenant).appendingPathComponent("keys/cmk-rotation.json") }

    // MARK: CMK

    /// Adds a CMK version and re-wraps every data key under it (`reencrypt`: also seals every
    /// record again under a new data key); then disables the versions nothing refers to any more.
    public func rotateCMK(tenant name: String, reencrypt: Bool) throws -> CMKRotationReport {
        let lock = try TenantLock(home: paths.home, tenant: name, purpose: "vpt keys rotate \(name) --cmk")
        defer { withExtendedLifetime(lock) {} }
        let began = Date()
        let t = try tenant(name)
        guard let before = try kms.describe(t.cmk) else { throw KeyError.noCMK(name) }
        let markerFile = markerURL(name)
        var marker = try SecureFiles.readJSON(RotationMarker.self, from: markerFile)
        let resumed = marker != nil && marker?.targetVersion == before.primaryVersion
        if !resumed {
            try t.audit.append(action: "cmk.rotate.start", target: t.cmk.arn, detail: "from version \(before.primaryVersion)\(reencrypt ? ", re-encrypting" : "")")
            let version = try kms.rotate(t.cmk)
            FaultInjection.hit("cmk-rotate.after-version")
            marker = RotationMarker(targetVersion: version, previousVersion: before.primaryVersion, reencrypt: reencrypt)
            try SecureFiles.makeDirectory(markerFile.deletingLastPathComponent())
            try SecureFiles.writeJSON(marker!, to: markerFile)
        }
        let target = marker!.targetVersion
        let work = maintenance(t)
        let rewrapped = try work.rewrap(primary: target)
        var reencrypted: (records: Int, bytes: Int)?
        if reencrypt || marker!.reencrypt { reencrypted = try work.reencrypt() }
        FaultInjection.hit("cmk-rotate.before-disable")
        let disabled = try disableUnreferencedVersions(t)
        try? FileManager.default.removeItem(at: markerFile)
        try t.audit.append(
            action: "cmk.rotate.complete", target: t.cmk.arn,
            detail: "version \(target); \(rewrapped) data keys re-wrapped"
                + (reencrypted.map { ", \($0.records) records re-encrypted" } ?? "")
                + (disabled.isEmpty ? "" : "; disabled versions \(disabled.map(String.init).joined(separator: ", "))"))
        return CMKRotationReport(
            tenant: name, previousVersion: marker!.previousVersion, newVersion: target, resumed: resumed, dataKeysRewrapped: rewrapped,
            recordsReencrypted: reencrypted?.records, bytesReencrypted: reencrypted?.bytes, versionsDisabled: disabled,
            seconds: Date().timeIntervalSince(began))
    }

    /// Disables every enabled non-primary version that wraps no data key.
    func disableUnreferencedVersions(_ t: Tenant) throws -> [UInt32] {
        guard let key = try kms.describe(t.cmk) else { return [] }
        let referenced = Set(try maintenance(t).dataKeys().map(\.cmkVersion))
        var disabled: [UInt32] = []
        for version in key.versions where version.enabled && version.version != key.primaryVersion && !referenced.contains(version.version) {
            try kms.setVersionEnabled(t.cmk, version: version.version, enabled: false)
            disabled.append(version.version)
        }
        return disabled
    }

    /// Rotates every tenant's CMK whose primary version is at least `rotationDays` old, and
    /// finishes any rotation a crash interrupted (for cron).
    public func rotateDue(now: Date = Date()) throws -> [CMKRotationReport] {
        var reports: [CMKRotationReport] = []
        for record in try store.tenants() {
            guard let t = try? tenant(record.name), let key = try kms.describe(t.cmk), key.state == .enabled else { continue }
            let age = now.timeIntervalSince(key.primaryCreatedAt) / 86_400
            let interrupted = FileManager.default.fileExists(atPath: markerURL(record.name).path)
            if interrupted || age >= Double(t.spec.encryption.cmk.rotationDays) {
                reports.append(try rotateCMK(tenant: record.name, reencrypt: false))
            }
        }
        return reports
    }

    /// Disables the CMK (the customer pulling the key): the tenant's runtime stops serving its
    /// encrypted metadata within a second; other tenants are unaffected.
    public func revokeCMK(tenant name: String) throws {
        let t = try tenant(name)
        try kms.setEnabled(t.cmk, false)
        try t.audit.append(action: "cmk.revoke", target: t.cmk.arn, detail: "key disabled; metadata unreadable until enabled")
    }

    /// Enables the CMK again; the runtime unwraps its data keys and serves again.
    public func enableCMK(tenant name: String) throws {
        let t = try tenant(name)
        try kms.setEnabled(t.cmk, true)
        try t.audit.append(action: "cmk.enable", target: t.cmk.arn, detail: "key enabled")
    }

    // MARK: API keys

    func controlPlane(_ t: Tenant, _ method: String, _ path: String, body: Any? = nil) throws -> (Int, Any?) {
        do {
            let (status, data) = try ControlPlaneClient(paths: paths, store: store).exchange(t.name, method, path, body: body, timeout: 5)
            return (status, try? JSONSerialization.jsonObject(with: data))
        } catch ControlPlaneError.notProvisioned(let tenant) {
            throw KeyError.notProvisioned(tenant)
        } catch {
            throw KeyError.controlPlane("answer \(method) \(path)", 0, "\(error)")
        }
    }

    static func message(_ json: Any?) -> String { ((json as? [String: Any])?["message"] as? String) ?? "no message" }

    /// Issues a new key for a service account and ends its other live keys after `grace` seconds
    /// (they keep working until then, so clients can switch without a failed request).
    public func rotateAPIKey(tenant name: String, serviceAccount: String, grace: TimeInterval) throws -> APIKeyRotationReport {
        let t = try tenant(name)
        let (listStatus, listed) = try controlPlane(t, "GET", "/v1/api-keys")
        guard listStatus == 200, let keys = (listed as? [String: Any])?["apiKeys"] as? [[String: Any]] else {
            throw KeyError.controlPlane("list API keys", listStatus, Self.message(listed))
        }
        let (status, created) = try controlPlane(t, "POST", "/v1/service-accounts/\(serviceAccount)/api-keys")
        if status == 404 { throw KeyError.unknownServiceAccount(serviceAccount) }
        guard status == 201, let id = (created as? [String: Any])?["id"] as? String, let key = (created as? [String: Any])?["key"] as? String else {
            throw KeyError.controlPlane("issue an API key", status, Self.message(created))
        }
        let graceEnds = Date().addingTimeInterval(grace)
        let stamp = ISO8601DateFormatter().string(from: graceEnds)
        var retired: [String] = []
        for old in keys where old["serviceAccount"] as? String == serviceAccount && old["revokedAt"] == nil {
            guard let oldId = old["id"] as? String else { continue }
            if let expires = (old["expiresAt"] as? String).flatMap(ISO8601DateFormatter().date(from:)), expires <= Date() { continue }
            let (patched, body) = try controlPlane(t, "PATCH", "/v1/api-keys/\(oldId)", body: ["expiresAt": stamp])
            guard patched == 204 else { throw KeyError.controlPlane("set the grace window of \(oldId)", patched, Self.message(body)) }
            retired.append(oldId)
        }
        try t.audit.append(
            action: "api-key.rotate", target: "service-account/\(serviceAccount)",
            detail: "issued \(id); \(retired.isEmpty ? "no older key" : "retiring \(retired.joined(separator: ", ")) at \(stamp)")")
        return APIKeyRotationReport(tenant: name, serviceAccount: serviceAccount, id: id, key: key, retired: retired, graceEndsAt: graceEnds)
    }

    /// Ends a key at once; the feature server rejects it within two seconds.
    public func revokeAPIKey(tenant name: String, id: String) throws {
        let t = try tenant(name)
        let (status, body) = try controlPlane(t, "DELETE", "/v1/api-keys/\(id)")
        guard status == 204 else { throw KeyError.controlPlane("revoke API key \(id)", status, Self.message(body)) }
        try t.audit.append(action: "api-key.revoke", target: "api-key/\(id)", detail: "revoked")
    }

    // MARK: Status and audit

    public func status(tenant name: String) throws -> KeyStatusReport {
        let t = try tenant(name)
        guard let key = try kms.describe(t.cmk) else { throw KeyError.noCMK(name) }
        let work = maintenance(t)
        let dataKeys = (try? work.dataKeys()) ?? []
        let age = Date().timeIntervalSince(key.primaryCreatedAt) / 86_400
        let rotationDays = t.spec.encryption.cmk.rotationDays
        let cmk = KeyStatusReport.CMK(
            arn: t.cmk.arn, managedBy: t.spec.encryption.cmk.managedBy.rawValue, state: key.state.rawValue, rotationDays: rotationDays,
            ageDays: (age * 10).rounded() / 10, rotationDue: age >= Double(rotationDays),
            versions: key.versions.map { v in
                KeyStatusReport.CMKVersion(
                    version: v.version, createdAt: v.createdAt, enabled: v.enabled, primary: v.version == key.primaryVersion,
                    dataKeys: dataKeys.filter { $0.cmkVersion == v.version }.count)
            },
            rotationInProgress: FileManager.default.fileExists(atPath: markerURL(name).path))
        var apiKeys: [KeyStatusReport.APIKey]?
        var problem: String?
        do {
            let (status, listed) = try controlPlane(t, "GET", "/v1/api-keys")
            guard status == 200, let keys = (listed as? [String: Any])?["apiKeys"] as? [[String: Any]] else {
                throw KeyError.controlPlane("list API keys", status, Self.message(listed))
            }
            let usage = lastUsed(t)
            let now = Date()
            apiKeys = keys.map { k in
                let expires = (k["expiresAt"] as? String).flatMap(ISO8601DateFormatter().date(from:))
                let state = k["revokedAt"] != nil ? "revoked" : (expires.map { $0 <= now } ?? false) ? "expired" : expires != nil ? "expiring" : "active"
                return KeyStatusReport.APIKey(
                    id: k["id"] as? String ?? "?", serviceAccount: k["serviceAccount"] as? String ?? "?", createdAt: k["createdAt"] as? String ?? "",
                    expiresAt: k["expiresAt"] as? String, revokedAt: k["revokedAt"] as? String,
                    lastUsedAt: (k["fingerprint"] as? String).flatMap { usage[$0] }, state: state)
            }
        } catch {
            problem = "\(error)"
        }
        var credentials: [KeyStatusReport.Credential] = []
        if let caller = try? SecureFiles.readJSON(AccessKeyCredential.self, from: URL(fileURLWithPath: t.config.crossAccount.callerCredentialFile)),
            let role = IAMRole.parse(arn: t.config.dataPlane.roleArn),
            let record = try? LocalIAM(accountsRoot: paths.accounts).role(account: role.account, name: role.name)?.accessKeys.first(where: { $0.accessKeyId == caller.accessKeyId })
        {
            credentials.append(
                KeyStatusReport.Credential(
                    name: "data plane access key", id: caller.accessKeyId, createdAt: record.createdAt,
                    ageDays: (Date().timeIntervalSince(record.createdAt) / 86_400 * 10).rounded() / 10,
                    detail: "assumes \(t.config.crossAccount.roleArn) with the external ID (sessions of \(t.config.crossAccount.sessionSeconds) s)"))
        }
        return KeyStatusReport(
            tenant: name, cmk: cmk, dataKeys: dataKeys, metadataRecords: (try? work.recordCount()) ?? 0, apiKeys: apiKeys,
            apiKeysProblem: problem, credentials: credentials,
            certificates: certificates(tenant: name).map { c in
                KeyStatusReport.CertificateStatus(
                    name: c.name, serial: c.serial, notValidAfter: c.notValidAfter,
                    daysLeft: (c.notValidAfter.timeIntervalSinceNow / 86_400 * 10).rounded() / 10, file: c.file)
            })
    }

    /// Last use of each key by fingerprint, as the data plane saw it (empty if it is not running).
    func lastUsed(_ t: Tenant) -> [String: String] {
        guard let token = FileManager.default.contents(atPath: t.config.dataPlane.internalTokenFile).map({ String(decoding: $0, as: UTF8.self) }),
            let (status, json) = try? HTTPCall.request(
                "GET", TenantEndpoints(config: t.config).dataPlane.appendingPathComponent("internal/v1/key-usage"), body: nil,
                headers: ["Authorization": "Bearer \(token)"], timeout: 3, caFile: t.config.tls?.caFile),
            status == 200
        else { return [:] }
        return (json as? [String: Any])?["lastUsed"] as? [String: String] ?? [:]
    }

    public func audit(tenant name: String) throws -> (entries: [AuditEntry], brokenAt: Int?) {
        try tenant(name).audit.read()
    }
}
