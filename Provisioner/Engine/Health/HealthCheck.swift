import Foundation

/// What a check concluded (the runner adds the id, title and duration).
struct Verdict: Sendable {
    var status: HealthStatus
    var observed: String
    var remedy: String = ""

    static func ok(_ observed: String) -> Verdict { Verdict(status: .ok, observed: observed) }
}

/// One named check. `onTimeout` is the verdict when it does not finish in time: `fail` where not
/// answering is itself the fault (a frozen process), `unknown` where it only means we could not look.
struct HealthCheck: Sendable {
    let id: String
    let title: String
    let threshold: String
    let onTimeout: HealthStatus
    let remedyOnTimeout: String
    let run: @Sendable (TenantProbe) throws -> Verdict

    /// Every check, in report order.
    static let all: [HealthCheck] =
        RuntimeChecks.all + [ServingChecks.featureRead, ServingChecks.cache, RateLimitCheck.check, ConnectionCheck.check] + StoreChecks.all + ResidencyChecks.all
        + [DriftCheck.check] + KeyChecks.all + [ServingChecks.errorRate, MaterializationCheck.check]
}
