import VPTContract
import Foundation
import VPTLocalCloud
import VPTModel
import VPTOnlineStore
import VPTState

/// Result of `provision`.
public struct ProvisionReport: Sendable {
    public var plan: Plan
    public var identity: TenantIdentity?
    /// Latency of the smoke test's feature read, when the runtime is on and something changed.
    public var smokeTestMilliseconds: Double?
    /// True when nothing changed but the tenant's processes were down and were started.
    public var runtimeRestarted = false
}

/// Result of `deprovision`.
public struct DeprovisionReport: Sendable {
    public var plan: Plan
    /// Customer data and keys left in place, by resource address.
    public var retained: [String: String]
    /// Keys scheduled for deletion, by resource address.
    public var scheduled: [String: Date]
    public var releasedCIDR: String?
}

/// The operations behind `vpt plan`, `vpt provision` and `vpt deprovision`: the CLI only parses and prints.
public struct Provisioner: Sendable {
    public let paths: FleetPaths
    public let store: StateStore

    public init(home: URL) throws {
        (paths, store) = try Fleet.open(home: home)
    }

    /// Parses and validates a spec against the fleet (other tenants' CIDRs) and the command's name.
    public func loadSpec(yaml: String, name: String? = nil) throws -> TenantSpec {
        let store = self.store
        let fleet = FleetContext { block in
            ((try? store.overlapping(block)) ?? []).filter { $0.tenant != name }
        }
        let spec = try TenantSpecParser.parse(yaml: yaml, fleet: fleet)
        if let name, spec.name != name { throw FleetError.nameMismatch(spec: spec.name, argument: name) }
        if spec.vendorAccount.provider != .local { throw FleetError.providerUnavailable(spec.vendorAccount.provider.rawValue) }
        return spec
    }

    /// The diff between the spec and what is recorded; writes nothing.
    public func plan(tenant: String, spec: TenantSpec) throws -> Plan {
        let identity = try TenantIdentity.peek(tenant: tenant, spec: spec, store: store)
        let graph = TenantGraph(tenant: tenant, spec: spec, identity: identity, paths: paths)
        return Planner.plan(tenant: tenant, desired: graph.resources(), recorded: try store.resources(tenant: tenant))
    }

    /// Applies the spec: generates identity values once, plans, applies, records every step.
    public func provision(
        tenant: String, spec: TenantSpec, parallelism: Int = 10, progress: @escaping @Sendable (ProgressLine) -> Void = { _ in }
    ) async throws -> ProvisionReport {
        let lock = try TenantLock(home: paths.home, tenant: tenant, purpose: "vpt provision tenant \(tenant)")
        defer { withExtendedLifetime(lock) {} }
        let specJSON = String(decoding: try JSONCoding.encoder.encode(spec), as: UTF8.self)
        let specHash = Hex.sha256(specJSON)
        let existing = try store.tenant(tenant)
        let peeked = try plan(tenant: tenant, spec: spec)
        try preflight(spec)
        if peeked.isEmpty, let existing, existing.status == .ready {
            if existing.specHash != specHash {  // labels only: no resource changes
                var record = existing
                record.specJSON = specJSON
                record.specHash = specHash
                record.updatedAt = Date()
                try store.saveTenant(record)
            }
            try writeDeploymentConfig(tenant: tenant, spec: spec)
            // Nothing to change, but a runtime that is down (a reboot, `vpt tenant stop`) is started
            // again: provisioning converges to a serving tenant. Recorded state is not touched.
            var restarted = false
            if try runtimeEnabled(), RuntimeLauncher(paths: paths).livePid(tenant, "supervisor") == nil {
                try start(tenant: tenant)
                restarted = true
            }
            return ProvisionReport(plan: peeked, identity: nil, runtimeRestarted: restarted)
        }
        let now = Date()
        try store.saveTenant(
            TenantRecord(name: tenant, specJSON: specJSON, specHash: specHash, status: .provisioning, createdAt: now, updatedAt: now))
        let identity = try TenantIdentity.establish(tenant: tenant, spec: spec, store: store)
        let graph = TenantGraph(tenant: tenant, spec: spec, identity: identity, paths: paths)
        removeCrashLeftovers(graph)
        let desired = graph.resources()
        let plan = Planner.plan(tenant: tenant, desired: desired, recorded: try store.resources(tenant: tenant))
        var provider = LocalProvider(paths: paths, kms: try LocalKMS(home: paths.home), graph: graph)
        provider.launcher = try runtimeEnabled() ? RuntimeLauncher(paths: paths) : nil
        var smoke: Double?
        do {
            try await Applier(tenant: tenant, store: store, provider: provider, parallelism: parallelism, progress: progress)
                .apply(plan, desired: desired)
            if provider.launcher != nil {
                smoke = try SmokeTest(
                    paths: paths, tenant: tenant, controlPlanePort: Int(identity.controlPlanePort)!, dataPlanePort: Int(identity.dataPlanePort)!
                ).run()
            }
        } catch {
            try store.setTenantStatus(tenant, .failed, error: "\(error)")
            throw error
        }
        try writeDeploymentConfig(tenant: tenant, spec: spec)
        try store.setTenantStatus(tenant, .ready)
        return ProvisionReport(plan: plan, identity: identity, smokeTestMilliseconds: smoke)
    }

