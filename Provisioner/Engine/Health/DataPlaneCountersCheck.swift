import Foundation
import VPTLocalCloud

extension HealthCheck {
    /// A check judged from counters in the data plane's `/metrics`, against what the previous
    /// report saw: the counts are kept in `run/<stateFile>` (0600) for the next report.
    static func dataPlaneCounters<Counts: Codable & Sendable>(
        id: String, title: String, threshold: String, stateFile: String,
        counts: @escaping @Sendable (MetricSamples) -> Counts,
        verdict: @escaping @Sendable (_ current: Counts, _ previous: Counts?, _ tenant: String) -> Verdict
    ) -> HealthCheck {
        HealthCheck(id: id, title: title, threshold: threshold, onTimeout: .unknown, remedyOnTimeout: "the data plane's /metrics did not answer in time") {
            probe in
            guard probe.runtimeEnabled, probe.dataPlaneURL != nil else {
                return Verdict(status: .unknown, observed: "no running data plane to ask", remedy: "start the tenant's runtime")
            }
            let (status, text) = try probe.dataPlaneMetricsText()
            guard status == 200 else {
                return Verdict(status: .unknown, observed: "/metrics answered \(status)", remedy: "see the data plane log")
            }
            let current = counts(MetricSamples(text))
            let file = probe.paths.runDirectory(probe.name).appendingPathComponent(stateFile)
            let previous = (try? SecureFiles.readJSON(Counts.self, from: file)) ?? nil
            try? SecureFiles.writeJSON(current, to: file)
            return verdict(current, previous, probe.name)
        }
    }
}
