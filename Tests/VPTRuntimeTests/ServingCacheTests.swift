import Testing
import VPTContract
import VPTOnlineStore

@testable import VPTRuntime
import VPTTestSupport

@Suite struct ServingCacheTests {
    let metrics = RequestMetrics()

    func stored(_ value: Double) -> [UInt8] {
        OnlineRecordCodec.encodeValue(features: [("f", .float64(value))], eventTimeMicros: 1, writeTimeMicros: 1)
    }

    @Test func hitsMissesAndLeastRecentlyUsedEviction() throws {
        let cache = ServingCache(capacity: 2, maxAgeSeconds: 60, metrics: metrics)
        #expect(cache.get("ws", "fv", [.int64(1)]) == nil)
        cache.put("ws", "fv", [.int64(1)], stored(1))
        cache.put("ws", "fv", [.int64(2)], stored(2))
        #expect(try #require(cache.get("ws", "fv", [.int64(1)])) == stored(1))  // 1 is now most recent
        cache.put("ws", "fv", [.int64(3)], stored(3))  // evicts 2
        #expect(cache.count == 2)
        #expect(cache.get("ws", "fv", [.int64(2)]) == nil)
        #expect(cache.get("ws", "fv", [.int64(1)]) != nil)
        #expect(cache.get("ws", "fv", [.int64(3)]) != nil)
        #expect(metrics.value("vpt_serving_cache_hits_total") == 3)
        #expect(metrics.value("vpt_serving_cache_misses_total") == 2)
        #expect(metrics.value("vpt_serving_cache_evictions_total") == 1)
    }

    @Test func entriesExpireAfterMaxAgeAndAreKeyedPerWorkspace() {
        let cache = ServingCache(capacity: 10, maxAgeSeconds: 5, metrics: metrics)
        let start = ContinuousClock.now
        cache.put("ws", "fv", [.string("u")], stored(1), now: start)
        #expect(cache.get("ws", "fv", [.string("u")], now: start + .seconds(4)) != nil)
        #expect(cache.get("other", "fv", [.string("u")], now: start + .seconds(4)) == nil)
        #expect(cache.get("ws", "fv", [.string("u")], now: start + .seconds(5)) == nil)
        #expect(cache.count == 0)
    }

    @Test func maxAgeIsCappedAt24Hours() {
        #expect(ServingCache(capacity: 1, maxAgeSeconds: 1_000_000, metrics: metrics).maxAge == .seconds(86_400))
    }

    @Test func invalidateRemovesAnEntry() {
        let cache = ServingCache(capacity: 10, maxAgeSeconds: 60, metrics: metrics)
        cache.put("ws", "fv", [.int64(1)], stored(1))
        cache.invalidate("ws", "fv", [.int64(1)])
        #expect(cache.get("ws", "fv", [.int64(1)]) == nil)
    }

    @Test func knownMissingEntitiesAreCachedToo() throws {
        let cache = ServingCache(capacity: 10, maxAgeSeconds: 60, metrics: metrics)
        cache.put("ws", "fv", [.int64(9)], nil)
        let hit = try #require(cache.get("ws", "fv", [.int64(9)]))
        #expect(hit == nil)
    }
}
