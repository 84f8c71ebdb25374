import Foundation

#if canImport(Glibc)
    import Glibc
#endif
import Testing
import VPTContract
import VPTEngine
import VPTLocalCloud

@testable import VPTOnlineStore
import VPTTestSupport

/// Against a real redis-server started by infra/redis.sh on a loopback port of its own.
@Suite struct RedisOnlineStoreTests {
    /// Starts redis-server, runs `body`, stops it.
    func withRedis(_ body: (Int) async throws -> Void) async throws {
        let port = Int.random(in: 30_000...39_999)
        let dir = temporaryDirectory("redis")
        let script = repositoryRoot.appendingPathComponent("infra/redis.sh").path
        try runScript(["bash", script, "start", String(port), dir.path])
        defer { try? runScript(["bash", script, "stop", String(port)]) }
        try await body(port)
    }

    func provision(_ names: [String], port: Int, label: String = #function) async throws -> [TenantFixture] {
        try await TenantFixture.provision(names, example: "globex-us", label: label) {
            $0.replacingOccurrences(of: "redis://127.0.0.1:6379/0", with: "redis://127.0.0.1:\(port)/0")
                .replacingOccurrences(of: "    cidr: 10.42.0.0/20\n", with: "")
        }
    }

    func record(_ user: Int64, amount: Double, event: Int64, write: Int64) -> OnlineRecord {
        OnlineRecord(
            workspace: "prod", featureView: "user_txn", joinKeys: [("user_id", .int64(user))],
            features: [("amount", .float64(amount)), ("label", .string("x\u{0}y"))], eventTimeMicros: event, writeTimeMicros: write)
    }

    @Test func newestEventWinsAtomicallyInRedis() async throws {
        try await withRedis { port in
            let t = try await provision(["globex"], port: port)[0]
            let store = try RedisOnlineStore(config: t.config.onlineStore, allowedRegions: t.config.allowedRegions, session: t.session, sts: t.sts, write: true)
            #expect(try store.write([record(1, amount: 1, event: -100, write: 1), record(2, amount: 9, event: 5, write: 5)]) == 2)
            #expect(try store.write([record(1, amount: 2, event: 200, write: 2)]) == 1)
            #expect(try store.write([record(1, amount: 3, event: 150, write: 3)]) == 0)  // late
            #expect(try store.write([record(1, amount: 4, event: 200, write: 1)]) == 0)  // same event, older write
            #expect(try store.write([record(1, amount: 5, event: 200, write: 9)]) == 1)
            let got = try store.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)], [.int64(3)], [.int64(2)]])
            #expect(got[0]?.features.map(\.value) == [.float64(5), .string("x\u{0}y")])
            #expect(got[1] == nil)
            #expect(got[2]?.eventTimeMicros == 5)
            // Keys live under the tenant's namespace.
            let raw = try RedisConnection(host: "127.0.0.1", port: port)
            guard case .array(let keys?) = try raw.command([Array("KEYS".utf8), Array("*".utf8)]) else { throw CocoaError(.coderInvalidValue) }
            #expect(keys.count == 2)
            #expect(keys.allSatisfy { if case .bulk(let k?) = $0 { return k.starts(with: Array("vpt:globex:prod:user_txn:".utf8)) } else { return false } })
        }
    }

    /// The serving path's pipelined reads: many concurrent reads answered right and in order, a
    /// failure when Redis goes away, and reads working again once it is back.
    @Test func pipelinedReadsUnderConcurrencyAndAcrossARedisRestart() async throws {
        let port = Int.random(in: 30_000...39_999)
        let dir = temporaryDirectory("redis")
        let script = repositoryRoot.appendingPathComponent("infra/redis.sh").path
        try runScript(["bash", script, "start", String(port), dir.path])
        defer { try? runScript(["bash", script, "stop", String(port)]) }
        let t = try await provision(["pipelined"], port: port)[0]
        let store = try RedisOnlineStore(config: t.config.onlineStore, allowedRegions: t.config.allowedRegions, session: t.session, sts: t.sts, write: true)
        _ = try store.write((1...300).map { record(Int64($0), amount: Double($0) / 4, event: 10, write: 1) })
        let answers = try await withThrowingTaskGroup(of: (Int, Double?).self) { group in
            for user in 1...400 {
                group.addTask {
                    let got = try await store.readEncoded(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(Int64(user))]])
                    guard case .float64(let amount)? = try got[0].map(StoredFeatures.init(encoded:))?.features.first?.value else { return (user, nil) }
                    return (user, amount)
                }
            }
            return try await group.reduce(into: [Int: Double?]()) { $0[$1.0] = .some($1.1) }
        }
        #expect(answers.count == 400)
        #expect((1...300).allSatisfy { answers[$0]! == Double($0) / 4 })
        #expect((301...400).allSatisfy { answers[$0]! == nil })

        try runScript(["bash", script, "stop", String(port)])
        await #expect(throws: (any Error).self) {
            try await store.readEncoded(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])
        }
        try runScript(["bash", script, "start", String(port), dir.path])
        var again: [[UInt8]?] = []
        for _ in 0..<20 {
            if let got = try? await store.readEncoded(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(2)]]) {
                again = got
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let value = try #require(again.first ?? nil)
        #expect(try StoredFeatures(encoded: value).features.first?.value == .float64(0.5))
    }

    @Test func credentialsAndResidencyAreCheckedBeforeConnecting() async throws {
        try await withRedis { port in
            let tenants = try await provision(["tenant-a", "tenant-b"], port: port)
            let (a, b) = (tenants[0], tenants[1])
            #expect(throws: OnlineStoreError.self) {
                try RedisOnlineStore(config: b.config.onlineStore, allowedRegions: b.config.allowedRegions, session: a.session, sts: a.sts, write: false)
            }
            var outside = a.config.onlineStore
            outside.region = "eu-west-1"
            #expect(throws: OnlineStoreError.outsideResidency(region: "eu-west-1", allowed: ["us-east-1", "us-west-2"])) {
                try RedisOnlineStore(config: outside, allowedRegions: a.config.allowedRegions, session: a.session, sts: a.sts, write: false)
            }
            _ = try RedisOnlineStore(config: b.config.onlineStore, allowedRegions: b.config.allowedRegions, session: b.session, sts: b.sts, write: false)
        }
    }

    @Test func concurrentWritersThroughThePoolKeepTheNewestEvent() async throws {
        try await withRedis { port in
            let t = try await provision(["globex"], port: port)[0]
            let store = try RedisOnlineStore(config: t.config.onlineStore, allowedRegions: t.config.allowedRegions, session: t.session, sts: t.sts, write: true)
            let failures = FailureCount()
            DispatchQueue.concurrentPerform(iterations: 16) { worker in
                for i in 0..<40 {
                    let event = Int64(i * 16 + worker)
                    do {
                        _ = try store.write([record(1, amount: Double(event), event: event, write: event)])
                        _ = try store.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])
                    } catch { failures.add() }
                }
            }
            #expect(failures.value == 0)
            let final = try store.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])[0]
            #expect(final?.eventTimeMicros == Int64(16 * 40 - 1))
            #expect(final?.features.first?.value == .float64(Double(16 * 40 - 1)))
        }
    }
}

final class FailureCount: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
