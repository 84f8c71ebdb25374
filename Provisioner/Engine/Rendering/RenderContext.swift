import Foundation
import VPTContract
import VPTModel

/// The values the deployment templates see, each already quoted for its format (HCL or YAML).
/// Names ending in `Raw` are validated identifiers (DNS labels, regions, account ids), escaped for
/// use inside a string literal the template opens itself.
struct RenderContext {
    var terraform: [String: Any] = [:]
    var kubernetes: [String: Any] = [:]
    var planes: [(String, [String: Any])] = []

    /// Ports inside the containers; fixed, since each pod has its own network namespace.
    static let controlPlanePort = 8080
    static let dataPlanePort = 8443
    static let internalPort = 9443
    /// Where the container image keeps tenant state; mirrors the local fleet layout.
    static let containerHome = URL(fileURLWithPath: "/var/lib/vpt")

    init(renderer: DeploymentConfigRenderer) throws {
        let graph = renderer.graph, spec = graph.spec, tenant = graph.tenant
        let customer = spec.customerAccount
        let identity = graph.identity
        func known(_ value: String) -> String? { value == TenantIdentity.unknown ? nil : value }
        let cmk = spec.encryption.cmk
        let vendorManaged = cmk.managedBy == .vendor
        let storeRegions = Self.distinct([customer.offlineStore.region, customer.onlineStore.region])
        let cmkRegion = graph.cmkLocation.region
        let description = spec.description ?? ""

        // Terraform.
        var t: [String: Any] = [:]
        t["tenant"] = HCLQuoting.string(tenant)
        t["tenantComment"] = HCLQuoting.inner(tenant)
        t["vendorRegion"] = HCLQuoting.string(spec.vendorAccount.region)
        t["vendorRegionRaw"] = HCLQuoting.inner(spec.vendorAccount.region)
        t["vendorAccountId"] = known(identity.vendorAccountId).map(HCLQuoting.string)
        t["vpcCidr"] = known(identity.cidr).map(HCLQuoting.string)
        let prefix = spec.vendorAccount.vpc.effectivePrefixLength
        t["vpcPrefixLength"] = String(prefix)
        t["subnetNewBits"] = String(min(prefix + 2, 28) - prefix)
        t["availabilityZoneA"] = HCLQuoting.string(spec.vendorAccount.region + "a")
        t["availabilityZoneB"] = HCLQuoting.string(spec.vendorAccount.region + "b")
        t["vpcName"] = HCLQuoting.string("vpt-\(tenant)")
        t["flowLogGroupName"] = HCLQuoting.string("/vpt/\(tenant)/vpc-flow-logs")
        t["flowLogRoleName"] = HCLQuoting.string("vpt-\(tenant)-flow-logs")
        t["tags"] = Self.alignedEntries(Self.tags(spec: spec, tenant: tenant)).map { ["line": $0] }
        t["vendorManagedKey"] = vendorManaged
        t["customerManagedKey"] = !vendorManaged
        t["cmkDescription"] = HCLQuoting.string(
            description.isEmpty ? "vpt tenant \(tenant) master key" : "vpt tenant \(tenant) master key: \(description)")
        t["rotationDays"] = String(cmk.rotationDays)
        let existingKey = vendorManaged ? nil : cmk.keyRef.flatMap { $0.hasPrefix("arn:") ? $0 : nil }
        t["createCustomerKey"] = !vendorManaged && existingKey == nil
        t["existingCmkArn"] = existingKey.map(HCLQuoting.string) ?? "\"\""
        t["cmkAlias"] = HCLQuoting.string(Self.alias(cmk.keyRef, vendorManaged: vendorManaged, tenant: tenant))
        for (key, name) in [
            ("controlPlaneRoleName", graph.controlPlaneRoleName), ("dataPlaneRoleName", graph.dataPlaneRoleName),
            ("crossAccountRoleName", graph.crossAccountRoleName),
        ] {
            t[key] = HCLQuoting.string(name)
            t[key + "Raw"] = HCLQuoting.inner(name)
        }
        t["crossAccountRoleArn"] = HCLQuoting.string(graph.crossAccountRoleArn)
        t["namespaceRaw"] = HCLQuoting.inner(Self.namespace(tenant))
        t["customerAccountId"] = HCLQuoting.string(customer.accountId)
        t["customerAccountIdRaw"] = HCLQuoting.inner(customer.accountId)
        t["loadBalancerName"] = HCLQuoting.string("vpt-\(tenant)-fs")
        t["targetGroupName"] = HCLQuoting.string("vpt-\(tenant)-fs-tg")
        t["customerRegion"] = HCLQuoting.string(customer.region)
        t["customerRegionComment"] = HCLQuoting.inner(customer.region)
        t["maxSessionSeconds"] = String(customer.crossAccountRole.maxSessionSeconds)
        t["externalId"] = known(identity.externalId).map(HCLQuoting.string)

        let vendorReplicas = vendorManaged ? storeRegions.filter { $0 != spec.vendorAccount.region } : []
        let vendorKeys = Self.alignedKeys([spec.vendorAccount.region] + vendorReplicas)
        t["vendorRegionKey"] = vendorKeys[0]
        t["vendorKeyReplicaRegions"] = zip(vendorReplicas, vendorKeys.dropFirst()).map { Self.regionEntry($0, key: $1) }

        let customerReplicas = vendorManaged ? [] : storeRegions.filter { $0 != cmkRegion }
        let customerKeys = Self.alignedKeys([cmkRegion] + customerReplicas)
        t["cmkRegionKey"] = customerKeys[0]
        t["cmkProviderAliasRaw"] = Self.providerAlias(cmkRegion)
        t["customerKeyReplicaRegions"] = zip(customerReplicas, customerKeys.dropFirst()).map { Self.regionEntry($0, key: $1) }
        let customerRegions = Self.distinct([customer.region] + storeRegions + (vendorManaged ? [] : [cmkRegion]))
        t["customerRegionProviders"] = customerRegions.map { Self.regionEntry($0, key: "") }

        t["offlineProviderAliasRaw"] = Self.providerAlias(customer.offlineStore.region)
        t["offlineRegion"] = HCLQuoting.string(customer.offlineStore.region)
        t["offlineBucket"] = HCLQuoting.string(customer.offlineStore.bucket ?? "vpt-\(tenant)-offline-\(customer.accountId)")
        t["accessLogBucket"] = HCLQuoting.string("vpt-\(tenant)-logs-\(customer.accountId)")
        t["onlineProviderAliasRaw"] = Self.providerAlias(customer.onlineStore.region)
        t["onlineRegion"] = HCLQuoting.string(customer.onlineStore.region)
        t["onlineTable"] = HCLQuoting.string("vpt-\(tenant)-online")
        terraform = t

        // Kubernetes.
        var k: [String: Any] = [:]
        k["tenant"] = YAMLQuoting.string(tenant)
        k["tenantComment"] = tenant
        k["namespace"] = YAMLQuoting.string(Self.namespace(tenant))
        k["description"] = YAMLQuoting.string(description)
        let labelsJSON = try JSONEncoder.sorted.encode(spec.labels)
        k["labelsJSON"] = YAMLQuoting.string(String(decoding: labelsJSON, as: UTF8.self))
        k["secretNameComment"] = "runtime-secrets"
        let runtimeJSON = try Self.containerRuntimeConfig(renderer)
        k["runtimeConfigLines"] = runtimeJSON.split(separator: "\n", omittingEmptySubsequences: false).map { ["line": String($0)] }
        // A Redis online store is a server of the customer's on a port of its own: the data plane's
        // default-deny egress lets that port out (its address is the customer's to know).
        if customer.onlineStore.kind == .redis, let port = customer.onlineStore.endpoint.flatMap({ URLComponents(string: $0)?.port }) {
            k["onlineStoreEgressPort"] = String(port)
        }
        kubernetes = k

        let containerPaths = FleetPaths(home: Self.containerHome)
        func plane(_ name: String, _ values: [String: Any]) -> (String, [String: Any]) {
            var p = k
            p["component"] = name
            p["componentComment"] = name.replacingOccurrences(of: "-", with: " ")
            p["image"] = YAMLQuoting.string(renderer.image)
            p["command"] = YAMLQuoting.string(name)
            p["secretName"] = "runtime-secrets"
            p["secretsMountPath"] = YAMLQuoting.string(containerPaths.secrets(tenant).path)
            p["tlsMountPath"] = YAMLQuoting.string(containerPaths.tenant(tenant).appendingPathComponent("tls").path)
            for (key, value) in values { p[key] = value }
            return (name, p)
        }
        // The data plane requests one core per event loop the spec sets, and may use one more for
        // its blocking pool (SQLite reads) and snapshot poller. Without a count, NIO sizes its loops
        // by the container's CPU limit.
        let dataPlaneCPU = spec.dataPlane.eventLoops.map { (request: String($0), limit: String($0 + 1)) } ?? (request: "500m", limit: "2")
        planes = [
            plane("control-plane", [
                "roleArn": YAMLQuoting.string(graph.controlPlaneRoleArn), "portName": "control-plane",
                "port": String(Self.controlPlanePort), "replicas": "1", "strategy": "Recreate",
                // One writer for the metadata database: a single replica on a persistent volume.
                "persistentVolume": "10Gi", "disruptionBudget": "maxUnavailable: 1", "internalPort": String(Self.internalPort),
                "dataMountPath": YAMLQuoting.string(containerPaths.controlPlaneDirectory(tenant).path),
                "cpuRequest": "250m", "cpuLimit": "1", "memoryRequest": "256Mi", "memoryLimit": "512Mi",
            ]),
            plane("data-plane", [
                "roleArn": YAMLQuoting.string(graph.dataPlaneRoleArn), "portName": "feature-server",
                "port": String(Self.dataPlanePort), "replicas": "2", "strategy": "RollingUpdate",
                "disruptionBudget": "minAvailable: 1",
                "dataMountPath": YAMLQuoting.string(containerPaths.dataPlaneDirectory(tenant).path),
                "cpuRequest": dataPlaneCPU.request, "cpuLimit": dataPlaneCPU.limit, "memoryRequest": "512Mi", "memoryLimit": "1Gi",
            ]),
        ]
    }

