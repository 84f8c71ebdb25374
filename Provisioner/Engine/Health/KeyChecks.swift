import Foundation
import VPTLocalCloud

/// Key age against the rotation period, and credentials that expire soon.
enum KeyChecks {
    static let all = [cmkAge, expiry]
    static let expiryWarnDays = 14.0

    static let cmkAge = HealthCheck(
        id: "keys.cmk-age", title: "CMK age against rotationDays",
        threshold: "primary key version younger than rotationDays (warn 14 days before; fail 30 days after)", onTimeout: .unknown,
        remedyOnTimeout: "reading the key took too long"
    ) { probe in
        guard let config = probe.config, let ref = KMSKeyRef(arn: config.controlPlane.cmkArn), let kms = probe.kms else {
            return Verdict(status: .unknown, observed: probe.configProblem ?? "no CMK recorded", remedy: "re-run `vpt provision tenant \(probe.name)`")
        }
        guard let key = try kms.describe(ref) else {
            return Verdict(status: .fail, observed: "key \(ref.keyId) does not exist", remedy: "the CMK is gone: its data cannot be decrypted; restore the key")
        }
        guard key.state == .enabled else {
            return Verdict(status: .fail, observed: "key \(ref.keyId) is \(key.state.rawValue)", remedy: "the tenant's metadata cannot be decrypted until the key is enabled again")
        }
        let days = Date().timeIntervalSince(key.primaryCreatedAt) / 86_400
        let rotation = Double(probe.spec?.encryption.cmk.rotationDays ?? key.rotationDays)
        let observed = String(format: "version %u is %.0f days old; rotation every %.0f days", key.primaryVersion, days, rotation)
        if days >= rotation + 30 {
            return Verdict(status: .fail, observed: observed, remedy: "rotation is more than 30 days overdue: rotate the tenant's CMK now")
        }
        if days >= rotation - 14 {
            return Verdict(status: .warn, observed: observed, remedy: "rotation is due: rotate the tenant's CMK (a new key version)")
        }
        return .ok(observed)
    }

    /// Live API keys that expire within 14 days (read from the control plane with the tenant's
    /// admin key) and certificates in `tenants/NAME/tls/`.
    static let expiry = HealthCheck(
        id: "keys.expiry", title: "API keys and certificates expiring soon",
        threshold: "no live API key or certificate expires within 14 days", onTimeout: .unknown,
        remedyOnTimeout: "the control plane did not list the API keys in time"
    ) { probe in
        guard probe.runtimeEnabled, let url = probe.controlPlaneURL else {
            return Verdict(status: .unknown, observed: "no running control plane to list API keys", remedy: "start the tenant's runtime")
        }
        guard let admin = probe.secret(probe.paths.adminKey(probe.name)) else {
            return Verdict(status: .unknown, observed: "the tenant admin key is missing", remedy: "re-run `vpt provision tenant \(probe.name)`")
        }
        let (status, body) = try probe.http("GET", url.appendingPathComponent("v1/api-keys"), key: admin)
        guard status == 200, let keys = (body as? [String: Any])?["apiKeys"] as? [[String: Any]] else {
            return Verdict(status: .unknown, observed: "listing API keys answered \(status)", remedy: "see the control plane log")
        }
        let parser = ISO8601DateFormatter()
        let now = Date()
        var live = 0
        var soon: [String] = []
        for key in keys where key["revokedAt"] == nil {
            let expires = (key["expiresAt"] as? String).flatMap(parser.date(from:))
            if let expires, expires <= now { continue }
            live += 1
            if let expires, expires.timeIntervalSince(now) < expiryWarnDays * 86_400 {
                soon.append("\(key["id"] as? String ?? "?") (\(key["serviceAccount"] as? String ?? "?")) in \(String(format: "%.1f", expires.timeIntervalSince(now) / 86_400)) days")
            }
        }
        let certificates = TenantPKI(paths: probe.paths, tenant: probe.name).inventory()
        for certificate in certificates where certificate.notValidAfter.timeIntervalSince(now) < expiryWarnDays * 86_400 {
            let days = certificate.notValidAfter.timeIntervalSince(now) / 86_400
            soon.append("certificate \(certificate.name) \(days <= 0 ? "expired" : "in \(String(format: "%.1f", days)) days")")
        }
        let certNote = certificates.isEmpty ? "no TLS certificates issued" : "\(certificates.count) certificates, none expiring within 14 days"
        guard soon.isEmpty else {
            return Verdict(status: .warn, observed: "\(soon.count) expire soon (of \(live) live API keys and \(certificates.count) certificates): " + soon.prefix(3).joined(separator: ", "),
                           remedy: "rotate them: `vpt keys rotate \(probe.name) --api-key SERVICE_ACCOUNT` or `--certs`")
        }
        return .ok("\(live) live API keys, none expiring within 14 days; \(certNote)")
    }
}
