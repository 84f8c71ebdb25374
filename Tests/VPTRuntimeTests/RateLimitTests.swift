import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import VPTContract
@testable import VPTRuntime

/// Serving limits per service account: a token bucket of `burst` lookups refilling at
/// `requestsPerSecond`, from the tenant's default or the account's own limit; 429 with
/// `Retry-After` and the documented body when it is empty. The clock is driven by hand.
@Suite struct RateLimitTests {
    /// Monotonic nanoseconds that move only when told.
    final class ManualClock: Sendable {
        let nanoseconds = Atomic<UInt64>(5_000_000_000)
        func advance(_ seconds: Double) { nanoseconds.add(UInt64(seconds * 1e9), ordering: .relaxed) }
        var read: @Sendable () -> UInt64 { { self.nanoseconds.load(ordering: .relaxed) } }
    }

    let clock = ManualClock()

    func request(_ path: String, key: String, params: String = #""join_key_map": {"id": "42"}"#) -> DataPlaneRequest {
        let body = #"{"params": {"workspace_name": "ws", "feature_service_name": "svc", \#(params)}}"#
        return DataPlaneRequest(method: .POST, uri: path, headers: ["Authorization": "Tecton-key \(key)"], body: ByteBuffer(string: body))
    }

    /// Statuses of `count` get-features calls, in order.
    func statuses(_ count: Int, _ fixture: ControllerFixture, key: String? = nil) async -> [UInt] {
        var result: [UInt] = []
        for _ in 0..<count {
            result.append(await fixture.controller.respond(to: request("/api/v1/feature-service/get-features", key: key ?? fixture.key)).status.code)
        }
        return result
    }

    @Test func anAccountGetsItsBurstThenWaitsForTheRate() async throws {
        let fixture = try ControllerFixture(defaultRateLimit: RateLimit(requestsPerSecond: 5, burst: 3), clock: clock.read)
        #expect(await statuses(3, fixture) == [200, 200, 200])
        let refused = await fixture.controller.respond(to: request("/api/v1/feature-service/get-features", key: fixture.key))
        #expect(refused.status == .tooManyRequests)
        #expect(refused.headers.first(name: "retry-after") == "1")
        let body = try #require(try JSONReader.parse(Array(refused.body.readableBytesView)).objectValue)
        #expect(body["code"]?.stringValue == "RESOURCE_EXHAUSTED")
        let message = try #require(body["message"]?.stringValue)
        #expect(message.contains("service account 'x'") && message.contains("5 lookups per second") && message.contains("bursts of 3"), "\(message)")
        #expect(!message.contains(fixture.key), "the key must not be echoed")
        // 0.2 s at 5 per second is one lookup.
        clock.advance(0.2)
        #expect(await statuses(2, fixture) == [200, 429])
        // A long pause refills to the burst, no further.
        clock.advance(60)
        #expect(await statuses(4, fixture) == [200, 200, 200, 429])
        // Three refusals in all, counted by account for operators (vpt health reads them).
        let metrics = String(buffer: await fixture.controller.respond(to: DataPlaneRequest(method: .GET, uri: "/metrics")).body)
        #expect(metrics.contains("vpt_rate_limited_requests_total{service_account=\"x\"} 3\n"), "\(metrics)")
        let open = try ControllerFixture(clock: clock.read)
        #expect(!String(buffer: await open.controller.respond(to: DataPlaneRequest(method: .GET, uri: "/metrics")).body).contains("vpt_rate_limited"))
    }

    @Test func retryAfterIsTheWaitRoundedUp() async throws {
        let fixture = try ControllerFixture(defaultRateLimit: RateLimit(requestsPerSecond: 1, burst: 1), clock: clock.read)
        #expect(await statuses(1, fixture) == [200])
        clock.advance(0.1)
        var refused = await fixture.controller.respond(to: request("/api/v1/feature-service/get-features", key: fixture.key))
        #expect(refused.headers.first(name: "retry-after") == "1")
        // One lookup at 1 per second, 0.1 s after the last: 0.9 s to wait, sent as 1. Five wanted
        // from a drained bucket at 1 per second: 5 s.
        let wide = try ControllerFixture(defaultRateLimit: RateLimit(requestsPerSecond: 1, burst: 5), clock: clock.read)
        let five = #""request_data": [\#(Array(repeating: #"{"join_key_map": {"id": "42"}}"#, count: 5).joined(separator: ","))]"#
        #expect(await wide.controller.respond(to: request("/api/v1/feature-service/get-features-batch", key: wide.key, params: five)).status == .ok)
        refused = await wide.controller.respond(to: request("/api/v1/feature-service/get-features-batch", key: wide.key, params: five))
        #expect(refused.status == .tooManyRequests)
        #expect(refused.headers.first(name: "retry-after") == "5")
    }

