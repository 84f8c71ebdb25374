import Foundation

/// The `serving.connections` verdict: connections open to the data plane against its limit
/// (`dataPlane.maxConnections`), and whether the listener had to stop accepting since the previous
/// report. At the limit new clients wait in the listen backlog, which looks like a slow or dead
/// feature server to them.
enum ConnectionCheck {
    static let warnShare = 0.8

    static var threshold: String {
        "open < \(Int(warnShare * 100))% of dataPlane.maxConnections, and the limit not reached since the last report"
    }

    /// The data plane's gauges and its pause counter; nil fields were not in its `/metrics`.
    struct Counts: Codable, Equatable {
        var open: Double?
        var maximum: Double?
        var reached: Double
    }

    static func counts(_ metrics: MetricSamples) -> Counts {
        func value(_ name: String) -> Double? { metrics.samples.first { $0.name == name }?.value }
        return Counts(open: value("vpt_open_connections"), maximum: value("vpt_max_connections"), reached: value("vpt_connection_limit_reached_total") ?? 0)
    }

    /// `previous` is nil on the first report; a counter that went down means the data plane restarted.
    static func verdict(current: Counts, previous: Counts?, tenant: String) -> Verdict {
        guard let open = current.open, let maximum = current.maximum, maximum > 0 else {
            return Verdict(status: .unknown, observed: "the data plane does not report its connections", remedy: "re-provision the tenant to run the current runtime")
        }
        let reset = previous.map { current.reached < $0.reached } ?? true
        let reached = current.reached - (reset ? 0 : previous!.reached)
        let since = previous == nil ? "since start" : reset ? "since the data plane restarted" : "since the last report"
        let observed =
            "\(Int(open)) of \(Int(maximum)) connections open; "
            + (reached > 0 ? "the limit was reached \(Int(reached)) times \(since), and new connections waited in the listen backlog" : "limit not reached \(since)")
        let remedy =
            "a client may be opening connections without reusing or closing them (check its HTTP client's pool); if the load is real, "
            + "raise dataPlane.maxConnections in the spec of \(tenant) and re-provision"
        if reached > 0 || open >= warnShare * maximum { return Verdict(status: .warn, observed: observed, remedy: remedy) }
        return .ok(observed)
    }

    /// Reads the data plane's `/metrics`; the pause counter is kept in `run/health-connections.json` for the next report.
    static let check = HealthCheck.dataPlaneCounters(
        id: "serving.connections", title: "Connections open to the data plane against its limit",
        threshold: threshold, stateFile: "health-connections.json",
        counts: counts, verdict: { verdict(current: $0, previous: $1, tenant: $2) })
}
