import Foundation

/// Materialization freshness: every batch feature view materialized through its newest closed
/// periods, with no failed job left unrepaired (read from the control plane's scheduler).
enum MaterializationCheck {
    /// Periods a view may lag before a warning (the newest period closes and then runs), and before a failure.
    static let warnPeriods = 2.0
    static let failPeriods = 6.0

    static let check = HealthCheck(
        id: "materialization.freshness", title: "Batch feature views materialized on schedule",
        threshold: "each view within \(Int(warnPeriods)) periods of its newest closed period (fail beyond \(Int(failPeriods))); no failed job",
        onTimeout: .unknown, remedyOnTimeout: "the control plane did not answer the materialization status in time"
    ) { probe in
        guard let config = probe.config else { return probe.configMissing }
        guard config.dataPlane.rift.enabled else { return .ok("Rift is not enabled for this tenant; no batch views are materialized") }
        guard probe.runtimeEnabled, let url = probe.controlPlaneURL else {
            return Verdict(status: .unknown, observed: "no running control plane to ask", remedy: "start the tenant's runtime")
        }
        guard let admin = probe.secret(probe.paths.adminKey(probe.name)) else {
            return Verdict(status: .unknown, observed: "the tenant admin key is missing", remedy: "re-run `vpt provision tenant \(probe.name)`")
        }
        let (status, body) = try probe.http("GET", url.appendingPathComponent("v1/materialization"), key: admin)
        guard status == 200, let views = (body as? [String: Any])?["featureViews"] as? [[String: Any]] else {
            return Verdict(status: .unknown, observed: "the materialization status answered \(status)", remedy: "see the control plane log")
        }
        return verdict(views, tenant: probe.name)
    }

    /// The verdict over the control plane's per-view status (`GET /v1/materialization`).
    static func verdict(_ views: [[String: Any]], tenant: String) -> Verdict {
        guard !views.isEmpty else { return .ok("no batch feature views") }
        let iso = ISO8601DateFormatter()
        var worst = HealthStatus.ok
        var findings: [String] = []
        for view in views {
            let name = "\(view["workspace"] as? String ?? "?")/\(view["featureView"] as? String ?? "?")"
            let schedule = Double(view["scheduleSeconds"] as? Int ?? 0)
            let due = (view["dueThrough"] as? String).flatMap(iso.date(from:))
            let through = (view["materializedThrough"] as? String).flatMap(iso.date(from:))
            let failed = view["failed"] as? Int ?? 0
            let pending = (view["pending"] as? Int ?? 0) + (view["running"] as? Int ?? 0)
            if failed > 0 {
                worst = HealthStatus.worst([worst, .warn])
                findings.append("\(name): \(failed) failed job\(failed == 1 ? "" : "s")")
            }
            guard schedule > 0, let due else { continue }
            guard let through else {
                // Before the first period closes there is nothing to materialize and no job yet.
                if pending > 0 {
                    worst = HealthStatus.worst([worst, .warn])
                    findings.append("\(name): backfill under way, nothing materialized yet (\(pending) jobs waiting or running)")
                }
                continue
            }
            let lag = (due.timeIntervalSince(through) / schedule).rounded(.down)
            guard lag > warnPeriods else { continue }
            worst = HealthStatus.worst([worst, lag > failPeriods ? .fail : .warn])
            findings.append("\(name): \(Int(lag)) periods behind\(pending > 0 ? " (\(pending) jobs waiting or running)" : "")")
        }
        guard findings.isEmpty else {
            return Verdict(
                status: worst, observed: findings.prefix(4).joined(separator: "; "),
                remedy: "see `vpt jobs list \(tenant) -w WORKSPACE --state FAILED` and the runner logs in the data plane's rift folder; "
                    + "`vpt jobs trigger` re-runs a window")
        }
        return .ok("\(views.count) batch feature views materialized through their newest closed periods")
    }
}
