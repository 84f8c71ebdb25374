import Foundation
import GRDB
import NIOCore
import NIOPosix
import Testing
import VPTContract
import VPTEngine
import VPTLocalCloud

@testable import VPTOnlineStore
import VPTTestSupport

/// The store opened the way a tenant's data plane opens it: from the rendered runtime config, with a
/// session assumed through the cross-account role.
@Suite struct SQLiteOnlineStoreTests {
    typealias Tenant = TenantFixture

    static func provision(_ names: [String], label: String = #function) async throws -> [Tenant] {
        try await TenantFixture.provision(names, example: "acme-eu", label: label)
    }

    func open(_ t: Tenant, config: StoreConfig? = nil, session: SessionCredential? = nil, regions: [String]? = nil, now: Date = Date()) throws -> SQLiteOnlineStore {
        try SQLiteOnlineStore(
            config: config ?? t.config.onlineStore, allowedRegions: regions ?? t.config.allowedRegions, session: session ?? t.session,
            sts: t.sts, write: true, now: now)
    }

    func record(_ user: String, amount: Double, event: Int64, write: Int64) -> OnlineRecord {
        OnlineRecord(
            workspace: "prod", featureView: "user_txn", joinKeys: [("user_id", .string(user))],
            features: [("amount", .float64(amount)), ("n", .int64(event))], eventTimeMicros: event, writeTimeMicros: write)
    }

