import Foundation

/// The `runtime.5xx-rate` verdict: the share of server errors among the requests both planes
/// answered since the previous report.
enum ServerErrorRate {
    static let warnRate = 0.01
    static let failRate = 0.05
    static let minimumRequests = 20.0
    /// Probe routes are left out: `/readyz` answers 503 until the access rules are loaded, which
    /// is the readiness signal doing its job (judged by `runtime.data-plane`), not a server error.
    /// Counting them made a freshly provisioned tenant on a slow machine warn.
    static let probeRoutes: Set<String> = ["/healthz", "/readyz", "/metrics"]

    static var threshold: String {
        "5xx < \(Int(warnRate * 100))% of requests (fail ≥ \(Int(failRate * 100))%), judged from \(Int(minimumRequests)) requests, probes left out"
    }

    struct Counts: Codable, Equatable {
        var requests: Double
        var errors: Double
    }

    static func counts(_ metrics: MetricSamples) -> Counts {
        let served: ([String: String]) -> Bool = { !probeRoutes.contains($0["route"] ?? "") }
        return Counts(
            requests: metrics.total("http_server_requests_total", where: served),
            errors: metrics.total("http_server_requests_total") { served($0) && $0["status"]?.hasPrefix("5") == true })
    }

    /// `previous` is nil on the first report; a plane whose counters went down was restarted, and
    /// then everything it counted is new.
    static func verdict(current: [String: Counts], previous: [String: Counts]?, logs: String) -> Verdict {
        var requests = 0.0, errors = 0.0
        for (plane, now) in current {
            let before = previous?[plane] ?? Counts(requests: 0, errors: 0)
            let reset = now.requests < before.requests
            requests += reset ? now.requests : now.requests - before.requests
            errors += reset ? now.errors : now.errors - before.errors
        }
        let rate = requests > 0 ? errors / requests : 0
        let since = previous == nil ? "since start" : "since the last report"
        let observed = "\(Int(errors)) of \(Int(requests)) requests \(since) (\(String(format: "%.1f", rate * 100))%)"
        guard requests >= minimumRequests else { return .ok(observed + "; too few to judge") }
        if rate >= failRate {
            return Verdict(status: .fail, observed: observed, remedy: "read the 5xx causes in \(logs)")
        }
        if rate >= warnRate {
            return Verdict(status: .warn, observed: observed, remedy: "read the 5xx causes in \(logs)")
        }
        return .ok(observed)
    }
}
