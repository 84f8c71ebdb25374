import Testing

@testable import VPTRuntime

@Suite struct RequestMetricsTests {
    /// The Prometheus text `vpt health` parses: one series per route and status, sorted by labels.
    @Test func requestsAreCountedAndTimedPerRouteAndStatus() {
        let metrics = RequestMetrics()
        metrics.record(route: "/b", status: 200, seconds: 0.25)
        metrics.record(route: "/a", status: 500, seconds: 1)
        metrics.record(route: "/b", status: 200, seconds: 0.5)
        metrics.record(route: "/b", status: 401, seconds: 0.125)
        metrics.increment("vpt_serving_cache_hits_total", by: 2)
        #expect(
            metrics.prometheusText() == """
                # HELP http_server_requests_total HTTP requests by route and status.
                # TYPE http_server_requests_total counter
                http_server_requests_total{route="/a",status="500"} 1
                http_server_requests_total{route="/b",status="200"} 2
                http_server_requests_total{route="/b",status="401"} 1
                # HELP http_server_request_duration_seconds_sum Time spent serving requests.
                # TYPE http_server_request_duration_seconds_sum counter
                http_server_request_duration_seconds_sum{route="/a",status="500"} 1.0
                http_server_request_duration_seconds_sum{route="/b",status="200"} 0.75
                http_server_request_duration_seconds_sum{route="/b",status="401"} 0.125
                # TYPE vpt_serving_cache_hits_total counter
                vpt_serving_cache_hits_total 2

                """)
    }
}
