import Foundation
import Testing

@testable import VPTEngine

/// The `runtime.5xx-rate` verdict from the planes' `/metrics` text.
@Suite struct ServerErrorRateTests {
    func metrics(_ lines: [(route: String, status: Int, count: Int)]) -> MetricSamples {
        MetricSamples(
            (["# TYPE http_server_requests_total counter"]
                + lines.map { "http_server_requests_total{route=\"\($0.route)\",status=\"\($0.status)\"} \($0.count)" }
                + ["http_server_request_duration_seconds_sum{route=\"/ingest\",status=\"500\"} 3.5"])
                .joined(separator: "\n"))
    }

    @Test func readinessProbesBeforeTheAccessRulesLoadAreNotServerErrors() {
        // A fresh tenant on a slow machine: provisioning polled /readyz through a few 503s.
        let counts = ServerErrorRate.counts(metrics([
            ("/readyz", 503, 4), ("/readyz", 200, 1), ("/metrics", 200, 3), ("/healthz", 200, 2),
            ("/ingest", 200, 10), ("/api/v1/feature-service/get-features", 200, 30),
        ]))
        #expect(counts == .init(requests: 40, errors: 0))
        let verdict = ServerErrorRate.verdict(current: ["data-plane": counts], previous: nil, logs: "run/*.log")
        #expect(verdict.status == .ok)
        #expect(verdict.observed == "0 of 40 requests since start (0.0%)")
    }

    @Test func errorsOnServedRoutesWarnThenFail() {
        let calm = ServerErrorRate.Counts(requests: 100, errors: 0)
        let warn = ServerErrorRate.counts(metrics([("/ingest", 200, 195), ("/ingest", 500, 5)]))
        #expect(warn == .init(requests: 200, errors: 5))
        // Judged on what happened since the previous report: 5 of the 100 new requests.
        let since = ServerErrorRate.verdict(current: ["data-plane": warn], previous: ["data-plane": calm], logs: "run/*.log")
        #expect(since.status == .fail)
        #expect(since.observed == "5 of 100 requests since the last report (5.0%)")
        #expect(since.remedy.contains("run/*.log"))

        let spread = ServerErrorRate.verdict(current: ["data-plane": warn], previous: nil, logs: "run/*.log")
        #expect(spread.status == .warn, "5 of 200 is 2.5 %")
        let few = ServerErrorRate.verdict(current: ["data-plane": .init(requests: 10, errors: 5)], previous: nil, logs: "")
        #expect(few.status == .ok && few.observed.hasSuffix("too few to judge"))
    }

    @Test func aRestartedPlaneCountsFromZero() {
        let before = ["control-plane": ServerErrorRate.Counts(requests: 500, errors: 0), "data-plane": .init(requests: 1000, errors: 0)]
        // The data plane restarted: its 30 requests with 3 errors are all new; the control plane added 20.
        let now = ["control-plane": ServerErrorRate.Counts(requests: 520, errors: 0), "data-plane": .init(requests: 30, errors: 3)]
        let verdict = ServerErrorRate.verdict(current: now, previous: before, logs: "")
        #expect(verdict.observed == "3 of 50 requests since the last report (6.0%)")
        #expect(verdict.status == .fail)
    }
}
