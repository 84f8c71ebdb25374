import Foundation
import VPTLocalCloud

/// Checks through the tenant's own feature server: a real read, the serving cache, the 5xx rate.
enum ServingChecks {
    static let latencyWarnMs = 250.0

    /// Writes a fresh probe value through the ingest API and reads it back through get-features,
    /// as the dedicated health principal (`vpt-health`, set up by provisioning's smoke test).
    static let featureRead = HealthCheck(
        id: "serving.get-features", title: "Feature read through the health principal",
        threshold: "HTTP 200 with the value just ingested, within \(Int(latencyWarnMs)) ms", onTimeout: .fail,
        remedyOnTimeout: "the feature server did not answer in time: check `runtime.data-plane` and its log"
    ) { probe in
        guard probe.runtimeEnabled else {
            return Verdict(status: .unknown, observed: "the fleet's runtime is off", remedy: "no feature server runs on this fleet")
        }
        guard let url = probe.dataPlaneURL else {
            return probe.configMissing
        }
        let keyFile = probe.paths.secrets(probe.name).appendingPathComponent("health-api-key")
        guard let key = probe.secret(keyFile) else {
            return Verdict(status: .fail, observed: "no health principal key at \(keyFile.path)",
                           remedy: "re-run `vpt provision tenant \(probe.name)`: its smoke test creates the health principal")
        }
        let value = String(Int64(Date().timeIntervalSince1970 * 1000))
        let record: [String: Any] = ["probe_id": "health", "value": value, "ts": ISO8601DateFormatter().string(from: Date())]
        let ingest: [String: Any] = ["workspace_name": SmokeTest.workspace, "records": ["probe_events": [["record": record]]]]
        let (ingestStatus, ingestBody) = try probe.http("POST", url.appendingPathComponent("ingest"), key: key, body: ingest)
        guard ingestStatus == 200 else {
            return Verdict(status: .fail, observed: "ingest answered \(ingestStatus): \(message(ingestBody))",
                           remedy: "re-run `vpt provision tenant \(probe.name)` to restore the vpt-health workspace and principal")
        }
        let request: [String: Any] = [
            "params": ["workspace_name": SmokeTest.workspace, "feature_service_name": "probe_service", "join_key_map": ["probe_id": "health"]]
        ]
        let began = Date()
        let (status, body) = try probe.http("POST", url.appendingPathComponent("api/v1/feature-service/get-features"), key: key, body: request)
        return readVerdict(status: status, body: body, expected: value, ms: Date().timeIntervalSince(began) * 1000, tenant: probe.name)
    }

    /// The verdict on the health principal's read: `expected` back with 200, within `latencyWarnMs`.
    static func readVerdict(status: Int, body: Any?, expected value: String, ms: Double, tenant: String) -> Verdict {
        let latency = String(format: "%.1f ms", ms)
        if status == 429 {
            // The health principal draws on the tenant's serving limit like any account: the
            // feature server answered, so this says nothing against it.
            return Verdict(status: .warn, observed: "get-features answered 429 in \(latency): \(message(body))",
                           remedy: "\(SmokeTest.serviceAccount) is over its serving limit: run health checks less often, or give it a limit of its own "
                               + "(`vpt service-accounts limit \(tenant) \(SmokeTest.serviceAccount) --requests-per-second N`)")
        }
        guard status == 200 else {
            return Verdict(status: .fail, observed: "get-features answered \(status) in \(latency): \(message(body))",
                           remedy: "see tenants/\(tenant)/run/data-plane.log")
        }
        let features = ((body as? [String: Any])?["result"] as? [String: Any])?["features"] as? [Any]
        guard features?.first as? String == value else {
            return Verdict(status: .fail, observed: "read \(features ?? []) instead of [\"\(value)\"] (\(latency))",
                           remedy: "the online store lost a write it acknowledged: check `store.online` and the data plane log")
        }
        if ms > latencyWarnMs {
            return Verdict(status: .warn, observed: "value read back in \(latency)",
                           remedy: "the feature server is slow: check the machine's load and `serving.cache`")
        }
        return .ok("value read back in \(latency)")
    }