    static func namespace(_ tenant: String) -> String { "vpt-\(tenant)" }

    static func providerAlias(_ region: String) -> String { HCLQuoting.inner(region.replacingOccurrences(of: "-", with: "_")) }

    static func distinct(_ values: [String]) -> [String] {
        var seen = Set<String>()
        return values.filter { seen.insert($0).inserted }
    }

    /// One region's provider alias and the names its resources use.
    static func regionEntry(_ region: String, key: String) -> [String: Any] {
        let alias = providerAlias(region)
        return [
            "alias": HCLQuoting.string(alias), "aliasRaw": alias, "region": HCLQuoting.string(region), "regionKey": key,
            "resourceName": HCLQuoting.string(alias), "resourceNameRaw": alias,
        ]
    }

    /// Quoted map keys padded to one width, as `terraform fmt` aligns the `=` of adjacent lines.
    static func alignedKeys(_ keys: [String]) -> [String] {
        let quoted = keys.map(HCLQuoting.string)
        let width = quoted.map(\.count).max() ?? 0
        return quoted.map { $0.padding(toLength: width, withPad: " ", startingAt: 0) }
    }

    static func alignedEntries(_ pairs: [(String, String)]) -> [String] {
        zip(alignedKeys(pairs.map(\.0)), pairs).map { "\($0) = \(HCLQuoting.string($1.1))" }
    }

