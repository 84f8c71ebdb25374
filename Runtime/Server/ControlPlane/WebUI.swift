import Foundation
import VPTContract

/// The control plane's read-only web UI: one server-rendered page, every value HTML-escaped.
enum WebUI {
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func page(state: ControlPlaneState, tenant: String, scheduler: JobScheduler?, defaultRateLimit: RateLimit? = nil) async throws -> String {
        let snapshot = await state.snapshot
        var html = """
            <!doctype html><html><head><meta charset="utf-8"><title>vpt · \(escape(tenant))</title>
            <style>body{font:14px system-ui;margin:2em}table{border-collapse:collapse;margin-bottom:2em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>
            </head><body><h1>Tenant \(escape(tenant))</h1>
            """
        for (workspace, repo) in snapshot.repos.sorted(by: { $0.key < $1.key }) {
            html += "<h2>Workspace \(escape(workspace))</h2><table><tr><th>feature view</th><th>entities</th><th>features</th><th>TTL</th><th>online</th><th>offline</th></tr>"
            for view in repo.featureViews {
                html += "<tr><td>\(escape(view.name))</td><td>\(escape(view.entities.joined(separator: ", ")))</td><td>\(escape(view.features.map { "\($0.name): \($0.type.rawValue)" }.joined(separator: ", ")))</td><td>\(view.ttlSeconds)s</td><td>\(view.online)</td><td>\(view.offline)</td></tr>"
            }
            if !repo.batchFeatureViews.isEmpty {
                html += "</table><table><tr><th>batch feature view</th><th>source</th><th>schedule</th><th>start</th><th>features</th><th>TTL</th></tr>"
                for view in repo.batchFeatureViews {
                    html += "<tr><td>\(escape(view.name))</td><td>\(escape(view.source))</td><td>\(escape(view.batchSchedule))</td><td>\(escape(view.featureStartTime))</td><td>\(escape(view.servedFeatures.map { "\($0.name): \($0.type.rawValue)" }.joined(separator: ", ")))</td><td>\(view.ttlSeconds)s</td></tr>"
                }
            }
            html += "</table><table><tr><th>feature service</th><th>feature views</th></tr>"
            for service in repo.featureServices {
                html += "<tr><td>\(escape(service.name))</td><td>\(escape(service.featureViews.joined(separator: ", ")))</td></tr>"
            }
            html += "</table>"
        }
        html += "<h2>Principals</h2><table><tr><th>service account</th><th>roles</th><th>live API keys</th><th>rate limit</th></tr>"
        for principal in snapshot.principals {
            let roles = principal.roles.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            let limit =
                principal.rateLimit.map { "\($0.requestsPerSecond)/s, bursts of \($0.burst)" }
                ?? defaultRateLimit.map { "\($0.requestsPerSecond)/s, bursts of \($0.burst) (tenant default)" } ?? "none"
            html += "<tr><td>\(escape(principal.serviceAccount))</td><td>\(escape(roles))</td><td>\(principal.keyHashes.count)</td><td>\(limit)</td></tr>"
        }
        html += "</table><h2>Recent jobs</h2>"
        let jobs = await scheduler?.recent(limit: 50) ?? []
        if jobs.isEmpty {
            html += "<p>No materialization jobs yet.</p>"
        } else {
            let iso = ISO8601DateFormatter()
            html += "<table><tr><th>job</th><th>workspace</th><th>feature view</th><th>window</th><th>trigger</th><th>state</th><th>attempts</th><th>rows</th><th>error</th></tr>"
            for job in jobs {
                let window = "\(iso.string(from: job.windowStart)) – \(iso.string(from: job.windowEnd))"
                html += "<tr><td>\(escape(job.id))</td><td>\(escape(job.workspace))</td><td>\(escape(job.featureView))</td><td>\(window)</td><td>\(job.trigger.rawValue)</td><td>\(job.state.rawValue)</td><td>\(job.attempts.count)</td><td>\(job.rowsWritten.map(String.init) ?? "")</td><td>\(escape(job.error ?? ""))</td></tr>"
            }
            html += "</table>"
        }
        html += "</body></html>"
        return html
    }
}
