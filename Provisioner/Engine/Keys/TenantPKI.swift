import Crypto
import Foundation
import SwiftASN1
import VPTLocalCloud
import X509

/// A tenant's own certificate authority and the certificates its processes present: the data
/// plane's and the control plane's server certificates (for 127.0.0.1 and localhost) and the data
/// plane's client certificate for the control plane's mutual-TLS port. Kept in `tenants/NAME/tls/`
/// (0700; keys 0600). Leaf certificates live 90 days and are reissued by `vpt keys rotate --certs`;
/// the CA lives five years.
public struct TenantPKI: Sendable {
    public let folder: URL
    public let tenant: String

    public init(paths: FleetPaths, tenant: String) {
        folder = paths.tenant(tenant).appendingPathComponent("tls")
        self.tenant = tenant
    }

    public static let leafDays = 90.0
    public static let caDays = 5 * 365.0

    /// The leaf certificates and what they are for.
    public enum Leaf: String, CaseIterable, Sendable {
        case dataPlane = "data-plane"
        case controlPlane = "control-plane"
        case dataPlaneClient = "data-plane-client"

        var isServer: Bool { self != .dataPlaneClient }
    }

    public var caCertificate: URL { folder.appendingPathComponent("ca.pem") }
    var caKey: URL { folder.appendingPathComponent("ca-key.pem") }
    public func certificate(_ leaf: Leaf) -> URL { folder.appendingPathComponent("\(leaf.rawValue).pem") }
    public func key(_ leaf: Leaf) -> URL { folder.appendingPathComponent("\(leaf.rawValue)-key.pem") }

    /// Creates what is missing (a CA, then each leaf); returns the leaves it issued. Existing files
    /// are kept, so a re-run after a crash completes the set without replacing anything.
    @discardableResult
    public func ensure(now: Date = Date()) throws -> [Leaf] {
        try SecureFiles.makeDirectory(folder)
        let fm = FileManager.default
        if !fm.fileExists(atPath: caCertificate.path) || !fm.fileExists(atPath: caKey.path) {
            let key = P256.Signing.PrivateKey()
            let name = try DistinguishedName {
                OrganizationName("vpt")
                CommonName("vpt tenant \(tenant) CA")
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Self.caDays * 86_400),
                issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                    Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                },
                issuerPrivateKey: .init(key))
            // Key first: a crash between the two writes leaves no certificate without its key.
            try SecureFiles.write(Data(key.pemRepresentation.utf8), to: caKey)
            FaultInjection.hit("certificates.after-ca-key")
            try SecureFiles.write(Data(try certificate.serializeAsPEM().pemString.utf8), to: caCertificate)
        }
        var issued: [Leaf] = []
        for leaf in Leaf.allCases where !fm.fileExists(atPath: certificate(leaf).path) || !fm.fileExists(atPath: key(leaf).path) {
            try issue(leaf, now: now)
            issued.append(leaf)
        }
        return issued
    }

    /// Issues (or reissues) one leaf certificate under the tenant CA. The key and certificate are
    /// written to new files first and renamed over the old ones, certificate last, so a reader
    /// never pairs a new certificate with an old key for long: servers reload on the next connection.
    public func issue(_ leaf: Leaf, now: Date = Date()) throws {
        let caKeyPEM = try String(contentsOf: caKey, encoding: .utf8)  // written without a generation line
        let ca = try Certificate(pemEncoded: try String(contentsOf: caCertificate, encoding: .utf8))
        let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: caKeyPEM)
        let key = P256.Signing.PrivateKey()
        let subject = try DistinguishedName {
            OrganizationName("vpt")
            CommonName("\(leaf.rawValue).\(tenant).vpt.local")
        }
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(Self.leafDays * 86_400),
            issuer: ca.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([leaf.isServer ? .serverAuth : .clientAuth])
                SubjectAlternativeNames([
                    .dnsName("localhost"), .dnsName("\(leaf.rawValue).\(tenant).vpt.local"),
                    .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                ])
            },
            issuerPrivateKey: .init(issuerKey))
        // Both files name the certificate's serial: a server that reads them between the two
        // renames sees a mismatch and keeps its previous pair.
        let generation = "# generation: \(certificate.serialNumber)\n"
        try SecureFiles.write(Data((generation + key.pemRepresentation + "\n").utf8), to: self.key(leaf))
        FaultInjection.hit("certificates.after-leaf-key")
        try SecureFiles.write(Data((generation + (try certificate.serializeAsPEM().pemString) + "\n").utf8), to: self.certificate(leaf))
    }

    /// Subject, serial and expiry of each certificate, for status and health reports.
    public struct Info: Codable, Sendable, Equatable {
        public var name: String
        /// Upper-case hex, as `openssl x509 -serial` prints it.
        public var serial: String
        public var notValidAfter: Date
        public var file: String
    }

    public func inventory() -> [Info] {
        var result: [Info] = []
        for (name, url) in [("ca", caCertificate)] + Leaf.allCases.map({ ($0.rawValue, certificate($0)) }) {
            guard let text = try? String(contentsOf: url, encoding: .utf8),
                let certificate = try? Certificate(pemEncoded: text.split(separator: "\n").filter { !$0.hasPrefix("#") }.joined(separator: "\n"))
            else { continue }
            result.append(
                Info(
                    name: name, serial: certificate.serialNumber.bytes.map { String(format: "%02X", $0) }.joined(),
                    notValidAfter: certificate.notValidAfter, file: url.path))
        }
        return result
    }
}
