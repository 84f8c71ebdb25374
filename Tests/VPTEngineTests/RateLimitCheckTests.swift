import Foundation
import Testing

@testable import VPTEngine

/// The `serving.rate-limited` verdict from the data plane's `/metrics` text.
@Suite struct RateLimitCheckTests {
    func metrics(served: Int, refused: [String: Int], ingest: Int = 0) -> MetricSamples {
        var lines = [
            "# TYPE http_server_requests_total counter",
            "http_server_requests_total{route=\"/api/v1/feature-service/get-features\",status=\"200\"} \(served)",
            "http_server_requests_total{route=\"/api/v1/feature-service/get-features\",status=\"429\"} \(refused.values.reduce(0, +))",
            "http_server_requests_total{route=\"/ingest\",status=\"200\"} \(ingest)",
            "http_server_requests_total{route=\"/metrics\",status=\"200\"} 7",
        ]
        if !refused.isEmpty { lines.append("# TYPE vpt_rate_limited_requests_total counter") }
        lines += refused.map { "vpt_rate_limited_requests_total{service_account=\"\($0.key)\"} \($0.value)" }
        return MetricSamples(lines.joined(separator: "\n"))
    }

    /// `serving.get-features` on the health principal's answer: a 429 is the tenant's limit at work
    /// (a warning with the way out), not a broken feature server.
    @Test func aRateLimitedHealthReadWarnsAndOtherErrorsFail() {
        let limited = ServingChecks.readVerdict(
            status: 429, body: ["message": "service account 'vpt-health' is over its rate limit"], expected: "7", ms: 3, tenant: "acme")
        #expect(limited.status == .warn && limited.observed.hasPrefix("get-features answered 429 in 3.0 ms: service account 'vpt-health'"))
        #expect(limited.remedy.contains("`vpt service-accounts limit acme vpt-health --requests-per-second N`"))
        let broken = ServingChecks.readVerdict(status: 503, body: ["message": "down"], expected: "7", ms: 3, tenant: "acme")
        #expect(broken.status == .fail && broken.remedy == "see tenants/acme/run/data-plane.log")
        let wrong = ServingChecks.readVerdict(status: 200, body: ["result": ["features": ["6"]]], expected: "7", ms: 3, tenant: "acme")
        #expect(wrong.status == .fail && wrong.observed.hasPrefix("read [\"6\"] instead of [\"7\"]"))
        #expect(ServingChecks.readVerdict(status: 200, body: ["result": ["features": ["7"]]], expected: "7", ms: 3, tenant: "acme").status == .ok)
        #expect(ServingChecks.readVerdict(status: 200, body: ["result": ["features": ["7"]]], expected: "7", ms: 400, tenant: "acme").status == .warn)
    }

    @Test func withoutAnyLimitItIsOK() {
        let verdict = RateLimitCheck.verdict(current: RateLimitCheck.counts(metrics(served: 500, refused: [:])), previous: nil, tenant: "acme")
        #expect(verdict.status == .ok && verdict.observed == "no service account has a serving limit")
    }

    @Test func refusalsAreCountedAgainstServingRequestsOnlyAndNamedByAccount() {
        let counts = RateLimitCheck.counts(metrics(served: 180, refused: ["fraud-scorer": 15, "batch": 5], ingest: 1000))
        #expect(counts == .init(requests: 200, refused: ["fraud-scorer": 15, "batch": 5]), "ingest and probes are not serving requests")
        let verdict = RateLimitCheck.verdict(current: counts, previous: nil, tenant: "acme")
        #expect(verdict.status == .warn)
        #expect(verdict.observed == "20 of 200 serving requests refused since start (10.0%): batch 5, fraud-scorer 15")
        #expect(verdict.remedy.hasPrefix("batch, fraud-scorer sent more than their serving limit allows"))
        #expect(verdict.remedy.contains("`vpt service-accounts limit acme NAME --requests-per-second N`"))
    }

    @Test func itJudgesWhatHappenedSinceTheLastReport() {
        let before = RateLimitCheck.Counts(requests: 1000, refused: ["fraud-scorer": 300, "batch": 0])
        // 1,000 new requests, none refused: the old refusals are history.
        let calm = RateLimitCheck.verdict(current: .init(requests: 2000, refused: ["fraud-scorer": 300, "batch": 0]), previous: before, tenant: "acme")
        #expect(calm.status == .ok && calm.observed == "none of 1000 serving requests refused since the last report")
        // Below 1 %: noted, not a warning.
        let few = RateLimitCheck.verdict(current: .init(requests: 2000, refused: ["fraud-scorer": 305, "batch": 0]), previous: before, tenant: "acme")
        #expect(few.status == .ok && few.observed.hasPrefix("5 of 1000 serving requests refused since the last report (0.5%): fraud-scorer 5"))
        // A restarted data plane counts from zero: all it counted is new.
        let restarted = RateLimitCheck.verdict(current: .init(requests: 100, refused: ["batch": 10]), previous: before, tenant: "acme")
        #expect(restarted.status == .warn && restarted.observed == "10 of 100 serving requests refused since the data plane restarted (10.0%): batch 10")
        let quiet = RateLimitCheck.verdict(current: .init(requests: 10, refused: ["batch": 5]), previous: nil, tenant: "acme")
        #expect(quiet.status == .ok && quiet.observed.hasSuffix("too few to judge"))
    }
}
