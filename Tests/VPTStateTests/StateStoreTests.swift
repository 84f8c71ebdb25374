import Foundation
import Testing
import VPTModel

@testable import VPTState
import VPTTestSupport

@Suite struct StateStoreTests {
    let home = temporaryDirectory()

    func store(pool: String = "10.0.0.0/8") throws -> StateStore {
        let store = try StateStore(url: home.appendingPathComponent("state.db"))
        try store.initializeSetting("cidrPool", pool)
        return store
    }

    func block(_ text: String) throws -> CIDRBlock { try CIDRBlock.parse(text).get() }

    @Test func migrationsAreRecordedAndReopeningChangesNothing() throws {
        _ = try store()
        let again = try store()
        #expect(try again.appliedMigrations() == ["v1-fleet", "v2-value-key-index"])
        #expect(fileMode(home.appendingPathComponent("state.db")) == 0o600)
    }

    @Test func autoTakesTheLowestFreeBlockAndReusesReleasedOnes() throws {
        let store = try store()
        #expect(try store.allocateCIDR(tenant: "a", request: .auto(prefixLength: 16)) == block("10.0.0.0/16"))
        #expect(try store.allocateCIDR(tenant: "b", request: .auto(prefixLength: 16)) == block("10.1.0.0/16"))
        #expect(try store.allocateCIDR(tenant: "c", request: .auto(prefixLength: 24)) == block("10.2.0.0/24"))
        #expect(try store.allocateCIDR(tenant: "d", request: .auto(prefixLength: 16)) == block("10.3.0.0/16"))
        // Idempotent for the same tenant and request.
        #expect(try store.allocateCIDR(tenant: "b", request: .auto(prefixLength: 16)) == block("10.1.0.0/16"))
        try store.releaseCIDR(tenant: "a")
        #expect(try store.allocateCIDR(tenant: "e", request: .auto(prefixLength: 24)) == block("10.0.0.0/24"))
        #expect(try store.allocateCIDR(tenant: "f", request: .auto(prefixLength: 17)) == block("10.0.128.0/17"))
    }

    @Test func explicitBlocksAreCheckedForOverlapAndSkippedByAuto() throws {
        let store = try store()
        #expect(try store.allocateCIDR(tenant: "x", request: .explicit(block("10.0.0.0/20"))) == block("10.0.0.0/20"))
        #expect(throws: CIDRAllocationError.overlaps(requested: "10.0.8.0/21", tenant: "x", block: "10.0.0.0/20")) {
            try store.allocateCIDR(tenant: "y", request: .explicit(block("10.0.8.0/21")))
        }
        #expect(throws: CIDRAllocationError.overlaps(requested: "10.0.0.0/16", tenant: "x", block: "10.0.0.0/20")) {
            try store.allocateCIDR(tenant: "y", request: .explicit(block("10.0.0.0/16")))
        }
        #expect(try store.allocateCIDR(tenant: "z", request: .auto(prefixLength: 20)) == block("10.0.16.0/20"))
        #expect(try store.allocateCIDR(tenant: "w", request: .auto(prefixLength: 16)) == block("10.1.0.0/16"))
        // Changing the request moves the tenant to a new block in one step.
        #expect(try store.allocateCIDR(tenant: "x", request: .auto(prefixLength: 16)) == block("10.2.0.0/16"))
        #expect(try store.allocation(tenant: "x") == block("10.2.0.0/16"))
    }

    @Test func overlappingFindsOnlyTheBlocksThatShareAddresses() throws {
        let store = try store()
        _ = try store.allocateCIDR(tenant: "a", request: .explicit(block("10.0.0.0/16")))
        _ = try store.allocateCIDR(tenant: "b", request: .explicit(block("10.1.0.0/24")))
        _ = try store.allocateCIDR(tenant: "c", request: .explicit(block("10.1.1.0/24")))
        _ = try store.allocateCIDR(tenant: "d", request: .explicit(block("10.2.0.0/16")))
        #expect(try store.overlapping(block("10.0.128.0/20")).map(\.tenant) == ["a"])
        #expect(try store.overlapping(block("10.1.0.0/16")).map(\.tenant) == ["b", "c"])
        #expect(try store.overlapping(block("10.0.0.0/8")).map(\.tenant) == ["a", "b", "c", "d"])
        #expect(try store.overlapping(block("10.1.2.0/24")).isEmpty)
    }

    @Test func exhaustedPoolSaysSo() throws {
        let store = try store(pool: "192.168.0.0/16")
        _ = try store.allocateCIDR(tenant: "a", request: .auto(prefixLength: 17))
        _ = try store.allocateCIDR(tenant: "b", request: .auto(prefixLength: 17))
        #expect(throws: CIDRAllocationError.poolExhausted(pool: "192.168.0.0/16", prefixLength: 28)) {
            try store.allocateCIDR(tenant: "c", request: .auto(prefixLength: 28))
        }
    }

    @Test func allocationsNeverOverlapUnderChurn() throws {
        let store = try store(pool: "10.0.0.0/12")
        var rng = SystemRandomNumberGenerator()
        for i in 0..<300 {
            let tenant = "t\(Int.random(in: 0..<60, using: &rng))"
            if Bool.random(using: &rng) {
                _ = try? store.allocateCIDR(tenant: tenant, request: .auto(prefixLength: Int.random(in: 16...24, using: &rng)))
            } else {
                try store.releaseCIDR(tenant: tenant)
            }
            if i % 50 == 0 || i == 299 {
                let blocks = Array(try store.allocations().values).sorted()
                for (a, b) in zip(blocks, blocks.dropFirst()) { #expect(!a.overlaps(b), "\(a) overlaps \(b)") }
            }
        }
    }

    @Test func ensureValueKeepsTheFirstValue() throws {
        let store = try store()
        #expect(try store.ensureValue(tenant: "a", key: "externalId") { "one" } == "one")
        #expect(try store.ensureValue(tenant: "a", key: "externalId") { "two" } == "one")
        #expect(try store.values(tenant: "a") == ["externalId": "one"])
    }

    @Test func lockNamesItsHolderAndIsReleased() throws {
        var first: TenantLock? = try TenantLock(home: home, tenant: "acme", purpose: "vpt provision tenant acme")
        #expect(first != nil)
        do {
            _ = try TenantLock(home: home, tenant: "acme", purpose: "second")
            Issue.record("a second lock was granted")
        } catch let held as TenantLock.Held {
            #expect(held.holder.contains("pid \(getpid())"))
            #expect(held.holder.contains("vpt provision tenant acme"))
        }
        _ = try TenantLock(home: home, tenant: "other", purpose: "independent")
        first = nil
        _ = try TenantLock(home: home, tenant: "acme", purpose: "after release")
    }
}
