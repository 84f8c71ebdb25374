import Crypto
import Foundation
import VPTContract

/// The local IAM registry: roles with trust policies and permissions, and workload access keys.
public struct LocalIAM: Sendable {
    public let accountsRoot: URL
    public init(accountsRoot: URL) { self.accountsRoot = accountsRoot }

    func roleFile(account: String, name: String) -> URL {
        accountsRoot.appendingPathComponent("\(account)/global/iam/roles/\(name).json")
    }

    /// Creates or replaces a role, keeping access keys it already has.
    public func putRole(_ role: IAMRole) throws {
        var role = role
        if let existing = try self.role(account: role.account, name: role.name) {
            role.accessKeys = existing.accessKeys
            role.createdAt = existing.createdAt
        }
        try SecureFiles.writeJSON(role, to: roleFile(account: role.account, name: role.name))
    }

    public func role(account: String, name: String) throws -> IAMRole? {
        try SecureFiles.readJSON(IAMRole.self, from: roleFile(account: account, name: name))
    }

    public func deleteRole(account: String, name: String) throws {
        let url = roleFile(account: account, name: name)
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
    }

    /// Issues a new access key for a role; the secret is returned once and only its hash is kept.
    /// The key id embeds the account so a caller can be resolved without a global index.
    public func createAccessKey(account: String, roleName: String, now: Date = Date()) throws -> AccessKeyCredential {
        guard var role = try role(account: account, name: roleName) else {
            throw STSError.accessDenied("role \(IAMRole.arn(account: account, name: roleName)) does not exist")
        }
        let credential = AccessKeyCredential(
            accessKeyId: "LKIA\(account)\(RandomText.upperAlphanumeric(8))", secretAccessKey: RandomText.base64url(bytes: 30))
        role.accessKeys.append(
            AccessKeyRecord(accessKeyId: credential.accessKeyId, secretSHA256: RandomText.sha256Hex(credential.secretAccessKey), createdAt: now))
        try SecureFiles.writeJSON(role, to: roleFile(account: account, name: roleName))
        return credential
    }

    /// Removes an access key (the old one after a rotation).
    public func deleteAccessKey(account: String, roleName: String, accessKeyId: String) throws {
        guard var role = try role(account: account, name: roleName) else { return }
        role.accessKeys.removeAll { $0.accessKeyId == accessKeyId }
        try SecureFiles.writeJSON(role, to: roleFile(account: account, name: roleName))
    }

    /// The role that owns an access key, if the secret matches.
    public func authenticate(_ credential: AccessKeyCredential) throws -> IAMRole? {
        let id = credential.accessKeyId
        guard id.hasPrefix("LKIA"), id.count == 24 else { return nil }
        let account = String(id.dropFirst(4).prefix(12))
        let dir = accountsRoot.appendingPathComponent("\(account)/global/iam/roles")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        let hash = RandomText.sha256Hex(credential.secretAccessKey)
        for name in names where name.hasSuffix(".json") {
            guard let role = try SecureFiles.readJSON(IAMRole.self, from: dir.appendingPathComponent(name)) else { continue }
            if role.accessKeys.contains(where: { $0.accessKeyId == id && $0.secretSHA256 == hash }) { return role }
        }
        return nil
    }
}

/// Random identifiers and secrets, from the system's CSPRNG.
public enum RandomText {
    public static func upperAlphanumeric(_ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var generator = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
    }

    public static func base64url(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return base64url(Data(bytes))
    }

    public static func base64url(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func decodeBase64url(_ text: String) -> Data? {
        var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        return Data(base64Encoded: s)
    }

    public static func sha256Hex(_ text: String) -> String { Hex.sha256(text) }

    /// Lowercase hex of random bytes.
    public static func hex(bytes count: Int) -> String { Hex.random(bytes: count) }
}
