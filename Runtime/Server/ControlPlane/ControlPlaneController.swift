import Foundation
import Hummingbird
import VPTContract
import VPTLocalCloud

/// The control plane's HTTP API: feature repositories, service accounts, API keys, role bindings,
/// the data plane's snapshot, a read-only web UI, health and metrics.
public struct ControlPlaneController: Sendable {
    let state: ControlPlaneState
    let adminKeySHA256: String
    let internalTokenSHA256: String
    let metrics: RequestMetrics
    let tenant: String
    /// The spec's `dataPlane.rateLimit`: what accounts without a limit of their own get (shown in the web UI).
    let defaultRateLimit: RateLimit?
    /// The tenant's key audit log: every API key issued, given an expiry or revoked here is recorded.
    let audit: AuditLog?
    /// The Rift scheduler; nil when the process runs without one (then the job routes answer 409).
    let scheduler: JobScheduler?

    public init(
        state: ControlPlaneState, tenant: String, adminKeySHA256: String, internalTokenSHA256: String, metrics: RequestMetrics,
        audit: AuditLog? = nil, scheduler: JobScheduler? = nil, defaultRateLimit: RateLimit? = nil
    ) {
        self.scheduler = scheduler
        self.defaultRateLimit = defaultRateLimit
        self.state = state
        self.tenant = tenant
        self.adminKeySHA256 = adminKeySHA256
        self.internalTokenSHA256 = internalTokenSHA256
        self.metrics = metrics
        self.audit = audit
    }

    /// Appends a key event; the operation itself has happened, so a failing log is reported as 500.
    func record(_ action: String, _ target: String, _ detail: String) throws {
        do {
            try audit?.append(action: action, target: target, detail: detail, actor: "tenant admin key, via the control plane (pid \(getpid()))")
        } catch {
            throw APIError(.internalServerError, "the key event happened but could not be written to the audit log: \(error)")
        }
    }

    /// Who is calling: the tenant admin, or a service account with roles.
    enum Caller {
        case admin
        case principal(PrincipalAccess)

        func role(in workspace: String) -> AccessRole? {
            switch self {
            case .admin: .owner
            case .principal(let p): p.roles[workspace].flatMap(AccessRole.init(rawValue:))
            }
        }
    }

    func caller(_ request: Request, allowBasic: Bool = false) async throws -> Caller {
        let basic = allowBasic ? AuthorizationHeader.basicPassword(request) : nil
        guard let key = AuthorizationHeader.tectonKey(request) ?? basic else { throw APIError.unauthorized() }
        let hash = APIKeyFormat.hash(key)
        if hash == adminKeySHA256 { return .admin }
        guard let principal = await state.principal(forKeyHash: hash) else { throw APIError.unauthorized("the API key is not valid for tenant '\(tenant)'") }
        return .principal(principal)
    }

    func require(_ caller: Caller, _ role: AccessRole, on workspace: String) throws {
        guard let held = caller.role(in: workspace), held >= role else {
            throw APIError.forbidden("this API key needs the \(role.rawValue) role (or higher) on workspace '\(workspace)'")
        }
    }

    func requireAdmin(_ caller: Caller) throws {
        guard case .admin = caller else { throw APIError.forbidden("only the tenant admin key may manage principals") }
    }

    func workspace(_ context: some RequestContext) throws -> String {
        let name = try context.parameters.require("workspace")
        guard NameRules.isWorkspaceName(name) else { throw APIError.badRequest("workspace: '\(name)' is not a valid workspace name") }
        return name
    }

