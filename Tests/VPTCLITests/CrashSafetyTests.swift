import Foundation
import Testing
import VPTLocalCloud
import VPTState
import VPTTestSupport

/// SIGKILL `vpt provision` (and `vpt deprovision`) at points inside every resource kind, re-run, and
/// compare with an uninterrupted run.
@Suite(.offCooperativePool) struct CrashSafetyTests {
    static let provisionPoints = [
        "apply.before:vendor_account", "vendor_account.after-directory", "apply.after:vendor_account",
        "apply.before:vpc", "provider.end:vpc", "apply.after:subnet.a", "provider.begin:subnet",
        "iam_role.after-role", "iam_role.after-access-key", "apply.after:iam_role.data_plane",
        "kms.before-key-write", "cmk.after-key", "apply.after:cmk",
        "provider.begin:cross_account_role", "apply.after:cross_account_role",
        "online_store.after-directory", "offline_store.after-directory", "apply.after:online_store",
        "provider.begin:runtime_config", "apply.after:runtime_config",
        "provider.end:control_plane", "apply.before:data_plane", "provider.begin:data_plane", "provider.begin:principal",
        "apply.after:principal.fraud-scorer.prod",
        "file.before-rename#1", "file.before-rename#6", "file.before-rename#11", "file.before-rename#16",
        "runtime_secrets.after-admin-key", "certificates.after-ca-key", "certificates.after-leaf-key#2", "provider.end:certificates",
    ]

    /// Relative paths of everything vpt created, with generated ids replaced by their names, so two
    /// fleets can be compared.
    static func shape(home: URL, tenant: String) throws -> [String] {
        let values = try StateStore(url: home.appendingPathComponent("state.db")).values(tenant: tenant)
        let replacements = values.filter { ["vendorAccountId", "vpcId", "subnetId.0", "subnetId.1", "cmkKeyId", "externalId"].contains($0.key) }
        return try FileManager.default.subpathsOfDirectory(atPath: home.path).filter {
            !$0.hasPrefix("state.db") && !$0.hasPrefix("locks")
        }.map { path in
            replacements.reduce(path) { $0.replacingOccurrences(of: $1.value, with: "<\($1.key)>") }
        }.sorted()
    }

    static let reference: [String] = {
        let home = temporaryDirectory("reference")
        _ = try? vpt(["init", "--no-runtime"], home: home)
        _ = try? vpt(["provision", "tenant", "acme-eu", "-f", examplePath("acme-eu.yaml")], home: home)
        return (try? shape(home: home, tenant: "acme-eu")) ?? []
    }()

    @Test(arguments: provisionPoints)
    func killedProvisionIsCompletedByReRunning(point: String) throws {
        let home = temporaryDirectory("crash")
        try vpt(["init", "--no-runtime"], home: home)
        let spec = examplePath("acme-eu.yaml")
        let crashed = try vpt(["provision", "tenant", "acme-eu", "-f", spec], home: home, environment: ["VPT_FAULT": point])
        #expect(crashed.killedBySignal == SIGKILL, "fault point \(point) was never reached: \(crashed.stdout)\(crashed.stderr)")
        let store = try StateStore(url: home.appendingPathComponent("state.db"))
        let generatedBeforeReRun = try store.values(tenant: "acme-eu")

        let rerun = try vpt(["provision", "tenant", "acme-eu", "-f", spec], home: home)
        #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
        #expect(try vpt(["plan", "tenant", "acme-eu", "-f", spec, "--detailed-exitcode"], home: home).status == 0)

        // Same CIDR, keys and external ID as before the crash, and as an uninterrupted run would give.
        let values = try store.values(tenant: "acme-eu")
        for (key, value) in generatedBeforeReRun { #expect(values[key] == value, "\(key) changed after the crash") }
        #expect(try store.allocation(tenant: "acme-eu")?.description == "10.0.0.0/16")
        #expect(try store.resources(tenant: "acme-eu").allSatisfy { $0.status == .created })
        #expect(try Self.shape(home: home, tenant: "acme-eu") == Self.reference)

        // No duplicate or orphaned resource, no temporary file.
        let vendor = try #require(values["vendorAccountId"])
        let region = home.appendingPathComponent("accounts/\(vendor)/eu-west-1")
        #expect(try FileManager.default.contentsOfDirectory(atPath: region.appendingPathComponent("kms/keys").path).count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: region.appendingPathComponent("ec2/vpcs").path).count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: region.appendingPathComponent("ec2/subnets").path).count == 2)
        let iam = LocalIAM(accountsRoot: home.appendingPathComponent("accounts"))
        let role = try #require(try iam.role(account: vendor, name: "vpt-acme-eu-data-plane"))
        #expect(role.accessKeys.count == 1)
        let credential = try #require(
            try SecureFiles.readJSON(AccessKeyCredential.self, from: home.appendingPathComponent("tenants/acme-eu/secrets/data-plane-credential.json")))
        #expect(try iam.authenticate(credential)?.name == "vpt-acme-eu-data-plane")
        #expect(SecureFiles.temporaryFiles(under: home).isEmpty)
        // The key that exists is the one recorded, and it works.
        let kms = try LocalKMS(home: home)
        let ref = KMSKeyRef(account: vendor, region: "eu-west-1", keyId: try #require(values["cmkKeyId"]))
        let sealed = try kms.encrypt(ref, [7], context: [:], caller: "arn:aws:iam::\(vendor):root")
        #expect(try kms.decrypt(ref, sealed, context: [:], caller: "arn:aws:iam::\(vendor):root") == [7])
    }

    @Test(arguments: ["apply.delete:cmk", "provider.delete:vpc", "apply.delete:iam_role.data_plane", "provider.delete:vendor_account"])
    func killedDeprovisionIsCompletedByReRunning(point: String) throws {
        let home = temporaryDirectory("crash-deprovision")
        try vpt(["init", "--no-runtime"], home: home)
        try vpt(["provision", "tenant", "acme-eu", "-f", examplePath("acme-eu.yaml")], home: home)
        let store = try StateStore(url: home.appendingPathComponent("state.db"))
        let values = try store.values(tenant: "acme-eu")
        let crashed = try vpt(["deprovision", "tenant", "acme-eu"], home: home, environment: ["VPT_FAULT": point])
        #expect(crashed.killedBySignal == SIGKILL)
        #expect(try store.tenant("acme-eu")?.status == .deprovisioning)
        let rerun = try vpt(["deprovision", "tenant", "acme-eu"], home: home)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try store.tenant("acme-eu") == nil)
        #expect(try store.allocations().isEmpty)
        let kms = try LocalKMS(home: home)
        let key = try kms.describe(KMSKeyRef(account: values["vendorAccountId"]!, region: "eu-west-1", keyId: values["cmkKeyId"]!))
        #expect(key?.state == .pendingDeletion)
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("accounts/210987654321/eu-west-1/online/acme-eu/store.json").path))
        #expect(SecureFiles.temporaryFiles(under: home).isEmpty)
    }
}