    /// The tenant's Terraform and Kubernetes configuration, from the spec and whatever identity
    /// values exist; values not yet generated become Terraform variables without a default.
    /// Writes nothing.
    public func renderDeploymentConfig(tenant: String, spec: TenantSpec, image: String? = nil) throws -> [RenderedFile] {
        let image = try image ?? store.setting(Fleet.runtimeImageSetting) ?? DeploymentConfigRenderer.defaultImage
        guard DeploymentConfigRenderer.validateImage(image) else { throw FleetError.invalidImage(image) }
        let identity = try TenantIdentity.peek(tenant: tenant, spec: spec, store: store)
        let graph = TenantGraph(tenant: tenant, spec: spec, identity: identity, paths: paths)
        let recorded = try store.resources(tenant: tenant)
        let cmkArn = recorded.first { $0.address == "cmk" }?.outputs["arn"] ?? TenantIdentity.unknown
        let hashes = (recorded.first { $0.address == "runtime_secrets" }?.outputs ?? [:])
            .filter { $0.key == "adminKeySHA256" || $0.key == "internalTokenSHA256" }
        return try DeploymentConfigRenderer(graph: graph, cmkArn: cmkArn, secretHashes: hashes, image: image).render()
    }

    /// The spec the tenant was last provisioned with.
    public func recordedSpec(tenant: String) throws -> TenantSpec {
        guard let record = try store.tenant(tenant) else { throw FleetError.unknownTenant(tenant) }
        return try record.spec()
    }

    /// Terraform variables that stay without a default until provisioning generates their values.
    public func valuesKnownAfterProvision(tenant: String, spec: TenantSpec) throws -> [String] {
        let identity = try TenantIdentity.peek(tenant: tenant, spec: spec, store: store)
        return [("vendor_account_id", identity.vendorAccountId), ("vpc_cidr", identity.cidr), ("external_id", identity.externalId)]
            .filter { $0.1 == TenantIdentity.unknown }.map(\.0)
    }

    /// Renders into `tenants/NAME/config/`, touching only files whose contents changed.
    func writeDeploymentConfig(tenant: String, spec: TenantSpec) throws {
        try RenderedFileWriter.write(try renderDeploymentConfig(tenant: tenant, spec: spec), into: paths.config(tenant))
    }

    /// Tears down vendor-side resources in reverse order; customer stores and customer keys stay.
    public func deprovision(
        tenant: String, dryRun: Bool, keyDeletionDays: Int = 30, parallelism: Int = 10,
        progress: @escaping @Sendable (ProgressLine) -> Void = { _ in }
    ) async throws -> DeprovisionReport {
        guard (7...30).contains(keyDeletionDays) else { throw KMSError.deletionWindow(keyDeletionDays) }
        let lock = try TenantLock(home: paths.home, tenant: tenant, purpose: "vpt deprovision tenant \(tenant)")
        defer { withExtendedLifetime(lock) {} }
        guard let record = try store.tenant(tenant) else { throw FleetError.unknownTenant(tenant) }
        let recorded = try store.resources(tenant: tenant)
        let plan = Planner.plan(tenant: tenant, desired: [], recorded: recorded)
        let cidr = try store.allocation(tenant: tenant)?.description
        var retained: [String: String] = [:]
        if dryRun {
            for resource in recorded {
                if ResourceKind(rawValue: resource.kind)?.holdsCustomerData == true {
                    retained[resource.address] = "customer data at \(resource.attributes["location"] ?? "?") (\(resource.attributes["region"] ?? "?")) is left in place"
                }
            }
            return DeprovisionReport(plan: plan, retained: retained, scheduled: [:], releasedCIDR: cidr)
        }
        try store.setTenantStatus(tenant, .deprovisioning)
        let spec = try record.spec()
        let identity = try TenantIdentity.peek(tenant: tenant, spec: spec, store: store)
        let graph = TenantGraph(tenant: tenant, spec: spec, identity: identity, paths: paths)
        var provider = LocalProvider(paths: paths, kms: try LocalKMS(home: paths.home), graph: graph)
        provider.keyDeletionDays = keyDeletionDays
        provider.launcher = RuntimeLauncher(paths: paths)  // stopping is harmless when nothing runs
        let outcomes = try await Applier(tenant: tenant, store: store, provider: provider, parallelism: parallelism, progress: progress)
            .apply(plan, desired: [])
        var scheduled: [String: Date] = [:]
        for (address, outcome) in outcomes {
            if case .retained(let why) = outcome { retained[address] = why }
            if case .scheduled(let date) = outcome { scheduled[address] = date }
        }
        try? FileManager.default.removeItem(at: paths.tenant(tenant))
        try store.appendEvent(tenant: tenant, action: "deprovisioned", detail: cidr.map { "released \($0)" })
        try store.forgetTenant(tenant)
        return DeprovisionReport(plan: plan, retained: retained, scheduled: scheduled, releasedCIDR: cidr)
    }