    /// The data plane's snapshot: on the mutual-TLS internal listener when the tenant has TLS
    /// (then the client certificate and the token are both required), else beside the public API.
    public func addInternalRoutes(to router: Router<some RequestContext>) {
        router.get("/healthz") { _, _ in "ok" }
        router.get("/internal/v1/snapshot") { request, _ -> Response in
            guard let token = AuthorizationHeader.bearer(request), APIKeyFormat.hash(token) == internalTokenSHA256 else {
                throw APIError.unauthorized("the data plane token is missing or wrong")
            }
            let snapshot = try await state.currentSnapshot()
            // The data plane polls twice a second; most polls find nothing new.
            if request.uri.queryParameters.get("since").flatMap(Int64.init) == snapshot.version {
                return Response(status: .noContent)
            }
            return try JSONBody.encodable(snapshot)
        }
    }

    public func addRoutes(to router: Router<some RequestContext>) {
        router.get("/healthz") { _, _ in "ok" }
        router.get("/readyz") { _, _ in "ready" }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: metrics.prometheusText())))
        }
        router.post("/v1/workspaces/:workspace/apply") { request, context -> Response in
            let caller = try await caller(request)
            let workspace = try workspace(context)
            try require(caller, .editor, on: workspace)
            let dryRun = request.uri.queryParameters.get("dry_run").map { $0 == "true" || $0 == "1" } ?? false
            let repo = try await JSONBody.decode(FeatureRepo.self, request)
            let changes = try await state.apply(repo, workspace: workspace, dryRun: dryRun)
            return try JSONBody.encodable(ApplyResponse(workspace: workspace, dryRun: dryRun, changes: changes))
        }
        router.get("/v1/workspaces/:workspace/repo") { request, context -> Response in
            let caller = try await caller(request)
            let workspace = try workspace(context)
            try require(caller, .viewer, on: workspace)
            guard let repo = try await state.repo(workspace) else { throw APIError.notFound("workspace '\(workspace)' has no feature repository") }
            return try JSONBody.encodable(repo)
        }
        router.post("/v1/service-accounts") { request, _ -> Response in
            try requireAdmin(try await caller(request))
            let body = try await JSONBody.decode(NameBody.self, request)
            try await state.createServiceAccount(body.name)
            return try JSONBody.encodable(body, status: .created)
        }
        router.get("/v1/service-accounts") { request, _ -> Response in
            try requireAdmin(try await caller(request))
            let principals = try await state.currentSnapshot().principals.sorted { $0.serviceAccount < $1.serviceAccount }
            func json(_ limit: RateLimit) -> [String: Int] { ["requestsPerSecond": limit.requestsPerSecond, "burst": limit.burst] }
            var body: [String: Any] = [
                "serviceAccounts": principals.map { principal in
                    var entry: [String: Any] = ["name": principal.serviceAccount, "roles": principal.roles, "liveAPIKeys": principal.keyHashes.count]
                    if let limit = principal.rateLimit { entry["rateLimit"] = json(limit) }
                    return entry
                }
            ]
            if let defaultRateLimit { body["tenantDefaultRateLimit"] = json(defaultRateLimit) }
            return JSONBody.response(body)
        }
        router.put("/v1/service-accounts/:name/rate-limit") { request, context -> Response in
            try requireAdmin(try await caller(request))
            let body = try await JSONBody.decode(RateLimitBody.self, request)
            try await state.setRateLimit(
                serviceAccount: try context.parameters.require("name"), RateLimit(requestsPerSecond: body.requestsPerSecond, burst: body.burst))
            return Response(status: .noContent)
        }
        router.delete("/v1/service-accounts/:name/rate-limit") { request, context -> Response in
            try requireAdmin(try await caller(request))
            try await state.setRateLimit(serviceAccount: try context.parameters.require("name"), nil)
            return Response(status: .noContent)
        }
        router.post("/v1/service-accounts/:name/api-keys") { request, context -> Response in
            try requireAdmin(try await caller(request))
            let name = try context.parameters.require("name")
            let expires = request.uri.queryParameters.get("ttl_seconds").flatMap(Double.init).map { Date().addingTimeInterval($0) }
            let (id, key) = try await state.createAPIKey(serviceAccount: name, expiresAt: expires)
            try record("api-key.create", "api-key/\(id)", "for service account \(name)" + (expires.map { ", expires \(ISO8601DateFormatter().string(from: $0))" } ?? ""))
            return JSONBody.response(["id": id, "key": key, "serviceAccount": name], status: .created)
        }
        router.get("/v1/api-keys") { request, _ -> Response in
            try requireAdmin(try await caller(request))
            // Metadata only: the hash never leaves the control plane (a 12-digit fingerprint does).
            let formatter = ISO8601DateFormatter()
            let keys = try await state.apiKeys().sorted { ($0.serviceAccount, $0.createdAt) < ($1.serviceAccount, $1.createdAt) }
            let list: [[String: Any]] = keys.map { key in
                var entry: [String: Any] = [
                    "id": key.id, "serviceAccount": key.serviceAccount, "createdAt": formatter.string(from: key.createdAt),
                    // 48 bits of the key's hash: joins the data plane's usage, tells nothing of the key.
                    "fingerprint": String(key.sha256.prefix(12)),
                ]
                if let expires = key.expiresAt { entry["expiresAt"] = formatter.string(from: expires) }
                if let revoked = key.revokedAt { entry["revokedAt"] = formatter.string(from: revoked) }
                return entry
            }
            return JSONBody.response(["apiKeys": list])
        }
        router.patch("/v1/api-keys/:id") { request, context -> Response in
            try requireAdmin(try await caller(request))
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            guard let body = try? decoder.decode(ExpiryBody.self, from: Data(buffer: try await request.body.collect(upTo: 4096))) else {
                throw APIError.badRequest("body: expected {\"expiresAt\": \"<ISO 8601 time>\"}")
            }
            let id = try context.parameters.require("id")
            try await state.setAPIKeyExpiry(id: id, expiresAt: body.expiresAt)
            try record("api-key.expire", "api-key/\(id)", "expires \(ISO8601DateFormatter().string(from: body.expiresAt))")
            return Response(status: .noContent)
        }
        router.delete("/v1/api-keys/:id") { request, context -> Response in
            try requireAdmin(try await caller(request))
            let id = try context.parameters.require("id")
            try await state.revokeAPIKey(id: id)
            try record("api-key.revoke", "api-key/\(id)", "revoked")
            return Response(status: .noContent)
        }
        router.put("/v1/workspaces/:workspace/role-bindings/:name") { request, context -> Response in
            let caller = try await caller(request)
            let workspace = try workspace(context)
            try require(caller, .owner, on: workspace)
            let body = try await JSONBody.decode(RoleBody.self, request)
            guard let role = AccessRole(rawValue: body.role) else {
                throw APIError.badRequest("role: '\(body.role)' must be one of owner, editor, operator, consumer, viewer")
            }
            try await state.bindRole(serviceAccount: try context.parameters.require("name"), workspace: workspace, role: role)
            return Response(status: .noContent)
        }
        addJobRoutes(to: router)
        router.get("/ui") { request, _ -> Response in
            do {
                _ = try await caller(request, allowBasic: true)
            } catch let error as APIError where error.status == .unauthorized {
                // Browsers prompt for Basic credentials: any user name, the API key as password.
                return Response(status: .unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"vpt \(tenant)\", charset=\"UTF-8\""])
            }
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: try await WebUI.page(state: state, tenant: tenant, scheduler: scheduler, defaultRateLimit: defaultRateLimit))))
        }
    }
}

struct ApplyResponse: Codable {
    var workspace: String
    var dryRun: Bool
    var changes: [RepoChange]
}

struct NameBody: Codable {
    var name: String
}

struct RoleBody: Codable {
    var role: String
}

/// `PUT /v1/service-accounts/{name}/rate-limit` body; `burst` defaults to `requestsPerSecond`.
struct RateLimitBody: Codable {
    var requestsPerSecond: Int
    var burst: Int?
}

/// `PATCH /v1/api-keys/{id}` body.
struct ExpiryBody: Decodable {
    var expiresAt: Date
}
