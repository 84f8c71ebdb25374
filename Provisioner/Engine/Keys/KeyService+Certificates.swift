import Foundation
import VPTLocalCloud
import VPTState

/// `vpt keys rotate --certs`.
public struct CertificateRotationReport: Codable, Sendable {
    public var tenant: String
    public var certificates: [TenantPKI.Info]
    public var seconds: Double
}

extension KeyService {
    /// Reissues the planes' certificates under the tenant CA. The servers present the new ones on
    /// the next TLS handshake and the data plane's client on its next poll; connections already
    /// open keep theirs, so no request is dropped.
    public func rotateCertificates(tenant name: String) throws -> CertificateRotationReport {
        let lock = try TenantLock(home: paths.home, tenant: name, purpose: "vpt keys rotate \(name) --certs")
        defer { withExtendedLifetime(lock) {} }
        let began = Date()
        let t = try tenant(name)
        let pki = TenantPKI(paths: paths, tenant: name)
        try pki.ensure()
        let before = Dictionary(uniqueKeysWithValues: pki.inventory().map { ($0.name, $0.serial) })
        try t.audit.append(action: "certificates.rotate.start", target: pki.folder.path, detail: "reissuing \(TenantPKI.Leaf.allCases.map(\.rawValue).joined(separator: ", "))")
        for leaf in TenantPKI.Leaf.allCases { try pki.issue(leaf) }
        let after = pki.inventory()
        try t.audit.append(
            action: "certificates.rotate.complete", target: pki.folder.path,
            detail: after.filter { $0.name != "ca" }.map { "\($0.name) serial \(before[$0.name] ?? "?") -> \($0.serial)" }.joined(separator: "; "))
        return CertificateRotationReport(tenant: name, certificates: after, seconds: Date().timeIntervalSince(began))
    }

    /// The tenant's certificates with their expiry.
    public func certificates(tenant name: String) -> [TenantPKI.Info] {
        TenantPKI(paths: paths, tenant: name).inventory()
    }
}
