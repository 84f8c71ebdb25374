import Foundation
import Synchronization
import VPTContract

/// The data plane's copy of the control plane snapshot: who may call and what is applied. Replaced
/// whole by the poller; read by every request.
///
/// Everything a request reads sits in one immutable `State`, so a request takes the lock once, to
/// load it, and then reads without locking. Taking a shared lock four times per request (loaded?
/// suspended? the key, the plan) made the two event loops collide on it hundreds of times a second
/// at serving rates, and each collision is a futex sleep and wake.
public final class AccessList: @unchecked Sendable {
    /// One snapshot's view: immutable once built.
    final class State: @unchecked Sendable {
        let snapshot: ControlPlaneSnapshot?
        let keys: [String: Key]
        /// Feature services resolved once per snapshot: workspace → service → plan.
        let plans: [String: [String: ServingPlan]]
        /// Why serving is suspended (the control plane reported the tenant's CMK unavailable).
        let suspension: String?

        init(snapshot: ControlPlaneSnapshot?, keys: [String: Key], plans: [String: [String: ServingPlan]], suspension: String?) {
            self.snapshot = snapshot
            self.keys = keys
            self.plans = plans
            self.suspension = suspension
        }

        static let empty = State(snapshot: nil, keys: [:], plans: [:], suspension: nil)
    }

    /// An accepted key (by its hash): its principal, where its last use is recorded, and its
    /// service account's serving limit (its own, or the tenant's default) with the bucket it draws on.
    struct Key: Sendable {
        let principal: PrincipalAccess
        let usage: Usage
        let limiter: (limit: RateLimit, bucket: TokenBucket)?
    }

    /// When a key was last accepted, in milliseconds since 1970. One cell per key hash for the
    /// process's life, shared by every snapshot that lists the key, so a new snapshot keeps it.
    final class Usage: Sendable {
        let milliseconds = Atomic<Int64>(0)

        /// Stores `now` when the recorded use is a second or more older: at serving rates almost
        /// every call is a plain read, and the cache line is not bounced between cores.
        func record(_ now: Int64) {
            if now - milliseconds.load(ordering: .relaxed) >= 1000 { milliseconds.store(now, ordering: .relaxed) }
        }
    }

    private let lock = NSLock()
    private var state = State.empty
    private var usage: [String: Usage] = [:]
    /// One bucket per service account with a limit, for the process's life.
    private var buckets: [String: TokenBucket] = [:]
    public let tenant: String
    /// The serving limit of service accounts that have none of their own (`dataPlane.rateLimit`).
    public let defaultRateLimit: RateLimit?
    /// Monotonic nanoseconds, for the token buckets.
    private let clock: @Sendable () -> UInt64

