import Foundation
import Testing
import VPTContract
import VPTLocalCloud
import VPTModel
import VPTState

@testable import VPTEngine
import VPTTestSupport

@Suite struct ProvisionerTests {
    @Test func provisionCreatesTheWholeGraphAndReRunTouchesNothing() async throws {
        let p = try freshFleet()
        let spec = try p.loadSpec(yaml: try exampleYAML("acme-eu.yaml"), name: "acme-eu")
        let report = try await p.provision(tenant: "acme-eu", spec: spec)
        #expect(report.plan.changes.allSatisfy { $0.action == .create })
        let resources = try p.store.resources(tenant: "acme-eu")
        #expect(Set(resources.map(\.address)) == [
            "vendor_account", "vpc", "subnet.a", "subnet.b", "iam_role.control_plane", "iam_role.data_plane", "cmk",
            "cross_account_role", "online_store", "offline_store", "certificates", "runtime_config", "control_plane", "data_plane",
            "principal.fraud-scorer.prod", "runtime_secrets",
        ])
        #expect(resources.allSatisfy { $0.status == .created })
        #expect(try p.store.tenant("acme-eu")?.status == .ready)

        let before = snapshot(p.paths.home)
        let events = try p.store.events(tenant: "acme-eu").count
        let again = try await p.provision(tenant: "acme-eu", spec: spec)
        #expect(again.plan.isEmpty)
        #expect(snapshot(p.paths.home) == before)
        #expect(try p.store.resources(tenant: "acme-eu") == resources)
        #expect(try p.store.events(tenant: "acme-eu").count == events)
    }

    @Test func planWritesNothing() throws {
        let p = try freshFleet()
        let spec = try p.loadSpec(yaml: try exampleYAML("acme-eu.yaml"))
        let plan = try p.plan(tenant: "acme-eu", spec: spec)
        #expect(plan.changes.count == 16)
        #expect(plan.changes.first { $0.address == "vpc" }?.changes.contains { $0.field == "cidr" && $0.new == TenantIdentity.unknown } == true)
        #expect(try p.store.values(tenant: "acme-eu").isEmpty)
        #expect(try p.store.allocations().isEmpty)
        #expect(try p.store.tenants().isEmpty)
    }

    @Test func changedSpecChangesOnlyWhatDiffers() async throws {
        let p = try freshFleet()
        let spec = try p.loadSpec(yaml: try exampleYAML("globex-us.yaml"))
        _ = try await p.provision(tenant: "globex-us", spec: spec)
        let identity = try p.store.values(tenant: "globex-us")
        var changed = spec
        changed.dataPlane.servingCache.maxAgeSeconds = 900
        changed.customerAccount.crossAccountRole.maxSessionSeconds = 1800
        changed.principals.removeLast()
        let plan = try p.plan(tenant: "globex-us", spec: changed)
        // control_plane changes too: its processes restart with the new config.
        #expect(plan.changes.map(\.address).sorted() == ["control_plane", "cross_account_role", "principal.analyst.staging", "runtime_config"])
        #expect(plan.changes.first { $0.address == "principal.analyst.staging" }?.action == .delete)
        _ = try await p.provision(tenant: "globex-us", spec: changed)
        #expect(try p.plan(tenant: "globex-us", spec: changed).isEmpty)
        #expect(try p.store.values(tenant: "globex-us") == identity)
        let role = try LocalIAM(accountsRoot: p.paths.accounts).role(account: "123456789012", name: "vpt-globex-us-access")
        #expect(role?.maxSessionSeconds == 1800)
        let config = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: p.paths.runtimeConfig("globex-us")))
        #expect(config.dataPlane.servingCache.maxAgeSeconds == 900)
        #expect(config.principals.map(\.serviceAccount) == ["ml-platform", "recommender"])
    }

    /// Every setting the runtime config carries re-renders it (and restarts the planes) when it
    /// changes: the serving limit, the event loops, and each Rift setting, not only `enabled` and `region`.
    @Test(arguments: ["rateLimit", "rateLimit.burst", "eventLoops", "maxConnections", "rift.maxAttempts", "rift.maxConcurrentJobs", "rift.retryBackoffSeconds", "rift.jobHistoryDays"])
    func aChangedDataPlaneSettingReachesTheRuntimeConfig(_ setting: String) async throws {
        let p = try freshFleet()
        var spec = try p.loadSpec(yaml: try exampleYAML("acme-eu.yaml"))
        if setting == "rateLimit.burst" { spec.dataPlane.rateLimit = RateLimit(requestsPerSecond: 100) }
        _ = try await p.provision(tenant: "acme-eu", spec: spec)
        var changed = spec
        switch setting {
        case "rateLimit": changed.dataPlane.rateLimit = RateLimit(requestsPerSecond: 100, burst: 20)
        case "rateLimit.burst": changed.dataPlane.rateLimit?.burst = 400
        case "rift.maxAttempts": changed.dataPlane.rift.maxAttempts = 7
        case "rift.maxConcurrentJobs": changed.dataPlane.rift.maxConcurrentJobs = 5
        case "rift.retryBackoffSeconds": changed.dataPlane.rift.retryBackoffSeconds = 90
        case "eventLoops": changed.dataPlane.eventLoops = 1
        case "maxConnections": changed.dataPlane.maxConnections = 500
        default: changed.dataPlane.rift.jobHistoryDays = 400
        }
        #expect(try p.plan(tenant: "acme-eu", spec: changed).changes.map(\.address).sorted() == ["control_plane", "runtime_config"])
        _ = try await p.provision(tenant: "acme-eu", spec: changed)
        #expect(try p.plan(tenant: "acme-eu", spec: changed).isEmpty)
        let config = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: p.paths.runtimeConfig("acme-eu")))
        #expect(config.dataPlane.rateLimit == changed.dataPlane.rateLimit)
        #expect(config.dataPlane.rift == changed.dataPlane.rift)
        #expect(config.dataPlane.eventLoops == changed.dataPlane.eventLoops)
        #expect(config.dataPlane.maxConnections == changed.dataPlane.maxConnections)
    }

    @Test func changingTheVPCBlockReplacesTheVPCAndItsSubnets() async throws {
        let p = try freshFleet()
        var spec = try p.loadSpec(yaml: try exampleYAML("acme-eu.yaml"))
        _ = try await p.provision(tenant: "acme-eu", spec: spec)
        spec.vendorAccount.vpc.cidr = "10.200.0.0/24"
        let plan = try p.plan(tenant: "acme-eu", spec: spec)
        #expect(plan.changes.filter { $0.action == .replace }.map(\.address).sorted() == ["subnet.a", "subnet.b", "vpc"])
        _ = try await p.provision(tenant: "acme-eu", spec: spec)
        #expect(try p.store.allocation(tenant: "acme-eu")?.description == "10.200.0.0/24")
        let vpc = try #require(try p.store.resources(tenant: "acme-eu").first { $0.address == "vpc" })
        let manifest = try String(contentsOfFile: vpc.outputs["path"]!, encoding: .utf8)
        #expect(manifest.contains("10.200.0.0/24"))
    }

    @Test func runtimeConfigMatchesTheContractAndItsCredentialsWork() async throws {
        let p = try freshFleet()
        let spec = try p.loadSpec(yaml: try exampleYAML("acme-eu.yaml"))
        _ = try await p.provision(tenant: "acme-eu", spec: spec)
        let url = p.paths.runtimeConfig("acme-eu")
        #expect(SecureFiles.mode(of: url) == 0o600)
        let config = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: url))
        #expect(config.tenant == "acme-eu")
        #expect(config.allowedRegions == ["eu-west-1", "eu-central-1"])
        #expect(config.onlineStore.kind == "sqlite" && config.onlineStore.region == "eu-west-1")
        // The data plane's own credential assumes the customer role with the rendered external ID and may
        // use its online store, and only that.
        let iam = LocalIAM(accountsRoot: p.paths.accounts)
        let caller = try #require(try SecureFiles.readJSON(AccessKeyCredential.self, from: URL(fileURLWithPath: config.crossAccount.callerCredentialFile)))
        let sts = LocalSTS(iam: iam)
        let session = try sts.assumeRole(
            roleArn: config.crossAccount.roleArn, externalId: config.crossAccount.externalId, sessionName: "data-plane",
            durationSeconds: config.crossAccount.sessionSeconds, caller: caller)
        _ = try sts.authorize(session, action: "store:read", resource: config.onlineStore.resource + "/online.sqlite")
        #expect(throws: STSError.self) {
            try sts.authorize(session, action: "store:read", resource: "local:210987654321:eu-west-1:online/other-tenant")
        }
        // The CMK is usable by the tenant's control plane role.
        let kms = try LocalKMS(home: p.paths.home)
        let cmk = try #require(KMSKeyRef(arn: config.controlPlane.cmkArn))
        let sealed = try kms.encrypt(cmk, [1, 2, 3], context: ["tenant": "acme-eu"], caller: config.controlPlane.roleArn)
        #expect(try kms.decrypt(cmk, sealed, context: ["tenant": "acme-eu"], caller: config.controlPlane.roleArn) == [1, 2, 3])
    }

    @Test func renderedConfigSurvivesHostileCharactersInPaths() async throws {
        let home = temporaryDirectory().appendingPathComponent("we\"ird\ndir {{x}}")
        _ = try Fleet.initialize(home: home, runtime: false)
        let p = try Provisioner(home: home)
        _ = try await p.provision(tenant: "acme-eu", spec: try p.loadSpec(yaml: try exampleYAML("acme-eu.yaml")))
        let config = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: p.paths.runtimeConfig("acme-eu")))
        #expect(config.accountsRoot == p.paths.accounts.path)
    }

    @Test func deprovisionRemovesVendorSideKeepsCustomerDataAndReleasesTheBlock() async throws {
        let p = try freshFleet()
        let spec = try p.loadSpec(yaml: try exampleYAML("acme-eu.yaml"))
        _ = try await p.provision(tenant: "acme-eu", spec: spec)
        let recorded = Dictionary(uniqueKeysWithValues: try p.store.resources(tenant: "acme-eu").map { ($0.address, $0) })
        let vendor = try #require(try p.store.values(tenant: "acme-eu")["vendorAccountId"])
        let dry = try await p.deprovision(tenant: "acme-eu", dryRun: true)
        #expect(dry.plan.changes.count == 16 && dry.retained.count == 2)
        #expect(try p.store.resources(tenant: "acme-eu").count == 16)

        let report = try await p.deprovision(tenant: "acme-eu", dryRun: false, keyDeletionDays: 7)
        #expect(report.releasedCIDR == "10.0.0.0/16")
        #expect(Set(report.retained.keys) == ["online_store", "offline_store"])
        #expect(report.scheduled.keys.sorted() == ["cmk"])
        #expect(try p.store.tenant("acme-eu") == nil)
        #expect(try p.store.allocations().isEmpty)
        let kms = try LocalKMS(home: p.paths.home)
        #expect(try kms.describe(KMSKeyRef(arn: recorded["cmk"]!.outputs["arn"]!)!)?.state == .pendingDeletion)
        let iam = LocalIAM(accountsRoot: p.paths.accounts)
        #expect(try iam.role(account: "210987654321", name: "vpt-acme-eu-access") == nil)
        #expect(FileManager.default.fileExists(atPath: recorded["online_store"]!.outputs["directory"]!))
        #expect(FileManager.default.fileExists(atPath: recorded["offline_store"]!.outputs["directory"]!))
        #expect(!FileManager.default.fileExists(atPath: p.paths.tenant("acme-eu").path))
        // The key events stay on record in the (closed) vendor account.
        let audit = try AuditLog(accountsRoot: p.paths.accounts, vendorAccount: vendor, region: "eu-west-1", tenant: "acme-eu").read()
        #expect(audit.entries.map(\.action) == ["cmk.create", "cmk.schedule-deletion"] && audit.brokenAt == nil)
        // The block is free for the next tenant.
        var other = spec
        other.name = "acme-two"
        _ = try await p.provision(tenant: "acme-two", spec: other)
        #expect(try p.store.allocation(tenant: "acme-two")?.description == "10.0.0.0/16")
    }

    @Test func customerManagedKeyIsGrantedThenRetained() async throws {
        let p = try freshFleet()
        let spec = try p.loadSpec(yaml: try exampleYAML("globex-us.yaml"))
        _ = try await p.provision(tenant: "globex-us", spec: spec)
        let kms = try LocalKMS(home: p.paths.home)
        let ref = try #require(try kms.resolveAlias("alias/globex-feature-platform", account: "123456789012", region: "us-east-1"))
        let vendor = try #require(try p.store.values(tenant: "globex-us")["vendorAccountId"])
        let dataPlaneRole = IAMRole.arn(account: vendor, name: "vpt-globex-us-data-plane")
        #expect(try kms.describe(ref)?.grantees.contains(dataPlaneRole) == true)
        _ = try await p.deprovision(tenant: "globex-us", dryRun: false)
        let key = try #require(try kms.describe(ref))
        #expect(key.state == .enabled)
        #expect(!key.grantees.contains(dataPlaneRole))
    }

    @Test func aFailedResourceIsRecordedAsHalfCreatedAndAReRunResumes() async throws {
        let p = try freshFleet()
        let spec = try p.loadSpec(yaml: try exampleYAML("acme-eu.yaml"))
        // The customer account's region directory cannot be written: the stores fail, the rest goes on.
        let region = p.paths.region("210987654321", "eu-west-1")
        try FileManager.default.createDirectory(at: region, withIntermediateDirectories: true)
        chmod(region.path, 0o500)
        defer { chmod(region.path, 0o700) }
        guard getuid() != 0 else {
            // root ignores directory modes; provoke the failure with a file where a directory must go.
            chmod(region.path, 0o700)
            try Data().write(to: region.appendingPathComponent("online"))
            await #expect(throws: ApplyError.self) { try await p.provision(tenant: "acme-eu", spec: spec) }
            try await checkResume(p, spec, blocker: region.appendingPathComponent("online"))
            return
        }
        await #expect(throws: ApplyError.self) { try await p.provision(tenant: "acme-eu", spec: spec) }
        chmod(region.path, 0o700)
        try await checkResume(p, spec, blocker: nil)
    }

    private func checkResume(_ p: Provisioner, _ spec: TenantSpec, blocker: URL?) async throws {
        let records = Dictionary(uniqueKeysWithValues: try p.store.resources(tenant: "acme-eu").map { ($0.address, $0) })
        #expect(records["online_store"]?.status == .creating)
        #expect(records["vpc"]?.status == .created)
        #expect(records["runtime_config"] == nil)  // depends on the failed store: never attempted
        #expect(try p.store.tenant("acme-eu")?.status == .failed)
        #expect(try p.store.tenant("acme-eu")?.lastError?.contains("run the same command again") == true)
        let plan = try p.plan(tenant: "acme-eu", spec: spec)
        #expect(plan.changes.first { $0.address == "online_store" }?.action == .replace)
        if let blocker { try FileManager.default.removeItem(at: blocker) }
        _ = try await p.provision(tenant: "acme-eu", spec: spec)
        #expect(try p.store.resources(tenant: "acme-eu").allSatisfy { $0.status == .created })
        #expect(try p.plan(tenant: "acme-eu", spec: spec).isEmpty)
    }

    @Test func explicitBlockOverlappingAnotherTenantIsAnInputError() async throws {
        let p = try freshFleet()
        _ = try await p.provision(tenant: "globex-us", spec: try p.loadSpec(yaml: try exampleYAML("globex-us.yaml")))
        #expect(throws: SpecError.self) { try p.loadSpec(yaml: try exampleYAML("invalid/cidr-overlap.yaml")) }
        #expect(throws: FleetError.nameMismatch(spec: "globex-us", argument: "other")) {
            try p.loadSpec(yaml: try exampleYAML("globex-us.yaml"), name: "other")
        }
    }

    @Test func parallelismOneAndTenGiveTheSameResult() async throws {
        var shapes: [[String: [String]]] = []
        for parallelism in [1, 10] {
            let p = try freshFleet("parallel\(parallelism)")
            let spec = try p.loadSpec(yaml: try exampleYAML("globex-us.yaml"))
            _ = try await p.provision(tenant: "globex-us", spec: spec, parallelism: parallelism)
            shapes.append(Dictionary(uniqueKeysWithValues: try p.store.resources(tenant: "globex-us").map { ($0.address, $0.dependsOn) }))
        }
        #expect(shapes[0] == shapes[1])
    }
}
