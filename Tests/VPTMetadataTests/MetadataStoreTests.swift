import Crypto
import Foundation
import GRDB
import Testing
import VPTLocalCloud

@testable import VPTMetadata
import VPTTestSupport

@Suite struct MetadataStoreTests {
    let home = temporaryDirectory()
    let cmk = KMSKeyRef(account: "111122223333", region: "eu-west-1", keyId: "cmk-1")
    let role = "arn:aws:iam::111122223333:role/vpt-acme-control-plane"
    var url: URL { home.appendingPathComponent("tenants/acme/control-plane/metadata.sqlite") }

    func kms() throws -> LocalKMS {
        try FleetMasterKey.create(home: home)
        let kms = try LocalKMS(home: home)
        _ = try kms.createKey(cmk, description: "t", rotationDays: 365, grantees: [role])
        return kms
    }

    @Test func valuesRoundTripAndAreEncryptedAtRest() throws {
        let store = try MetadataStore(url: url, tenant: "acme", cmk: cmk, kms: try kms(), caller: role)
        let secret = Data("feature_view user_txn_sum_7d owner=fraud-team".utf8)
        try store.put(kind: "feature_view", workspace: "prod", name: "user_txn", value: secret)
        try store.put(kind: "feature_view", workspace: "prod", name: "merchant", value: Data("m".utf8))
        #expect(try store.get(kind: "feature_view", workspace: "prod", name: "user_txn") == secret)
        #expect(try store.list(kind: "feature_view", workspace: "prod").map(\.name) == ["merchant", "user_txn"])
        #expect(try store.get(kind: "feature_view", workspace: "staging", name: "user_txn") == nil)
        for suffix in ["", "-wal"] {
            if let bytes = FileManager.default.contents(atPath: url.path + suffix) {
                #expect(bytes.range(of: Data("user_txn_sum_7d".utf8)) == nil, "plaintext found in metadata.sqlite\(suffix)")
            }
        }
        #expect(SecureFiles.mode(of: url) == 0o600)
        try store.delete(kind: "feature_view", workspace: "prod", name: "merchant")
        #expect(try store.list(kind: "feature_view", workspace: "prod").count == 1)
    }

    @Test func reopeningReusesTheDataKeyAndSurvivesCMKRotation() throws {
        let kms = try kms()
        do {
            let store = try MetadataStore(url: url, tenant: "acme", cmk: cmk, kms: kms, caller: role)
            try store.put(kind: "principal", workspace: "prod", name: "svc", value: Data("consumer".utf8))
        }
        try kms.rotate(cmk)
        let reopened = try MetadataStore(url: url, tenant: "acme", cmk: cmk, kms: kms, caller: role)
        #expect(try reopened.get(kind: "principal", workspace: "prod", name: "svc") == Data("consumer".utf8))
        let keys = try DatabaseQueue(path: url.path).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM data_key") }
        #expect(keys == 1)
    }

    @Test func aRecordMovedToAnotherNameFailsAuthentication() throws {
        let store = try MetadataStore(url: url, tenant: "acme", cmk: cmk, kms: try kms(), caller: role)
        try store.put(kind: "principal", workspace: "prod", name: "a", value: Data("viewer".utf8))
        try store.put(kind: "principal", workspace: "prod", name: "b", value: Data("owner".utf8))
        try DatabaseQueue(path: url.path).write { db in
            try db.execute(sql: "UPDATE metadata_record SET ciphertext = (SELECT ciphertext FROM metadata_record WHERE name = 'b') WHERE name = 'a'")
        }
        #expect(throws: MetadataStoreError.undecryptable(kind: "principal", workspace: "prod", name: "a")) {
            try store.get(kind: "principal", workspace: "prod", name: "a")
        }
    }

    @Test func disablingTheCMKLocksTheMetadataAndReEnablingRestoresIt() throws {
        let kms = try kms()
        do {
            let store = try MetadataStore(url: url, tenant: "acme", cmk: cmk, kms: kms, caller: role)
            try store.put(kind: "workspace", workspace: "prod", name: "prod", value: Data("{}".utf8))
        }
        try kms.setEnabled(cmk, false)
        #expect(throws: MetadataStoreError.self) { try MetadataStore(url: url, tenant: "acme", cmk: cmk, kms: kms, caller: role) }
        try kms.setEnabled(cmk, true)
        let store = try MetadataStore(url: url, tenant: "acme", cmk: cmk, kms: kms, caller: role)
        #expect(try store.get(kind: "workspace", workspace: "prod", name: "prod") == Data("{}".utf8))
    }

    @Test func anotherTenantsRoleCannotOpenIt() throws {
        let kms = try kms()
        _ = try MetadataStore(url: url, tenant: "acme", cmk: cmk, kms: kms, caller: role)
        #expect(throws: MetadataStoreError.self) {
            try MetadataStore(url: url, tenant: "acme", cmk: cmk, kms: kms, caller: "arn:aws:iam::999999999999:role/vpt-other-control-plane")
        }
    }
}
