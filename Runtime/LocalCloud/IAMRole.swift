import Foundation

/// A role of the local IAM registry, stored in `accounts/<account>/global/iam/roles/<name>.json`.
public struct IAMRole: Codable, Sendable, Equatable {
    public var account: String
    public var name: String
    /// Who may assume the role, and with which external IDs (empty: no external ID condition).
    public var trust: RoleTrust?
    public var maxSessionSeconds: Int
    public var permissions: [IAMPermission]
    /// Long-lived workload credentials of the role (vendor service identities); hashes only.
    public var accessKeys: [AccessKeyRecord]
    public var tags: [String: String]
    public var createdAt: Date

    public init(
        account: String, name: String, trust: RoleTrust? = nil, maxSessionSeconds: Int = 3600,
        permissions: [IAMPermission] = [], tags: [String: String] = [:], createdAt: Date = Date()
    ) {
        self.account = account
        self.name = name
        self.trust = trust
        self.maxSessionSeconds = maxSessionSeconds
        self.permissions = permissions
        self.accessKeys = []
        self.tags = tags
        self.createdAt = createdAt
    }

    public var arn: String { Self.arn(account: account, name: name) }
    public static func arn(account: String, name: String) -> String { "arn:aws:iam::\(account):role/\(name)" }

    /// Splits `arn:aws:iam::ACCOUNT:role/NAME`.
    public static func parse(arn: String) -> (account: String, name: String)? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "iam", parts[5].hasPrefix("role/") else { return nil }
        return (parts[4], String(parts[5].dropFirst(5)))
    }
}

/// A role's trust policy: principals allowed to assume it and the `sts:ExternalId` values accepted.
public struct RoleTrust: Codable, Sendable, Equatable {
    public var principalArns: [String]
    public var externalIds: [String]
    public init(principalArns: [String], externalIds: [String]) {
        self.principalArns = principalArns
        self.externalIds = externalIds
    }
}

/// Actions allowed on resources; a resource ending in `*` matches by prefix.
public struct IAMPermission: Codable, Sendable, Equatable {
    public var actions: [String]
    public var resources: [String]
    public init(actions: [String], resources: [String]) {
        self.actions = actions
        self.resources = resources
    }

    func allows(_ action: String, on resource: String) -> Bool {
        actions.contains(action)
            && resources.contains { $0 == resource || ($0.hasSuffix("*") && resource.hasPrefix(String($0.dropLast()))) }
    }
}

/// A stored access key: its id and the SHA-256 of its secret, never the secret itself.
public struct AccessKeyRecord: Codable, Sendable, Equatable {
    public var accessKeyId: String
    public var secretSHA256: String
    public var createdAt: Date
}

/// A long-lived access key as handed to a workload once (the secret is not stored anywhere else).
public struct AccessKeyCredential: Codable, Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public init(accessKeyId: String, secretAccessKey: String) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
    }
}

/// Temporary credentials issued by AssumeRole.
public struct SessionCredential: Codable, Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String
    public var expiration: Date
}

/// The identity behind a valid session.
public struct AssumedRole: Sendable, Equatable {
    public var account: String
    public var roleName: String
    public var sessionName: String
    public var expiration: Date
    public var arn: String { "arn:aws:sts::\(account):assumed-role/\(roleName)/\(sessionName)" }
}
