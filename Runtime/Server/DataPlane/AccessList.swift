import Foundation
import VPTContract

/// The data plane's copy of the control plane snapshot: who may call and what is applied. Replaced
/// whole by the poller; read by every request.
public final class AccessList: @unchecked Sendable {
    private let lock = NSLock()
    private var snapshot: ControlPlaneSnapshot?
    private var byKeyHash: [String: PrincipalAccess] = [:]
    public let tenant: String

    public init(tenant: String) { self.tenant = tenant }

    public var isLoaded: Bool { lock.withLock { snapshot != nil } }
    public var version: Int64 { lock.withLock { snapshot?.version ?? -1 } }

    public func update(_ new: ControlPlaneSnapshot) {
        var index: [String: PrincipalAccess] = [:]
        for principal in new.principals { for hash in principal.keyHashes { index[hash] = principal } }
        lock.withLock {
            snapshot = new
            byKeyHash = index
        }
    }

    public func repo(_ workspace: String) -> FeatureRepo? { lock.withLock { snapshot?.repos[workspace] } }

    /// The caller of a request, checked against a minimum role on a workspace.
    public func authorize(key: String?, workspace: String, minimum: AccessRole) throws -> PrincipalAccess {
        guard let key else { throw APIError.unauthorized() }
        if let claimed = APIKeyFormat.parse(key)?.tenant, claimed != tenant {
            throw APIError.unauthorized("the API key is not valid for this tenant")
        }
        guard isLoaded else { throw APIError.unavailable("the feature server is starting; access rules are not loaded yet") }
        guard let principal = lock.withLock({ byKeyHash[APIKeyFormat.hash(key)] }) else {
            throw APIError.unauthorized("the API key is not valid (unknown, revoked or expired)")
        }
        guard let held = principal.roles[workspace].flatMap(AccessRole.init(rawValue:)), held >= minimum else {
            throw APIError.forbidden("service account '\(principal.serviceAccount)' needs the \(minimum.rawValue) role (or higher) on workspace '\(workspace)'")
        }
        return principal
    }
}
