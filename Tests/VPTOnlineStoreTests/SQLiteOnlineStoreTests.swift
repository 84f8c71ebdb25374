import Foundation
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
