import Foundation

/// Where a KMS key lives: account, region and key id; its ARN is the stable name.
public struct KMSKeyRef: Codable, Sendable, Hashable, CustomStringConvertible {
    public var account: String
    public var region: String
    public var keyId: String
    public init(account: String, region: String, keyId: String) {
        self.account = account
        self.region = region
        self.keyId = keyId
    }
    public var arn: String { "arn:aws:kms:\(region):\(account):key/\(keyId)" }
    public var description: String { arn }

    /// Parses `arn:aws:kms:REGION:ACCOUNT:key/ID`.
    public init?(arn: String) {
        let parts = arn.split(separator: ":", maxSplits: 5).map(String.init)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "kms", parts[5].hasPrefix("key/") else { return nil }
        self.init(account: parts[4], region: parts[3], keyId: String(parts[5].dropFirst(4)))
    }
}

/// Lifecycle of a key, as in AWS KMS.
public enum KMSKeyState: String, Codable, Sendable {
    case enabled = "Enabled"
    case disabled = "Disabled"
    case pendingDeletion = "PendingDeletion"
}

/// One generation of key material, stored wrapped under the fleet master key.
public struct KMSKeyVersion: Codable, Sendable, Equatable {
    public var version: UInt32
    public var createdAt: Date
    /// AES-GCM of the 32-byte material under the master key (combined nonce|ciphertext|tag), base64.
    public var wrappedMaterial: String
    /// A disabled version still decrypts nothing new; it is kept until no data refers to it.
    public var enabled: Bool
}

/// A customer master key of the local KMS, as stored on disk (never holds plaintext material).
public struct KMSKey: Codable, Sendable, Equatable {
    public var ref: KMSKeyRef
    public var description: String
    public var state: KMSKeyState
    public var createdAt: Date
    public var rotationDays: Int
    /// Principal ARNs granted use of the key besides the owning account's root.
    public var grantees: [String]
    public var primaryVersion: UInt32
    public var versions: [KMSKeyVersion]
    public var deletionDate: Date?

    /// Date the primary version was created: the key's age for rotation.
    public var primaryCreatedAt: Date {
        versions.first { $0.version == primaryVersion }?.createdAt ?? createdAt
    }
}
