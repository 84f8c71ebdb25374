import Foundation
import Testing
import VPTContract
import VPTEngine
import VPTLocalCloud
import VPTMetadata
import VPTTestSupport

/// `vpt keys rotate --cmk --reencrypt` killed (SIGKILL) at every step: every metadata record stays
/// decryptable, and a re-run completes the rotation (all data keys under the newest version,
/// older versions disabled, no marker left).
@Suite(.offCooperativePool) struct KeyRotationCrashTests {
    static let points = [
        "cmk-rotate.after-version", "cmk-rotate.after-rewrap", "cmk-reencrypt.after-new-key", "cmk-reencrypt.after-batch",
        "cmk-reencrypt.after-batch#2", "cmk-rotate.before-disable",
    ]
    static let recordCount = 4_500  // three re-encryption batches of 2,000

    struct Fixture {
        var home: URL
        var config: RuntimeConfig
        var cmk: KMSKeyRef
        var expected: [String: Data]

        var database: URL { URL(fileURLWithPath: config.controlPlane.dataDirectory).appendingPathComponent("metadata.sqlite") }

        /// Opens the metadata as the control plane does and reads every record back.
        func readAll() throws -> [String: Data] {
            let store = try MetadataStore(url: database, tenant: config.tenant, cmk: cmk, kms: try LocalKMS(home: home), caller: config.controlPlane.roleArn)
            var found: [String: Data] = [:]
            for (name, value) in try store.list(kind: "probe", workspace: "prod") { found[name] = value }
            return found
        }
    }

    /// A configuration-only fleet with one tenant and a metadata database of `recordCount` records.
    static func fixture() throws -> Fixture {
        let home = temporaryDirectory("keycrash")
        try #require(try vpt(["init", "--no-runtime"], home: home).status == 0)
        try #require(try vpt(["provision", "tenant", "acme-eu", "-f", examplePath("acme-eu.yaml")], home: home).status == 0)
        let config = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: home.appendingPathComponent("tenants/acme-eu/config/runtime.json")))
        let cmk = try #require(KMSKeyRef(arn: config.controlPlane.cmkArn))
        let store = try MetadataStore(
            url: URL(fileURLWithPath: config.controlPlane.dataDirectory).appendingPathComponent("metadata.sqlite"), tenant: "acme-eu", cmk: cmk,
            kms: try LocalKMS(home: home), caller: config.controlPlane.roleArn)
        var expected: [String: Data] = [:]
        for i in 0..<recordCount {
            let value = Data("record \(i): \(UUID().uuidString)".utf8)
            try store.put(kind: "probe", workspace: "prod", name: String(format: "r%05d", i), value: value)
            expected[String(format: "r%05d", i)] = value
        }
        return Fixture(home: home, config: config, cmk: cmk, expected: expected)
    }

    @Test(arguments: points)
    func killedRotationLeavesEveryRecordReadableAndReRunCompletesIt(point: String) throws {
        let f = try Self.fixture()
        let killed = try vpt(["keys", "rotate", "acme-eu", "--cmk", "--reencrypt"], home: f.home, environment: ["VPT_FAULT": point])
        #expect(killed.killedBySignal == SIGKILL, "\(point) was not reached: \(killed.stdout)\(killed.stderr)")
        #expect(try f.readAll() == f.expected, "records unreadable after a kill at \(point)")

        let rerun = try vpt(["keys", "rotate", "acme-eu", "--cmk", "--reencrypt"], home: f.home)
        #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
        #expect(try f.readAll() == f.expected)
        let key = try #require(try LocalKMS(home: f.home).describe(f.cmk))
        let dataKeys = try MetadataKeyMaintenance(
            database: f.database, tenant: "acme-eu", cmk: f.cmk, kms: try LocalKMS(home: f.home), caller: "arn:aws:iam::\(f.cmk.account):root"
        ).dataKeys()
        #expect(dataKeys.count == 1 && dataKeys.allSatisfy { $0.cmkVersion == key.primaryVersion && $0.records == Self.recordCount + 0 })
        #expect(key.versions.filter(\.enabled).map(\.version) == [key.primaryVersion], "older versions stay enabled: \(key.versions)")
        #expect(!FileManager.default.fileExists(atPath: f.home.appendingPathComponent("tenants/acme-eu/keys/cmk-rotation.json").path))
        let audit = try vpt(["keys", "audit", "acme-eu"], home: f.home)
        #expect(audit.status == 0 && audit.stdout.contains("cmk.rotate.complete") && audit.stdout.contains("hash chain intact"))
    }

    @Test func rotationWithoutReencryptionRewrapsAndDueRotatesOnlyOldKeys() throws {
        let f = try Self.fixture()
        #expect(try vpt(["keys", "rotate", "--due"], home: f.home).stdout.contains("No CMK is due"))
        // Age the key past rotationDays (365).
        let kms = try LocalKMS(home: f.home)
        let file = f.home.appendingPathComponent("accounts/\(f.cmk.account)/\(f.cmk.region)/kms/keys/\(f.cmk.keyId).json")
        var key = try #require(try SecureFiles.readJSON(KMSKey.self, from: file))
        key.versions = key.versions.map { var v = $0; v.createdAt = Date().addingTimeInterval(-400 * 86_400); return v }
        try SecureFiles.writeJSON(key, to: file)
        let due = try vpt(["keys", "rotate", "--due", "--output", "json"], home: f.home)
        #expect(due.status == 0, "\(due.stderr)")
        let reports = try JSONSerialization.jsonObject(with: Data(due.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(reports.count == 1 && reports.first?["newVersion"] as? Int == 2 && reports.first?["dataKeysRewrapped"] as? Int == 1)
        #expect(reports.first?["recordsReencrypted"] == nil)
        #expect(try f.readAll() == f.expected)
        #expect(try kms.describe(f.cmk)?.versions.map(\.enabled) == [false, true])
        #expect(try vpt(["keys", "rotate", "--due"], home: f.home).stdout.contains("No CMK is due"))

        // Tampering with the audit log breaks its chain.
        let log = f.home.appendingPathComponent("accounts").path
        let audit = try #require(FileManager.default.enumerator(atPath: log)?.compactMap { $0 as? String }.first { $0.hasSuffix("audit/acme-eu.jsonl") })
        let url = URL(fileURLWithPath: log).appendingPathComponent(audit)
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n")
        try (lines.dropFirst().joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        let broken = try vpt(["keys", "audit", "acme-eu"], home: f.home)
        #expect(broken.status == 1 && broken.stdout.contains("breaks at line 1"))
    }

    @Test func badArgumentsAreRefused() throws {
        let home = temporaryDirectory("keyargs")
        #expect(try vpt(["init", "--no-runtime"], home: home).status == 0)
        #expect(try vpt(["keys", "rotate", "acme-eu"], home: home).status == 64)
        #expect(try vpt(["keys", "rotate", "acme-eu", "--cmk", "--due"], home: home).status == 64)
        #expect(try vpt(["keys", "rotate", "--due", "acme-eu"], home: home).status == 64)
        #expect(try vpt(["keys", "rotate", "acme-eu", "--reencrypt", "--api-key", "x"], home: home).status == 64)
        #expect(try vpt(["keys", "rotate", "nobody", "--cmk"], home: home).status == 1)
        #expect(try vpt(["keys", "revoke", "acme-eu"], home: home).status == 64)
    }
}
