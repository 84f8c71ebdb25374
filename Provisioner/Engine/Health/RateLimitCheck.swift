import Foundation

/// The `serving.rate-limited` verdict: serving requests the data plane refused with 429 since the
/// previous report, by service account. A refusal is the limit doing its job; many of them mean a
/// client sends more than its limit allows, or a limit set lower than the traffic it should carry.
enum RateLimitCheck {
    static let warnShare = 0.01
    static let minimumRequests = 20.0
    static let servingRoutes: Set<String> = [
        "/api/v1/feature-service/get-features", "/api/v1/feature-service/get-features-batch", "/api/v1/feature-service/metadata",
    ]

    static var threshold: String {
        "429 < \(Int(warnShare * 100))% of serving requests, judged from \(Int(minimumRequests)) requests"
    }

    /// Serving requests, and refusals by service account, as the data plane counted them since it started.
    struct Counts: Codable, Equatable {
        var requests: Double
        var refused: [String: Double]
    }

    static func counts(_ metrics: MetricSamples) -> Counts {
        var refused: [String: Double] = [:]
        for sample in metrics.samples where sample.name == "vpt_rate_limited_requests_total" {
            if let account = sample.labels["service_account"] { refused[account, default: 0] += sample.value }
        }
        return Counts(requests: metrics.total("http_server_requests_total") { servingRoutes.contains($0["route"] ?? "") }, refused: refused)
    }

    /// `previous` is nil on the first report; a data plane whose counters went down was restarted,
    /// and then everything it counted is new.
    static func verdict(current: Counts, previous: Counts?, tenant: String) -> Verdict {
        // The data plane lists an account once it has had a limit; none listed, none is limited.
        guard !current.refused.isEmpty else { return .ok("no service account has a serving limit") }
        let reset = previous.map { current.requests < $0.requests } ?? true
        let base = reset ? Counts(requests: 0, refused: [:]) : previous!
        let requests = current.requests - base.requests
        var refused: [(account: String, count: Double)] = []
        for (account, count) in current.refused.sorted(by: { $0.key < $1.key }) where count > (base.refused[account] ?? 0) {
            refused.append((account, count - (base.refused[account] ?? 0)))
        }
        let total = refused.reduce(0) { $0 + $1.count }
        let share = requests > 0 ? total / requests : 0
        let since = previous == nil ? "since start" : reset ? "since the data plane restarted" : "since the last report"
        let who = refused.map { "\($0.account) \(Int($0.count))" }.joined(separator: ", ")
        let observed =
            refused.isEmpty
            ? "none of \(Int(requests)) serving requests refused \(since)"
            : "\(Int(total)) of \(Int(requests)) serving requests refused \(since) (\(String(format: "%.1f", share * 100))%): \(who)"
        guard requests >= minimumRequests else { return .ok(observed + "; too few to judge") }
        guard share >= warnShare else { return .ok(observed) }
        let accounts = refused.map(\.account).joined(separator: ", ")
        return Verdict(
            status: .warn, observed: observed,
            remedy: "\(accounts) sent more than their serving limit allows; if that traffic is expected, raise the limit "
                + "(`vpt service-accounts limit \(tenant) NAME --requests-per-second N`, or dataPlane.rateLimit in the spec and re-provision)")
    }

    /// Reads the data plane's `/metrics`; the counts are kept in `run/health-rate-limits.json` for the next report.
    static let check = HealthCheck.dataPlaneCounters(
        id: "serving.rate-limited", title: "Serving requests refused by rate limits since the last report",
        threshold: threshold, stateFile: "health-rate-limits.json",
        counts: counts, verdict: { verdict(current: $0, previous: $1, tenant: $2) })
}