    static let cacheWarnRatio = 0.5
    static let cacheMinimumLookups = 100.0

    /// The serving cache: its configured max age (at most 24 h) and its hit ratio since start.
    static let cache = HealthCheck(
        id: "serving.cache", title: "Serving cache hit ratio and max age",
        threshold: "max age ≤ 86400 s; hit ratio ≥ \(cacheWarnRatio) once \(Int(cacheMinimumLookups)) lookups were made", onTimeout: .unknown,
        remedyOnTimeout: "the data plane's /metrics did not answer in time"
    ) { probe in
        guard let config = probe.config else {
            return probe.configMissing
        }
        let cache = config.dataPlane.servingCache
        guard cache.enabled else { return .ok("disabled by the spec") }
        guard cache.maxAgeSeconds <= 86_400 else {
            return Verdict(status: .fail, observed: "max age \(cache.maxAgeSeconds) s",
                           remedy: "set dataPlane.servingCache.maxAgeSeconds to at most 86400 and re-provision")
        }
        guard probe.runtimeEnabled, probe.dataPlaneURL != nil else {
            return Verdict(status: .unknown, observed: "max age \(cache.maxAgeSeconds) s; no running data plane to ask for hits",
                           remedy: "start the tenant's runtime")
        }
        let (status, text) = try probe.dataPlaneMetricsText()
        guard status == 200 else {
            return Verdict(status: .unknown, observed: "/metrics answered \(status)", remedy: "see the data plane log")
        }
        let metrics = MetricSamples(text)
        let hits = metrics.total("vpt_serving_cache_hits_total"), misses = metrics.total("vpt_serving_cache_misses_total")
        let lookups = hits + misses
        let ratio = lookups > 0 ? hits / lookups : 0
        let observed = "hit ratio \(String(format: "%.2f", ratio)) (\(Int(hits)) of \(Int(lookups)) lookups), max age \(cache.maxAgeSeconds) s"
        if lookups >= cacheMinimumLookups, ratio < cacheWarnRatio {
            return Verdict(status: .warn, observed: observed,
                           remedy: "most reads miss: raise dataPlane.servingCache.maxEntries or maxAgeSeconds if the data allows")
        }
        return .ok(observed)
    }

    /// 5xx answers of both planes since the previous report (the counters are kept in
    /// `run/health-metrics.json`), or since start on the first report.
    static let errorRate = HealthCheck(
        id: "runtime.5xx-rate", title: "Server errors since the last report",
        threshold: ServerErrorRate.threshold, onTimeout: .unknown, remedyOnTimeout: "/metrics did not answer in time"
    ) { probe in
        guard probe.runtimeEnabled, let cp = probe.controlPlaneURL, let dp = probe.dataPlaneURL else {
            return Verdict(status: .unknown, observed: "no running runtime to ask", remedy: "start the tenant's runtime")
        }
        var current: [String: ServerErrorRate.Counts] = [:]
        for (plane, url) in [("control-plane", cp), ("data-plane", dp)] {
            let (status, text) = try plane == "data-plane" ? probe.dataPlaneMetricsText() : probe.text(url.appendingPathComponent("metrics"))
            guard status == 200 else {
                return Verdict(status: .unknown, observed: "\(plane) /metrics answered \(status)", remedy: "see the \(plane) log")
            }
            current[plane] = ServerErrorRate.counts(MetricSamples(text))
        }
        let file = probe.paths.runDirectory(probe.name).appendingPathComponent("health-metrics.json")
        let previous = (try? SecureFiles.readJSON([String: ServerErrorRate.Counts].self, from: file)) ?? nil
        try? SecureFiles.writeJSON(current, to: file)
        return ServerErrorRate.verdict(current: current, previous: previous, logs: "tenants/\(probe.name)/run/*.log")
    }

    static func message(_ body: Any?) -> String {
        ((body as? [String: Any])?["message"] as? String).map { String($0.prefix(160)) } ?? "no message"
    }
}
