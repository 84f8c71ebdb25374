import Foundation
import VPTContract
import VPTMetadata

/// A service account record (metadata).
struct ServiceAccountRecord: Codable {
    var name: String
    var createdAt: Date
    /// Its own serving limit; nil: the tenant's default.
    var rateLimit: RateLimit?
}

/// An API key record (metadata): the hash only, never the key.
struct APIKeyRecord: Codable {
    var id: String
    var serviceAccount: String
    var sha256: String
    var createdAt: Date
    var expiresAt: Date?
    var revokedAt: Date?
}

/// What applying a repository changed.
public struct RepoChange: Codable, Sendable, Equatable {
    public var action: String  // create | update | delete
    public var kind: String
    public var name: String
}

/// The control plane's state, kept in the encrypted metadata store, with the data plane snapshot
/// rebuilt on every change. All mutations go through this actor.
public actor ControlPlaneState {
    private let store: MetadataStore
    private let tenant: String
    private(set) var snapshot: ControlPlaneSnapshot
    /// The earliest future expiry of a live API key when the snapshot was built: once it passes,
    /// the snapshot is rebuilt so that the expired key drops out of the data plane's access list.
    private var nextExpiry: Date?
    private static let global = "-"

    public init(store: MetadataStore, tenant: String, bootstrap: [PrincipalConfig]) throws {
        self.store = store
        self.tenant = tenant
        snapshot = ControlPlaneSnapshot(version: 0, principals: [], repos: [:])
        // Principals from the tenant spec: their service accounts and role bindings exist from the start.
        for principal in bootstrap {
            if try store.get(kind: "service_account", workspace: Self.global, name: principal.serviceAccount) == nil {
                try store.put(
                    kind: "service_account", workspace: Self.global, name: principal.serviceAccount,
                    value: try JSONEncoder().encode(ServiceAccountRecord(name: principal.serviceAccount, createdAt: Date())))
            }
            try store.put(kind: "role_binding", workspace: principal.workspace, name: principal.serviceAccount, value: Data(principal.role.utf8))
        }
        let version = try store.get(kind: "meta", workspace: Self.global, name: "version").flatMap { Int64(String(decoding: $0, as: UTF8.self)) } ?? 0
        (snapshot, nextExpiry) = try Self.build(store, version: version + 1)
        try store.put(kind: "meta", workspace: Self.global, name: "version", value: Data(String(snapshot.version).utf8))
    }

    private func put(_ kind: String, _ workspace: String, _ name: String, _ value: some Encodable) throws {
        try store.put(kind: kind, workspace: workspace, name: name, value: try JSONEncoder().encode(value))
    }

    private func get<T: Decodable>(_ type: T.Type, _ kind: String, _ workspace: String, _ name: String) throws -> T? {
        try store.get(kind: kind, workspace: workspace, name: name).map { try JSONDecoder().decode(type, from: $0) }
    }

    /// A workspace's repository as the current snapshot has it.
    public func snapshotRepo(_ workspace: String) -> FeatureRepo? { snapshot.repos[workspace] }

    /// The snapshot, rebuilt first if an API key expired since it was built.
    public func currentSnapshot() throws -> ControlPlaneSnapshot {
        if let nextExpiry, nextExpiry <= Date() { try changed() }
        return snapshot
    }

    private func changed() throws {
        (snapshot, nextExpiry) = try Self.build(store, version: snapshot.version + 1)
        try store.put(kind: "meta", workspace: Self.global, name: "version", value: Data(String(snapshot.version).utf8))
    }

    /// The snapshot, and the earliest future expiry among live keys (when it must be rebuilt).
    static func build(_ store: MetadataStore, version: Int64) throws -> (ControlPlaneSnapshot, nextExpiry: Date?) {
        let decoder = JSONDecoder()
        let records = try store.list(kind: "service_account", workspace: global).map { try decoder.decode(ServiceAccountRecord.self, from: $0.value) }
        let accounts = records.map(\.name)
        let keys = try store.list(kind: "api_key", workspace: global).map { try decoder.decode(APIKeyRecord.self, from: $0.value) }
        let workspaces = try store.list(kind: "workspace", workspace: global).map(\.name)
        var repos: [String: FeatureRepo] = [:]
        var roles: [String: [String: String]] = [:]
        for workspace in workspaces {
            if let data = try store.get(kind: "repo", workspace: workspace, name: "repo") {
                repos[workspace] = try decoder.decode(FeatureRepo.self, from: data)
            }
        }
        // Role bindings may name workspaces that have no repository yet; list them via each account.
        for account in accounts {
            for workspace in Set(workspaces + (try store.workspaces(kind: "role_binding", name: account))) {
                if let role = try store.get(kind: "role_binding", workspace: workspace, name: account) {
                    roles[account, default: [:]][workspace] = String(decoding: role, as: UTF8.self)
                }
            }
        }
        let now = Date()
        let principals = records.map { record in
            let account = record.name
            return PrincipalAccess(
                serviceAccount: account,
                keyHashes: keys.filter { $0.serviceAccount == account && $0.revokedAt == nil && ($0.expiresAt.map { $0 > now } ?? true) }
                    .map(\.sha256).sorted(),
                roles: roles[account] ?? [:], rateLimit: record.rateLimit)
        }
        let nextExpiry = keys.compactMap { $0.revokedAt == nil ? $0.expiresAt : nil }.filter { $0 > now }.min()
        return (ControlPlaneSnapshot(version: version, principals: principals, repos: repos), nextExpiry)
    }

    // MARK: Queries

    public func repo(_ workspace: String) throws -> FeatureRepo? {
        try get(FeatureRepo.self, "repo", workspace, "repo")
    }

    /// The principal holding this key, if the key is live.
    public func principal(forKeyHash hash: String) -> PrincipalAccess? {
        snapshot.principals.first { $0.keyHashes.contains(hash) }
    }

    public func serviceAccounts() throws -> [String] {
        try store.list(kind: "service_account", workspace: Self.global).map(\.name)
    }

    func apiKeys() throws -> [APIKeyRecord] {
        try store.list(kind: "api_key", workspace: Self.global).map { try JSONDecoder().decode(APIKeyRecord.self, from: $0.value) }
    }

    // MARK: Mutations

    /// Applies a repository to a workspace (or only diffs it with `dryRun`).
    public func apply(_ repo: FeatureRepo, workspace: String, dryRun: Bool) throws -> [RepoChange] {
        let problems = repo.problems()
        guard problems.isEmpty else { throw APIError.badRequest(problems.joined(separator: "; ")) }
        let current = try self.repo(workspace) ?? FeatureRepo()
        var changes: [RepoChange] = []
        func diff<T: Equatable>(_ kind: String, _ old: [T], _ new: [T], _ name: (T) -> String) {
            for item in new {
                if let before = old.first(where: { name($0) == name(item) }) {
                    if before != item { changes.append(RepoChange(action: "update", kind: kind, name: name(item))) }
                } else {
                    changes.append(RepoChange(action: "create", kind: kind, name: name(item)))
                }
            }
            for item in old where !new.contains(where: { name($0) == name(item) }) {
                changes.append(RepoChange(action: "delete", kind: kind, name: name(item)))
            }
        }
        diff("entity", current.entities, repo.entities, \.name)
        diff("push_source", current.pushSources, repo.pushSources, \.name)
        diff("feature_view", current.featureViews, repo.featureViews, \.name)
        diff("batch_source", current.batchSources, repo.batchSources, \.name)
        diff("batch_feature_view", current.batchFeatureViews, repo.batchFeatureViews, \.name)
        diff("feature_service", current.featureServices, repo.featureServices, \.name)
        if !dryRun, !changes.isEmpty {
            try put("repo", workspace, "repo", repo)
            try store.put(kind: "workspace", workspace: Self.global, name: workspace, value: Data())
            try changed()
        }
        return changes
    }

    public func createServiceAccount(_ name: String) throws {
        guard NameRules.isDNSLabel(name) else {
            throw APIError.badRequest("name: '\(name)' must be a DNS label of at most 63 characters")
        }
        guard try store.get(kind: "service_account", workspace: Self.global, name: name) == nil else {
            throw APIError(.conflict, "service account '\(name)' already exists")
        }
        try put("service_account", Self.global, name, ServiceAccountRecord(name: name, createdAt: Date()))
        try changed()
    }

    /// Issues a key (returned once); only its hash is stored.
    public func createAPIKey(serviceAccount: String, expiresAt: Date?) throws -> (id: String, key: String) {
        guard try store.get(kind: "service_account", workspace: Self.global, name: serviceAccount) != nil else {
            throw APIError.notFound("service account '\(serviceAccount)' does not exist")
        }
        let (id, key) = APIKeyFormat.generate(tenant: tenant)
        try put("api_key", Self.global, id, APIKeyRecord(id: id, serviceAccount: serviceAccount, sha256: APIKeyFormat.hash(key), createdAt: Date(), expiresAt: expiresAt))
        try changed()
        return (id, key)
    }

    /// Sets when a live key stops working (key rotation's grace window). A key never gets a later
    /// expiry than it had.
    public func setAPIKeyExpiry(id: String, expiresAt: Date) throws {
        guard var record = try get(APIKeyRecord.self, "api_key", Self.global, id) else {
            throw APIError.notFound("API key '\(id)' does not exist")
        }
        guard record.revokedAt == nil else { throw APIError(.conflict, "API key '\(id)' is revoked") }
        record.expiresAt = min(record.expiresAt ?? expiresAt, expiresAt)
        try put("api_key", Self.global, id, record)
        try changed()
    }

    public func revokeAPIKey(id: String) throws {
        guard var record = try get(APIKeyRecord.self, "api_key", Self.global, id) else {
            throw APIError.notFound("API key '\(id)' does not exist")
        }
        record.revokedAt = record.revokedAt ?? Date()
        try put("api_key", Self.global, id, record)
        try changed()
    }

    /// Sets a service account's own serving limit, or with nil returns it to the tenant's default.
    /// The data plane applies it with its next snapshot (within about a second).
    public func setRateLimit(serviceAccount: String, _ limit: RateLimit?) throws {
        guard var record = try get(ServiceAccountRecord.self, "service_account", Self.global, serviceAccount) else {
            throw APIError.notFound("service account '\(serviceAccount)' does not exist")
        }
        if let problems = limit?.problems(at: ""), !problems.isEmpty { throw APIError.badRequest(problems.joined(separator: "; ")) }
        guard record.rateLimit != limit else { return }
        record.rateLimit = limit
        try put("service_account", Self.global, serviceAccount, record)
        try changed()
    }

    public func bindRole(serviceAccount: String, workspace: String, role: AccessRole) throws {
        guard try store.get(kind: "service_account", workspace: Self.global, name: serviceAccount) != nil else {
            throw APIError.notFound("service account '\(serviceAccount)' does not exist")
        }
        try store.put(kind: "role_binding", workspace: workspace, name: serviceAccount, value: Data(role.rawValue.utf8))
        try changed()
    }
}
