import Foundation
import VPTMetadata

/// `vpt keys status`: every key and credential of a tenant, with ages; never a secret.
public struct KeyStatusReport: Codable, Sendable {
    public struct CMKVersion: Codable, Sendable {
        public var version: UInt32
        public var createdAt: Date
        public var enabled: Bool
        public var primary: Bool
        /// Metadata data keys this version wraps.
        public var dataKeys: Int
    }

    public struct CMK: Codable, Sendable {
        public var arn: String
        public var managedBy: String
        public var state: String
        public var rotationDays: Int
        public var ageDays: Double
        public var rotationDue: Bool
        public var versions: [CMKVersion]
        public var rotationInProgress: Bool
    }

    public struct APIKey: Codable, Sendable {
        public var id: String
        public var serviceAccount: String
        public var createdAt: String
        public var expiresAt: String?
        public var revokedAt: String?
        public var lastUsedAt: String?
        public var state: String
    }

    public struct Credential: Codable, Sendable {
        public var name: String
        public var id: String
        public var createdAt: Date?
        public var ageDays: Double?
        public var detail: String
    }

    public var tenant: String
    public var cmk: CMK
    public var dataKeys: [DataKeyInfo]
    public var metadataRecords: Int
    /// Nil when the control plane could not be asked (not running).
    public var apiKeys: [APIKey]?
    public var apiKeysProblem: String?
    public var credentials: [Credential]
    public var certificates: [CertificateStatus]

    public struct CertificateStatus: Codable, Sendable {
        public var name: String
        public var serial: String
        public var notValidAfter: Date
        public var daysLeft: Double
        public var file: String
    }
}

/// `vpt keys rotate --cmk`.
public struct CMKRotationReport: Codable, Sendable {
    public var tenant: String
    public var previousVersion: UInt32
    public var newVersion: UInt32
    public var resumed: Bool
    public var dataKeysRewrapped: Int
    public var recordsReencrypted: Int?
    public var bytesReencrypted: Int?
    public var versionsDisabled: [UInt32]
    public var seconds: Double
}

/// `vpt keys rotate --api-key`.
public struct APIKeyRotationReport: Codable, Sendable {
    public var tenant: String
    public var serviceAccount: String
    public var id: String
    /// The new key: shown once, by the CLI only.
    public var key: String
    public var retired: [String]
    public var graceEndsAt: Date
}