    @Test func newestEventWinsAndLateEventsNeverOverwrite() async throws {
        let t = try await Self.provision(["acme"])[0]
        let store = try open(t)
        #expect(try store.write([record("u1", amount: 1, event: 100, write: 1)]) == 1)
        #expect(try store.write([record("u1", amount: 2, event: 200, write: 2)]) == 1)
        #expect(try store.write([record("u1", amount: 3, event: 150, write: 3)]) == 0)  // late
        #expect(try store.write([record("u1", amount: 4, event: 200, write: 1)]) == 0)  // same event, older write
        #expect(try store.write([record("u1", amount: 5, event: 200, write: 9)]) == 1)  // same event, newer write
        let got = try store.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.string("u1")], [.string("nobody")]])
        #expect(got[0]?.features.first?.value == .float64(5))
        #expect(got[0]?.eventTimeMicros == 200)
        #expect(got[1] == nil)
        let file = URL(fileURLWithPath: t.config.onlineStore.location)
        #expect(SecureFiles.mode(of: file) == 0o600)
        #expect(SecureFiles.mode(of: file.deletingLastPathComponent()) == 0o700)
    }

    /// A store locked by another writer past the busy timeout, or gone from disk, fails as
    /// `SQLiteStoreUnavailable` (the data plane answers 503); the write that failed changed nothing.
    @Test func aLockedOrMissingStoreIsUnavailableNotBroken() async throws {
        let t = try await Self.provision(["acme"])[0]
        let store = try SQLiteOnlineStore(
            config: t.config.onlineStore, allowedRegions: t.config.allowedRegions, session: t.session, sts: t.sts, write: true, busyTimeout: 0.2)
        try store.write([record("u1", amount: 1, event: 100, write: 1)])
        var holding = Configuration()
        holding.allowsUnsafeTransactions = true  // the lock is held across calls on purpose
        let holder = try DatabaseQueue(path: t.config.onlineStore.location, configuration: holding)
        try holder.inDatabase { try $0.execute(sql: "BEGIN IMMEDIATE") }
        let locked = #expect(throws: SQLiteStoreUnavailable.self) { try store.write([record("u1", amount: 2, event: 200, write: 2)]) }
        #expect(locked?.code == 5 && locked?.description.contains("locked") == true, "\(String(describing: locked))")
        try holder.inDatabase { try $0.execute(sql: "ROLLBACK") }
        #expect(try store.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.string("u1")]])[0]?.features.first?.value == .float64(1))

        // Corruption is not "retry later": it stays an ordinary error (a 500 for the operator).
        let corrupt = SQLiteStoreUnavailable.classify(DatabaseError(resultCode: .SQLITE_CORRUPT, message: "database disk image is malformed"))
        #expect(!(corrupt is SQLiteStoreUnavailable))
        let extended = SQLiteStoreUnavailable.classify(DatabaseError(resultCode: .SQLITE_IOERR_SHORT_READ, message: "short read"))
        #expect((extended as? SQLiteStoreUnavailable)?.code == 10, "extended codes are judged by their primary code")
        let cannotOpen = SQLiteStoreUnavailable.classify(SQLitePointReader.Failure.sqlite("open /gone", 14, "unable to open database file"))
        #expect((cannotOpen as? SQLiteStoreUnavailable)?.message == "open /gone: unable to open database file")
    }

    /// Reads on an event loop share one read transaction per pass of the loop: within a pass they
    /// see one snapshot, and the next pass sees every write committed before it (read-after-write).
    /// A read that fails ends the transaction, and the next read takes a new snapshot.
    @Test func readsOnALoopShareOnePassAndTheNextPassSeesNewWrites() async throws {
        let t = try await Self.provision(["acme"])[0]
        let store = try SQLiteOnlineStore(
            config: t.config.onlineStore, allowedRegions: t.config.allowedRegions, session: t.session, sts: t.sts, write: true, busyTimeout: 0.2)
        try store.write([record("u1", amount: 1, event: 100, write: 1)])
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        @Sendable func amount(_ user: String) throws -> FeatureValue? {
            try store.readEncoded(workspace: "prod", featureView: "user_txn", entityKeys: [[.string(user)]], inPassOf: loop)[0]
                .map { try StoredFeatures(encoded: $0) }?.features.first?.value
        }
        let inOnePass = try await loop.submit {
            let before = try amount("u1")
            try store.write([record("u1", amount: 2, event: 200, write: 2), record("u2", amount: 7, event: 100, write: 2)])
            return (before, try amount("u1"), try amount("u2"))
        }.get()
        #expect(inOnePass.0 == .float64(1))
        #expect(inOnePass.1 == .float64(1) && inOnePass.2 == nil, "the pass reads one snapshot, taken at its first read")
        let nextPass = try await loop.submit { (try amount("u1"), try amount("u2")) }.get()
        #expect(nextPass.0 == .float64(2) && nextPass.1 == .float64(7), "the next pass sees what was committed before it")

        // Off the loop, reads are autocommit and see the latest commit at once.
        try store.write([record("u1", amount: 3, event: 300, write: 3)])
        #expect(try amount("u1") == .float64(3))

        // A read that throws ends the pass's transaction: the next read in the same pass takes a
        // new snapshot.
        let reader = try SQLitePointReader(path: t.config.onlineStore.location, eager: true, busyTimeout: 0.2)
        struct Refused: Error {}
        let key = OnlineRecordCodec.entityKey([.string("u1")])
        @Sendable func stored(_ slot: SQLitePointReader.Slot) throws -> FeatureValue? {
            try slot.read("prod", "user_txn", key).map { try StoredFeatures(encoded: $0) }?.features.first?.value
        }
        let afterFailure = try await loop.submit {
            let before = try reader.withLoopPass(loop, stored)
            try store.write([record("u1", amount: 4, event: 400, write: 4)])
            let sameSnapshot = try reader.withLoopPass(loop, stored)
            let refused = (try? reader.withLoopPass(loop) { (_: SQLitePointReader.Slot) throws -> Int in throw Refused() }) == nil
            return (before, sameSnapshot, try reader.withLoopPass(loop, stored), refused)
        }.get()
        #expect(afterFailure.3, "the failing read's error reached its caller")
        #expect(afterFailure.0 == .float64(3) && afterFailure.1 == .float64(3))
        #expect(afterFailure.2 == .float64(4), "the failure ended the transaction; the next read began a new one")
    }

    @Test func aStoreOutsideTheAllowedRegionsIsNeverOpened() async throws {
        let t = try await Self.provision(["acme"])[0]
        var config = t.config.onlineStore
        config.region = "us-east-1"
        config.location = URL(fileURLWithPath: config.location).deletingLastPathComponent().appendingPathComponent("us.sqlite").path
        #expect(throws: OnlineStoreError.outsideResidency(region: "us-east-1", allowed: ["eu-west-1", "eu-central-1"])) {
            try open(t, config: config)
        }
        #expect(!FileManager.default.fileExists(atPath: config.location))
        #expect(throws: OnlineStoreError.self) { try open(t, regions: ["eu-central-1"]) }
    }

    @Test func oneTenantsCredentialCannotOpenAnotherTenantsStore() async throws {
        let tenants = try await Self.provision(["tenant-a", "tenant-b"])
        let (a, b) = (tenants[0], tenants[1])
        _ = try open(b)
        do {
            _ = try open(a, config: b.config.onlineStore)
            Issue.record("tenant-a opened tenant-b's store")
        } catch let error as OnlineStoreError {
            guard case .accessDenied(let reason) = error else { throw error }
            #expect(reason.contains("is not allowed to store:write"))
        }
        #expect(!FileManager.default.fileExists(atPath: b.config.onlineStore.location + "-a"))
    }

    @Test func anExpiredSessionIsRefused() async throws {
        let t = try await Self.provision(["acme"])[0]
        #expect(throws: OnlineStoreError.self) { try open(t, now: t.session.expiration.addingTimeInterval(1)) }
    }
}