    /// Tags on every resource: the tenant, who manages it, the description and the spec's labels.
    static func tags(spec: TenantSpec, tenant: String) -> [(String, String)] {
        var tags: [(String, String)] = [("vpt:tenant", tenant), ("vpt:managed-by", "vpt")]
        if let description = spec.description, !description.isEmpty { tags.append(("vpt:description", description)) }
        tags += spec.labels.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        return tags
    }

    /// The key alias: the spec's `alias/NAME` for a customer key, `alias/vpt-TENANT` otherwise.
    static func alias(_ keyRef: String?, vendorManaged: Bool, tenant: String) -> String {
        if !vendorManaged, let keyRef, keyRef.hasPrefix("alias/") { return keyRef }
        return "alias/vpt-\(tenant)"
    }

    /// The keys of the runtime-secrets Secret that hold the Redis ACL user's password, the Redis
    /// server's CA certificates, and the tenant's Redis client certificate and key.
    static let onlineStorePasswordKey = "online-store-password"
    static let onlineStoreCAKey = "online-store-ca"
    static let onlineStoreClientCertKey = "online-store-client-cert"
    static let onlineStoreClientKeyKey = "online-store-client-key"

    /// The tenant's runtime.json as the containers see it: the same document the local target
    /// uses, with the container's paths and ports.
    static func containerRuntimeConfig(_ renderer: DeploymentConfigRenderer) throws -> String {
        var identity = renderer.graph.identity
        identity.controlPlanePort = String(controlPlanePort)
        identity.dataPlanePort = String(dataPlanePort)
        identity.internalPort = String(internalPort)
        let graph = TenantGraph(
            tenant: renderer.graph.tenant, spec: renderer.graph.spec, identity: identity, paths: FleetPaths(home: containerHome))
        // In a pod the accounts folder does not exist: key events go to the control plane's volume.
        let audit = FleetPaths(home: containerHome).controlPlaneDirectory(renderer.graph.tenant).appendingPathComponent("audit.jsonl").path
        // The Redis password comes from the runtime-secrets Secret, mounted with the other secrets.
        // So does the CA file of a rediss:// endpoint.
        let secrets = FleetPaths(home: containerHome).secrets(renderer.graph.tenant)
        let text = try RuntimeConfigRenderer(
            graph: graph, cmkArn: renderer.cmkArn, secrets: renderer.secretHashes, auditLogFile: audit,
            onlineStorePasswordFile: secrets.appendingPathComponent(onlineStorePasswordKey).path,
            onlineStoreCAFile: secrets.appendingPathComponent(onlineStoreCAKey).path,
            onlineStoreClientCertFile: secrets.appendingPathComponent(onlineStoreClientCertKey).path,
            onlineStoreClientKeyFile: secrets.appendingPathComponent(onlineStoreClientKeyKey).path
        ).render()
        _ = try JSONDecoder().decode(RuntimeConfig.self, from: Data(text.utf8))
        return text.hasSuffix("\n") ? String(text.dropLast()) : text
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
