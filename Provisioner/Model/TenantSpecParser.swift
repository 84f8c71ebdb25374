import VPTContract
import Yams

/// Turns YAML text into a validated `TenantSpec`, or a `SpecError` listing every violation.
public enum TenantSpecParser {
    /// Parses and validates. `fleet` adds the rules that depend on other tenants (CIDR overlap).
    public static func parse(yaml: String, fleet: FleetContext = .empty) throws(SpecError) -> TenantSpec {
        let diagnostics = SpecDiagnostics()
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw SpecError(issues: [SpecIssue(path: "", rule: "the document is empty")])
            }
            root = node
        } catch let error as SpecError {
            throw error
        } catch {
            throw SpecError(issues: [yamlIssue(error)])
        }
        let spec = read(root, diagnostics)
        TenantSpecValidator(spec: spec, fleet: fleet, diagnostics: diagnostics).run()
        guard diagnostics.issues.isEmpty else { throw SpecError(issues: diagnostics.issues) }
        return spec
    }

    private static func yamlIssue(_ error: any Error) -> SpecIssue {
        guard let yaml = error as? YamlError else {
            return SpecIssue(path: "", rule: "is not valid YAML: \(error)")
        }
        switch yaml {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return SpecIssue(path: "", rule: "malformed YAML: \(problem)", line: mark.line, column: mark.column)
        case .duplicatedKeysInMapping(let duplicates, let context):
            return SpecIssue(
                path: "", rule: "malformed YAML: duplicate keys \(duplicates)", line: context.mark.line,
                column: context.mark.column)
        default:
            return SpecIssue(path: "", rule: "malformed YAML: \(yaml)")
        }
    }

    private static func read(_ root: Node, _ d: SpecDiagnostics) -> TenantSpec {
        let top = MappingReader(node: root, path: "", diagnostics: d)
        let apiVersion = top.string("apiVersion")
        if !apiVersion.isEmpty, apiVersion != "vpt/v1" { top.report("apiVersion", "must be 'vpt/v1'") }
        let kind = top.string("kind")
        if !kind.isEmpty, kind != "Tenant" { top.report("kind", "must be 'Tenant'") }
        let name = top.string("name")
        let labels = top.stringMap("labels")
        let description = top.string("description", default: "")
        let vendor = readVendor(top.mapping("vendorAccount", required: true), d)
        let customer = readCustomer(top.mapping("customerAccount", required: true), d)
        let encryption = readEncryption(top.mapping("encryption", required: false), d)
        let dataPlane = readDataPlane(top.mapping("dataPlane", required: false), vendorRegion: vendor.region, d)
        let principals = top.sequence("principals").map { item -> PrincipalSpec in
            let r = MappingReader(node: item.node, path: item.path, diagnostics: d)
            defer { r.finish() }
            return PrincipalSpec(
                serviceAccount: r.string("serviceAccount"), workspace: r.string("workspace"),
                role: r.choice("role", default: nil as WorkspaceRole?) ?? .viewer)
        }
        top.finish()
        return TenantSpec(
            name: name, labels: labels, description: description.isEmpty ? nil : description, vendorAccount: vendor, customerAccount: customer, encryption: encryption,
            dataPlane: dataPlane, principals: principals)
    }

    private static func readVendor(_ r: MappingReader?, _ d: SpecDiagnostics) -> VendorAccountSpec {
        guard let r else { return VendorAccountSpec(provider: .local, region: "", vpc: VPCSpec()) }
        defer { r.finish() }
        let provider = r.choice("provider", default: CloudProvider.local) ?? .local
        let region = r.string("region")
        var vpc = VPCSpec()
        if let v = r.mapping("vpc", required: false) {
            vpc = VPCSpec(cidr: v.string("cidr", default: "auto"), prefixLength: v.int("prefixLength", default: 16))
            v.finish()
        }
        return VendorAccountSpec(provider: provider, region: region, vpc: vpc)
    }

    private static func readCustomer(_ r: MappingReader?, _ d: SpecDiagnostics) -> CustomerAccountSpec {
        let empty = CustomerAccountSpec(
            accountId: "", region: "", residency: .init(allowedRegions: []), crossAccountRole: .init(),
            onlineStore: .init(kind: .sqlite, region: ""), offlineStore: .init(kind: .local, region: ""))
        guard let r else { return empty }
        defer { r.finish() }
        let accountId = r.string("accountId")
        let region = r.string("region")
        var residency = ResidencySpec(allowedRegions: [])
        if let m = r.mapping("residency", required: true) {
            residency.allowedRegions = m.strings("allowedRegions")
            if m.node("allowedRegions") == nil { m.report("allowedRegions", "is required") }
            m.finish()
        }
        var role = CrossAccountRoleSpec()
        if let m = r.mapping("crossAccountRole", required: false) {
            role = CrossAccountRoleSpec(
                externalId: m.string("externalId", default: "auto"),
                maxSessionSeconds: m.int("maxSessionSeconds", default: 3600))
            m.finish()
        }
        var online = OnlineStoreSpec(kind: .sqlite, region: region)
        if let m = r.mapping("onlineStore", required: false) {
            online = OnlineStoreSpec(
                kind: m.choice("kind", default: OnlineStoreKind.sqlite) ?? .sqlite,
                region: m.string("region", default: region), endpoint: m.optionalString("endpoint"),
                passwordFile: m.optionalString("passwordFile"), caFile: m.optionalString("caFile"),
                clientCertFile: m.optionalString("clientCertFile"), clientKeyFile: m.optionalString("clientKeyFile"))
            m.finish()
        }
        var offline = OfflineStoreSpec(kind: .local, region: region)
        if let m = r.mapping("offlineStore", required: false) {
            offline = OfflineStoreSpec(
                kind: m.choice("kind", default: OfflineStoreKind.local) ?? .local,
                region: m.string("region", default: region), bucket: m.optionalString("bucket"))
            m.finish()
        }
        let compute = r.sequence("computeProviders").map { item -> ComputeProviderSpec in
            let m = MappingReader(node: item.node, path: item.path, diagnostics: d)
            defer { m.finish() }
            return ComputeProviderSpec(
                name: m.string("name"), kind: m.choice("kind", default: ComputeProviderKind.spark) ?? .spark,
                region: m.string("region"))
        }
        return CustomerAccountSpec(
            accountId: accountId, region: region, residency: residency, crossAccountRole: role, onlineStore: online,
            offlineStore: offline, computeProviders: compute)
    }

    private static func readEncryption(_ r: MappingReader?, _ d: SpecDiagnostics) -> EncryptionSpec {
        guard let r else { return EncryptionSpec(cmk: CMKSpec()) }
        defer { r.finish() }
        guard let m = r.mapping("cmk", required: false) else { return EncryptionSpec(cmk: CMKSpec()) }
        defer { m.finish() }
        return EncryptionSpec(
            cmk: CMKSpec(
                managedBy: m.choice("managedBy", default: KeyManager.vendor) ?? .vendor,
                keyRef: m.optionalString("keyRef"), rotationDays: m.int("rotationDays", default: 365)))
    }

    private static func readDataPlane(_ r: MappingReader?, vendorRegion: String, _ d: SpecDiagnostics)
        -> DataPlaneSpec
    {
        guard let r else { return DataPlaneSpec(rift: RiftSpec(region: vendorRegion)) }
        defer { r.finish() }
        var cache = ServingCacheSpec()
        if let m = r.mapping("servingCache", required: false) {
            cache = ServingCacheSpec(
                enabled: m.bool("enabled", default: true), maxAgeSeconds: m.int("maxAgeSeconds", default: 300),
                maxEntries: m.int("maxEntries", default: 100_000))
            m.finish()
        }
        var rift = RiftSpec(region: vendorRegion)
        if let m = r.mapping("rift", required: false) {
            rift = RiftSpec(
                enabled: m.bool("enabled", default: false), region: m.string("region", default: vendorRegion),
                maxConcurrentJobs: m.int("maxConcurrentJobs", default: 2), maxAttempts: m.int("maxAttempts", default: 3),
                retryBackoffSeconds: m.int("retryBackoffSeconds", default: 30), jobHistoryDays: m.int("jobHistoryDays", default: 30))
            m.finish()
        }
        var rateLimit: RateLimit?
        if let m = r.mapping("rateLimit", required: false) {
            if m.node("requestsPerSecond") == nil { m.report("requestsPerSecond", "is required when dataPlane.rateLimit is set") }
            let perSecond = m.int("requestsPerSecond", default: 1)
            rateLimit = RateLimit(requestsPerSecond: perSecond, burst: m.node("burst") == nil ? nil : m.int("burst", default: perSecond))
            m.finish()
        }
        let eventLoops = r.node("eventLoops") == nil ? nil : r.int("eventLoops", default: 1)
        let maxConnections = r.node("maxConnections") == nil ? nil : r.int("maxConnections", default: 1)
        return DataPlaneSpec(servingCache: cache, rift: rift, rateLimit: rateLimit, eventLoops: eventLoops, maxConnections: maxConnections)
    }
}