    public init(
        tenant: String, defaultRateLimit: RateLimit? = nil, clock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }
    ) {
        self.tenant = tenant
        self.defaultRateLimit = defaultRateLimit
        self.clock = clock
    }

    private var current: State { lock.withLock { state } }

    public var isLoaded: Bool { current.snapshot != nil }
    public var version: Int64 { current.snapshot?.version ?? -1 }
    public var suspended: String? { current.suspension }

    public func update(_ new: ControlPlaneSnapshot) {
        let planned = ServingPlan.plans(for: new.repos)
        lock.withLock {
            var keys: [String: Key] = [:]
            for principal in new.principals {
                var limiter: (RateLimit, TokenBucket)?
                if let limit = principal.rateLimit ?? defaultRateLimit {
                    let bucket = buckets[principal.serviceAccount] ?? TokenBucket()
                    buckets[principal.serviceAccount] = bucket
                    limiter = (limit, bucket)
                }
                for hash in principal.keyHashes {
                    let cell = usage[hash] ?? Usage()
                    usage[hash] = cell
                    keys[hash] = Key(principal: principal, usage: cell, limiter: limiter)
                }
            }
            state = State(snapshot: new, keys: keys, plans: planned, suspension: nil)
        }
    }

    /// Stops serving with `reason` until the control plane answers again: the repository and
    /// access rules come from metadata that the tenant's CMK protects (crypto-shredding).
    public func suspend(_ reason: String) {
        lock.withLock { state = State(snapshot: nil, keys: [:], plans: [:], suspension: reason) }
    }

    /// Last accepted use per key fingerprint (first 12 hex digits of the key's SHA-256).
    public func lastUsed() -> [String: Date] {
        let cells = lock.withLock { usage }
        var result: [String: Date] = [:]
        for (hash, cell) in cells {
            let milliseconds = cell.milliseconds.load(ordering: .relaxed)
            guard milliseconds > 0 else { continue }
            let used = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let fingerprint = String(hash.prefix(12))
            result[fingerprint] = max(result[fingerprint] ?? used, used)
        }
        return result
    }

    /// Requests refused with 429 since start, by service account (accounts that ever had a limit).
    public func rateLimitRefusals() -> [String: Int] {
        lock.withLock { buckets }.mapValues { $0.refused.load(ordering: .relaxed) }
    }

    public func repo(_ workspace: String) -> FeatureRepo? { current.snapshot?.repos[workspace] }

    /// The caller of a request, checked against a minimum role on a workspace. No serving limit
    /// applies (ingest is not limited).
    public func authorize(key: String?, workspace: String, minimum: AccessRole) throws -> PrincipalAccess {
        try authorize(key: key, workspace: workspace, minimum: minimum, in: current).principal
    }

    /// A feature service to serve to the caller: the caller checked for `minimum` on the workspace
    /// and against its serving limit for `lookups` entities, then the service's plan, both from the
    /// same snapshot.
    func serve(key: String?, workspace: String, service: String, minimum: AccessRole, lookups: Int = 1) throws -> ServingPlan {
        let state = current
        let found = try authorize(key: key, workspace: workspace, minimum: minimum, in: state)
        if let (limit, bucket) = found.limiter {
            try admit(lookups, serviceAccount: found.principal.serviceAccount, limit: limit, bucket: bucket)
        }
        guard state.snapshot?.repos[workspace] != nil else { throw APIError.notFound("workspace '\(workspace)' has no feature repository") }
        guard let plan = state.plans[workspace]?[service] else {
            throw APIError.notFound("feature service '\(service)' does not exist in workspace '\(workspace)'")
        }
        return plan
    }

    /// Takes `lookups` from the account's bucket: 429 with the seconds to wait when it is short,
    /// 400 when the request alone needs more than the burst (no wait would let it through).
    private func admit(_ lookups: Int, serviceAccount: String, limit: RateLimit, bucket: TokenBucket) throws {
        guard lookups <= limit.burst else {
            throw APIError.badRequest(
                "params.request_data holds \(lookups) entries, more than service account '\(serviceAccount)' may look up at once "
                    + "(its rate limit allows bursts of \(limit.burst)); send at most \(limit.burst) entries per request")
        }
        guard let wait = bucket.take(lookups, limit: limit, now: clock()) else { return }
        throw APIError.tooManyRequests(
            "service account '\(serviceAccount)' is over its rate limit of \(limit.requestsPerSecond) lookups per second "
                + "(bursts of \(limit.burst)); retry after the Retry-After seconds",
            retryAfter: wait)
    }

    private func authorize(key: String?, workspace: String, minimum: AccessRole, in state: State) throws -> Key {
        guard let key else { throw APIError.unauthorized() }
        if let claimed = APIKeyFormat.parse(key)?.tenant, claimed != tenant {
            throw APIError.unauthorized("the API key is not valid for this tenant")
        }
        if let reason = state.suspension { throw APIError.unavailable(reason) }
        guard state.snapshot != nil else { throw APIError.unavailable("the feature server is starting; access rules are not loaded yet") }
        guard let found = state.keys[APIKeyFormat.hash(key)] else {
            throw APIError.unauthorized("the API key is not valid (unknown, revoked or expired)")
        }
        found.usage.record(Int64(Date().timeIntervalSince1970 * 1000))
        let principal = found.principal
        guard let held = principal.roles[workspace].flatMap(AccessRole.init(rawValue:)), held >= minimum else {
            throw APIError.forbidden("service account '\(principal.serviceAccount)' needs the \(minimum.rawValue) role (or higher) on workspace '\(workspace)'")
        }
        return found
    }
}