    @Test func eachAccountHasItsOwnBucketAndItsOwnLimitWinsOverTheDefault() async throws {
        let fixture = try ControllerFixture(defaultRateLimit: RateLimit(requestsPerSecond: 1, burst: 1), clock: clock.read)
        let (_, other) = APIKeyFormat.generate(tenant: "t")
        let (_, fast) = APIKeyFormat.generate(tenant: "t")
        fixture.access.update(
            ControlPlaneSnapshot(
                version: 2,
                principals: [
                    PrincipalAccess(serviceAccount: "x", keyHashes: [APIKeyFormat.hash(fixture.key)], roles: ["ws": "consumer"]),
                    PrincipalAccess(serviceAccount: "y", keyHashes: [APIKeyFormat.hash(other)], roles: ["ws": "consumer"]),
                    PrincipalAccess(
                        serviceAccount: "z", keyHashes: [APIKeyFormat.hash(fast)], roles: ["ws": "consumer"],
                        rateLimit: RateLimit(requestsPerSecond: 100, burst: 4)),
                ], repos: ["ws": fixture.repo]))
        #expect(await statuses(2, fixture) == [200, 429])
        #expect(await statuses(2, fixture, key: other) == [200, 429], "y has a bucket of its own")
        #expect(await statuses(5, fixture, key: fast) == [200, 200, 200, 200, 429], "z's own limit, not the default")
    }

    @Test func aNewSnapshotKeepsTheBucketAndAppliesAChangedLimitAtOnce() async throws {
        let fixture = try ControllerFixture(defaultRateLimit: RateLimit(requestsPerSecond: 1, burst: 2), clock: clock.read)
        #expect(await statuses(3, fixture) == [200, 200, 429])
        func publish(_ version: Int64, _ limit: RateLimit?) {
            fixture.access.update(
                ControlPlaneSnapshot(
                    version: version,
                    principals: [PrincipalAccess(serviceAccount: "x", keyHashes: [APIKeyFormat.hash(fixture.key)], roles: ["ws": "consumer"], rateLimit: limit)],
                    repos: ["ws": fixture.repo]))
        }
        publish(2, nil)
        #expect(await statuses(1, fixture) == [429], "an unchanged snapshot does not refill the bucket")
        publish(3, RateLimit(requestsPerSecond: 10, burst: 10))
        clock.advance(0.5)
        #expect(await statuses(6, fixture) == [200, 200, 200, 200, 200, 429], "half a second at the new 10 per second")
        publish(4, nil)
        clock.advance(30)
        #expect(await statuses(3, fixture) == [200, 200, 429], "back to the default's burst of 2")
    }

    @Test func aBatchCountsEachEntryAndOneLargerThanTheBurstIsA400() async throws {
        let fixture = try ControllerFixture(defaultRateLimit: RateLimit(requestsPerSecond: 1, burst: 3), clock: clock.read)
        func batch(_ entries: Int) -> DataPlaneRequest {
            let items = Array(repeating: #"{"join_key_map": {"id": "42"}}"#, count: entries).joined(separator: ",")
            return request("/api/v1/feature-service/get-features-batch", key: fixture.key, params: #""request_data": [\#(items)]"#)
        }
        #expect(await fixture.controller.respond(to: batch(2)).status == .ok)
        #expect(await fixture.controller.respond(to: batch(2)).status == .tooManyRequests, "one lookup is left, the batch needs two")
        let tooWide = await fixture.controller.respond(to: batch(4))
        #expect(tooWide.status == .badRequest)
        #expect(tooWide.headers.first(name: "retry-after") == nil, "no wait lets it through")
        let message = String(buffer: tooWide.body)
        #expect(message.contains("params.request_data holds 4 entries") && message.contains("at most 3 entries per request"), "\(message)")
        let overCap = await fixture.controller.respond(to: batch(1001))
        #expect(overCap.status == .badRequest && String(buffer: overCap.body).contains("holds at most 1000 entries"), "the size cap, not the burst")
        #expect(await fixture.controller.respond(to: batch(1)).status == .ok, "the refused batches took nothing")
    }

    @Test func withoutALimitNothingIsRefusedAndTheMetadataRouteCountsToo() async throws {
        let open = try ControllerFixture(clock: clock.read)
        #expect(Set(await statuses(500, open)) == [200])
        let limited = try ControllerFixture(defaultRateLimit: RateLimit(requestsPerSecond: 1, burst: 1), clock: clock.read)
        #expect(await limited.controller.respond(to: request("/api/v1/feature-service/metadata", key: limited.key)).status == .ok)
        #expect(await statuses(1, limited) == [429])
        // A caller without a valid key learns nothing about limits: 401 comes first.
        #expect(await statuses(1, limited, key: "not-a-key") == [401])
    }

    @Test func aLimitOutsideItsRangesIsNamed() {
        #expect(RateLimit(requestsPerSecond: 10).burst == 10)
        #expect(RateLimit(requestsPerSecond: 10, burst: 3).problems(at: "").isEmpty)
        #expect(RateLimit(requestsPerSecond: 0, burst: 2_000_000).problems(at: "x.") == [
            "x.requestsPerSecond: 0 must be between 1 and 1000000", "x.burst: 2000000 must be between 1 and 1000000",
        ])
    }
}
