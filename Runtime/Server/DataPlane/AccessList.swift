import Foundation
import VPTContract

/// The data plane's copy of the control plane snapshot: who may call and what is applied. Replaced
/// whole by the poller; read by every request.
public final class AccessList: @unchecked Sendable {
    private let lock = NSLock()
    private var snapshot: ControlPlaneSnapshot?
    private var byKeyHash: [String: PrincipalAccess] = [:]
    /// Feature services resolved once per snapshot: workspace → service → plan.
    private var plans: [String: [String: ServingPlan]] = [:]
    /// Why serving is suspended (the control plane reported the tenant's CMK unavailable).
    private var suspension: String?
    /// When each key (by its hash) was last accepted.
    private var used: [String: Date] = [:]
    public let tenant: String

    public init(tenant: String) { self.tenant = tenant }

    public var isLoaded: Bool { lock.withLock { snapshot != nil } }
    public var version: Int64 { lock.withLock { snapshot?.version ?? -1 } }

    public func update(_ new: ControlPlaneSnapshot) {
        var index: [String: PrincipalAccess] = [:]
        for principal in new.principals { for hash in principal.keyHashes { index[hash] = principal } }
        let planned = ServingPlan.plans(for: new.repos)
        lock.withLock {
            snapshot = new
            byKeyHash = index
            plans = planned
            suspension = nil
        }
    }

    /// Stops serving with `reason` until the control plane answers again: the repository and
    /// access rules come from metadata that the tenant's CMK protects (crypto-shredding).
    public func suspend(_ reason: String) {
        lock.withLock {
            suspension = reason
            snapshot = nil
            byKeyHash = [:]
            plans = [:]
        }
    }

    public var suspended: String? { lock.withLock { suspension } }

    /// Last accepted use per key fingerprint (first 12 hex digits of the key's SHA-256).
    public func lastUsed() -> [String: Date] {
        let byHash = lock.withLock { used }
        return Dictionary(byHash.map { (String($0.key.prefix(12)), $0.value) }, uniquingKeysWith: max)
    }

    public func repo(_ workspace: String) -> FeatureRepo? { lock.withLock { snapshot?.repos[workspace] } }

    /// Whether the workspace has a repository, and the plan of one of its feature services.
    func plan(_ workspace: String, _ service: String) -> (hasRepo: Bool, plan: ServingPlan?) {
        lock.withLock { (snapshot?.repos[workspace] != nil, plans[workspace]?[service]) }
    }

    /// The caller of a request, checked against a minimum role on a workspace.
    public func authorize(key: String?, workspace: String, minimum: AccessRole) throws -> PrincipalAccess {
        guard let key else { throw APIError.unauthorized() }
        if let claimed = APIKeyFormat.parse(key)?.tenant, claimed != tenant {
            throw APIError.unauthorized("the API key is not valid for this tenant")
        }
        if let reason = suspended { throw APIError.unavailable(reason) }
        guard isLoaded else { throw APIError.unavailable("the feature server is starting; access rules are not loaded yet") }
        let hash = APIKeyFormat.hash(key)
        let now = Date()
        guard let principal = lock.withLock({ () -> PrincipalAccess? in
            let found = byKeyHash[hash]
            if found != nil { used[hash] = now }
            return found
        }) else {
            throw APIError.unauthorized("the API key is not valid (unknown, revoked or expired)")
        }
        guard let held = principal.roles[workspace].flatMap(AccessRole.init(rawValue:)), held >= minimum else {
            throw APIError.forbidden("service account '\(principal.serviceAccount)' needs the \(minimum.rawValue) role (or higher) on workspace '\(workspace)'")
        }
        return principal
    }
}