    /// Files outside the spec that the local runtime will read, checked before anything changes. A
    /// configuration-only fleet skips this: its runtime reads them where it runs (the runtime-secrets
    /// Secret in Kubernetes).
    func preflight(_ spec: TenantSpec) throws {
        guard try runtimeEnabled() else { return }
        let online = spec.customerAccount.onlineStore
        if let passwordFile = online.passwordFile {
            do { try RedisOnlineStore.checkPasswordFile(passwordFile) } catch {
                throw ProviderError.unusableSecret(field: "customerAccount.onlineStore.passwordFile", reason: "\(error)")
            }
        }
        if let caFile = online.caFile {
            do { try RedisOnlineStore.checkCAFile(caFile) } catch {
                throw ProviderError.unusableSecret(field: "customerAccount.onlineStore.caFile", reason: "\(error)")
            }
        }
        if online.clientCertFile != nil || online.clientKeyFile != nil {
            do throws(RedisClientCertificateError) {
                try RedisOnlineStore.checkClientCertificate(certFile: online.clientCertFile, keyFile: online.clientKeyFile)
            } catch {
                throw ProviderError.unusableSecret(field: "customerAccount.onlineStore.\(error.field)", reason: error.message)
            }
        }
    }

    /// Whether this fleet starts tenant processes (`vpt init --no-runtime` turns it off).
    public func runtimeEnabled() throws -> Bool { try store.setting("runtime") != "off" }

    /// Starts a provisioned tenant's processes (after `stop`, or a reboot) and waits until both are ready.
    public func start(tenant: String) throws {
        guard try store.tenant(tenant) != nil else { throw FleetError.unknownTenant(tenant) }
        let values = try store.values(tenant: tenant)
        let config = try Data(contentsOf: paths.runtimeConfig(tenant))
        let sha = Hex.sha256(config)
        let launcher = RuntimeLauncher(paths: paths)
        try launcher.ensureRunning(tenant: tenant, configSHA256: sha)
        try launcher.waitReady("control plane", port: Int(values["controlPlanePort"] ?? "") ?? 0, tenant: tenant)
        try launcher.waitReady("data plane", port: Int(values["dataPlanePort"] ?? "") ?? 0, tenant: tenant)
    }

    /// Stops a tenant's processes; its data and configuration stay.
    public func stop(tenant: String) throws {
        guard try store.tenant(tenant) != nil else { throw FleetError.unknownTenant(tenant) }
        RuntimeLauncher(paths: paths).stop(tenant: tenant)
    }

    /// Temporary files of writers that died (their pid is gone), only in the places this tenant writes:
    /// its own folders recursively, and single folders of the customer account, which other tenants
    /// may share (so the cost does not grow with the fleet).
    private func removeCrashLeftovers(_ graph: TenantGraph) {
        SecureFiles.removeStaleTemporaryFiles(under: paths.tenant(graph.tenant))
        SecureFiles.removeStaleTemporaryFiles(under: paths.account(graph.identity.vendorAccountId))
        let customer = graph.spec.customerAccount
        let cmk = graph.cmkLocation
        let folders = [
            paths.onlineStore(account: customer.accountId, region: customer.onlineStore.region, tenant: graph.tenant),
            paths.offlineStore(account: customer.accountId, region: customer.offlineStore.region, tenant: graph.tenant),
            paths.account(customer.accountId).appendingPathComponent("global/iam/roles"),
            paths.region(cmk.account, cmk.region).appendingPathComponent("kms/keys"),
            paths.region(cmk.account, cmk.region).appendingPathComponent("kms/aliases"),
        ]
        for folder in folders { SecureFiles.removeStaleTemporaryFiles(under: folder, recursive: false) }
    }
}
