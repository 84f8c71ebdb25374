import Testing
@testable import VPTEngine

/// The `serving.connections` verdict from the data plane's `/metrics` text.
@Suite struct ConnectionCheckTests {
    static func metrics(open: Int, maximum: Int, reached: Int) -> MetricSamples {
        MetricSamples(
            """
            # TYPE vpt_open_connections gauge
            vpt_open_connections \(open)
            # TYPE vpt_max_connections gauge
            vpt_max_connections \(maximum)
            # TYPE vpt_connection_limit_reached_total counter
            vpt_connection_limit_reached_total \(reached)
            """)
    }

    @Test func fewConnectionsAndNoPauseIsOK() {
        let verdict = ConnectionCheck.verdict(current: ConnectionCheck.counts(Self.metrics(open: 12, maximum: 10_000, reached: 0)), previous: nil, tenant: "acme")
        #expect(verdict.status == .ok && verdict.observed == "12 of 10000 connections open; limit not reached since start", "\(verdict)")
    }

    @Test func nearTheLimitOrPausedSinceTheLastReportWarns() {
        let near = ConnectionCheck.verdict(current: .init(open: 85, maximum: 100, reached: 0), previous: nil, tenant: "acme")
        #expect(near.status == .warn && near.remedy.contains("raise dataPlane.maxConnections in the spec of acme"), "\(near)")
        let before = ConnectionCheck.Counts(open: 10, maximum: 100, reached: 3)
        let paused = ConnectionCheck.verdict(current: .init(open: 20, maximum: 100, reached: 5), previous: before, tenant: "acme")
        #expect(paused.status == .warn && paused.observed.contains("the limit was reached 2 times since the last report"), "\(paused)")
        let calm = ConnectionCheck.verdict(current: .init(open: 20, maximum: 100, reached: 3), previous: before, tenant: "acme")
        #expect(calm.status == .ok, "pauses before the last report were reported then")
        let restarted = ConnectionCheck.verdict(current: .init(open: 20, maximum: 100, reached: 1), previous: before, tenant: "acme")
        #expect(restarted.status == .warn && restarted.observed.contains("1 times since the data plane restarted"), "\(restarted)")
    }

    @Test func aDataPlaneWithoutTheGaugesIsUnknown() {
        let verdict = ConnectionCheck.verdict(current: ConnectionCheck.counts(MetricSamples("http_server_requests_total 3")), previous: nil, tenant: "acme")
        #expect(verdict.status == .unknown)
    }
}
