import Foundation
import Testing
import VPTLocalCloud
import VPTModel
import VPTTestSupport

@testable import VPTEngine

/// Rendering of Terraform and Kubernetes configuration: golden files, escaping, writing.
/// checkov, kubernetes-validate, python-hcl2 and the residency proof run over the same output in
/// `Tests/config` (pytest).
@Suite struct DeploymentConfigTests {
    static let goldenRoot = repositoryRoot.appendingPathComponent("Tests/golden/deployment-config")

    /// Fixed identity values, so that output depends on the spec only.
    static func identity(cidr: String) -> TenantIdentity {
        TenantIdentity(
            vendorAccountId: "900000000042", externalId: "vpt-0123456789abcdef0123456789abcdef", vpcId: "vpc-0a1b2c3d4e5f60718",
            subnetIds: ["subnet-0a1b2c3d4e5f60718", "subnet-1a1b2c3d4e5f60718"], cmkKeyId: "11111111-2222-3333-4444-555555555555",
            cidr: cidr, controlPlanePort: "20000", dataPlanePort: "20001", internalPort: "20002")
    }

    static func render(_ spec: TenantSpec, cidr: String = "10.0.0.0/16") throws -> [RenderedFile] {
        let graph = TenantGraph(
            tenant: spec.name, spec: spec, identity: identity(cidr: cidr), paths: FleetPaths(home: URL(fileURLWithPath: "/var/lib/vpt-fleet")))
        return try DeploymentConfigRenderer(
            graph: graph, cmkArn: "arn:aws:kms:\(spec.vendorAccount.region):900000000042:key/11111111-2222-3333-4444-555555555555",
            secretHashes: ["adminKeySHA256": String(repeating: "a", count: 64), "internalTokenSHA256": String(repeating: "b", count: 64)],
            image: "registry.example.com/vpt/vpt-runtime@sha256:" + String(repeating: "c", count: 64)
        ).render()
    }

    static func spec(_ example: String) throws -> TenantSpec {
        try TenantSpecParser.parse(yaml: try exampleYAML(example))
    }

    @Test(arguments: ["acme-eu", "globex-us"])
    func matchesGoldenFiles(tenant: String) throws {
        let spec = try Self.spec("\(tenant).yaml")
        let files = try Self.render(spec, cidr: spec.vendorAccount.vpc.explicitBlock?.description ?? "10.0.0.0/16")
        let folder = Self.goldenRoot.appendingPathComponent(tenant)
        if ProcessInfo.processInfo.environment["VPT_UPDATE_GOLDEN"] == "1" {
            try? FileManager.default.removeItem(at: folder)
            try RenderedFileWriter.write(files, into: folder)
        }
        var expected: [String] = []
        let walker = FileManager.default.enumerator(atPath: folder.path)
        while let path = walker?.nextObject() as? String {
            if path.hasSuffix(".tf") || path.hasSuffix(".yaml") { expected.append(path) }
        }
        #expect(files.map(\.path).sorted() == expected.sorted(), "set VPT_UPDATE_GOLDEN=1 to regenerate after a deliberate change")
        for file in files {
            let golden = try String(contentsOf: folder.appendingPathComponent(file.path), encoding: .utf8)
            #expect(file.contents == golden, "\(tenant)/\(file.path) differs from its golden file")
        }
    }

    /// The data plane's default-deny egress lets a Redis store's port out, and only for a Redis store.
    @Test func aRedisStoresPortIsTheDataPlanesOnlyExtraEgress() throws {
        func dataPlanePolicy(_ yaml: String) throws -> String {
            let files = try Self.render(try TenantSpecParser.parse(yaml: yaml))
            let policies = try #require(files.first { $0.path == "kubernetes/network-policies.yaml" }).contents
            return try #require(policies.components(separatedBy: "---").first { $0.contains("name: data-plane") })
        }
        let redis = try dataPlanePolicy(try exampleYAML("globex-us.yaml").replacingOccurrences(of: "127.0.0.1:6379", with: "cache.example.internal:6380"))
        #expect(redis.contains("    - ports:\n        - port: 6380\n          protocol: TCP\n"))
        let sqlite = try dataPlanePolicy(try exampleYAML("acme-eu.yaml"))
        #expect(!sqlite.contains("6379") && !sqlite.contains("6380"))
        #expect(sqlite.components(separatedBy: "- port:").count == redis.components(separatedBy: "- port:").count - 1)
    }

    /// In a pod, a rediss:// store's CA is read from the runtime-secrets mount, as its password is;
    /// the spec's own path (a file on the operator's machine) does not reach the container.
    @Test func aTLSRedisStoresCAComesFromTheRuntimeSecret() throws {
        let yaml = try exampleYAML("globex-us.yaml")
            .replacingOccurrences(of: "redis://globex-us@127.0.0.1:6379", with: "rediss://globex-us@cache.example.internal:6380")
            .replacingOccurrences(
                of: "passwordFile: /etc/vpt/globex-us/redis.password",
                with: "passwordFile: /etc/vpt/globex-us/redis.password\n    caFile: /etc/vpt/globex-us/redis-ca.pem")
        let files = try Self.render(try TenantSpecParser.parse(yaml: yaml))
        let runtime = try #require(files.first { $0.path == "kubernetes/runtime-config.yaml" }).contents
        #expect(runtime.contains(#""caFile":"/var/lib/vpt/tenants/globex-us/secrets/online-store-ca""#))
        #expect(!runtime.contains("online-store-client"))
        // A client certificate and key come from the same Secret, under keys of their own.
        let mutual = try Self.render(try TenantSpecParser.parse(yaml: yaml.replacingOccurrences(
            of: "caFile: /etc/vpt/globex-us/redis-ca.pem",
            with: "caFile: /etc/vpt/globex-us/redis-ca.pem\n    clientCertFile: /etc/vpt/globex-us/client.pem\n    clientKeyFile: /etc/vpt/globex-us/client-key.pem")))
        let mutualRuntime = try #require(mutual.first { $0.path == "kubernetes/runtime-config.yaml" }).contents
        #expect(mutualRuntime.contains(#""clientCertFile":"/var/lib/vpt/tenants/globex-us/secrets/online-store-client-cert""#))
        #expect(mutualRuntime.contains(#""clientKeyFile":"/var/lib/vpt/tenants/globex-us/secrets/online-store-client-key""#))
        #expect(!mutualRuntime.contains("/etc/vpt/globex-us/client"))
        #expect(runtime.contains(#""location":"rediss://globex-us@cache.example.internal:6380/0""#))
        #expect(!runtime.contains("/etc/vpt/globex-us/redis-ca.pem"))
    }

    /// `dataPlane.eventLoops` reaches the pod twice: in its runtime config, and as the data plane's
    /// CPU request (one core per loop) and limit (one more); the control plane is not touched.
    @Test func theDataPlanesEventLoopsSetItsCPURequestAndLimit() throws {
        func resources(_ yaml: String, _ plane: String) throws -> (resources: String, runtime: String) {
            let files = try Self.render(try TenantSpecParser.parse(yaml: yaml))
            let manifest = try #require(files.first { $0.path == "kubernetes/\(plane).yaml" }).contents
            let block = try #require(manifest.components(separatedBy: "          resources:\n").last?.components(separatedBy: "          livenessProbe:").first)
            return (block, try #require(files.first { $0.path == "kubernetes/runtime-config.yaml" }).contents)
        }
        let yaml = try exampleYAML("acme-eu.yaml")
        let four = try resources(yaml + "dataPlane:\n  eventLoops: 4\n", "data-plane")
        #expect(four.resources.contains("requests:\n              cpu: 4\n"))
        #expect(four.resources.contains("limits:\n              cpu: 5\n"))
        #expect(four.runtime.contains(#""eventLoops": 4"#))
        let unset = try resources(yaml, "data-plane")
        #expect(unset.resources.contains("requests:\n              cpu: 500m\n") && unset.resources.contains("limits:\n              cpu: 2\n"))
        #expect(!unset.runtime.contains("eventLoops"))
        #expect(try resources(yaml + "dataPlane:\n  eventLoops: 4\n", "control-plane").resources == resources(yaml, "control-plane").resources)
    }

    @Test func renderingIsDeterministic() throws {
        let spec = try Self.spec("globex-us.yaml")
        #expect(try Self.render(spec) == Self.render(spec))
    }

    @Test func keyManagementDecidesWhichAccountDeclaresTheKey() throws {
        let vendor = try Self.render(try Self.spec("acme-eu.yaml"))
        let customer = try Self.render(try Self.spec("globex-us.yaml"))
        func text(_ files: [RenderedFile], _ path: String) -> String { files.first { $0.path == path }?.contents ?? "" }
        #expect(text(vendor, "terraform/vendor-account/kms.tf").contains("resource \"aws_kms_key\" \"cmk\""))
        #expect(!vendor.contains { $0.path == "terraform/customer-account/kms.tf" })
        #expect(!customer.contains { $0.path == "terraform/vendor-account/kms.tf" })
        let customerKey = text(customer, "terraform/customer-account/kms.tf")
        #expect(customerKey.contains("resource \"aws_kms_key\" \"cmk\""))
        #expect(customerKey.contains("name          = \"alias/globex-feature-platform\""))
        // The offline store is in us-west-2, the key in us-east-1: a replica serves it there.
        #expect(customerKey.contains("resource \"aws_kms_replica_key\" \"us_west_2\""))
        #expect(text(customer, "terraform/vendor-account/variables.tf").contains("variable \"cmk_arns\""))
    }

    @Test func hostileDescriptionAndLabelsStayText() throws {
        var spec = try Self.spec("acme-eu.yaml")
        let hostile = "x\" } resource \"aws_iam_user\" \"evil\" { name = \"${var.vendor_account_id}\"\n%{ if true }pwn%{ endif }\\ 'q'"
        spec.description = hostile
        spec.labels = ["team\"\n: x": hostile, "owner": "${jndi:ldap://x}"]
        let files = try Self.render(spec)
        let variables = files.first { $0.path == "terraform/vendor-account/variables.tf" }!.contents
        #expect(variables.contains(#""x\" } resource \"aws_iam_user\" \"evil\" { name = \"$${var.vendor_account_id}\"\n%%{ if true }pwn%%{ endif }\\ 'q'""#))
        #expect(variables.contains(#""owner""#) && variables.contains(#""$${jndi:ldap://x}""#))
        for file in files where file.path.hasSuffix(".tf") {
            #expect(!file.contents.contains("aws_iam_user\" \"evil\" {\n"), "\(file.path) lets the description declare a resource")
            #expect(!file.contents.contains("\"${jndi"), "\(file.path) leaves an interpolation open")
        }
        let namespace = files.first { $0.path == "kubernetes/namespace.yaml" }!.contents
        #expect(namespace.contains(#"vpt.dev/description: "x\" } resource \"aws_iam_user\" \"evil\" { name = \"${var.vendor_account_id}\"\n%{ if true }pwn%{ endif }\\ 'q'""#))
        #expect(namespace.split(separator: "\n").count == 13, "a newline in a value must not add YAML lines")
    }

    @Test func hclQuotingEscapesEveryBreakout() {
        #expect(HCLQuoting.string("a\"b") == #""a\"b""#)
        #expect(HCLQuoting.string("a\\b") == #""a\\b""#)
        #expect(HCLQuoting.string("l1\nl2\r\t") == #""l1\nl2\r\t""#)
        #expect(HCLQuoting.string("${x}") == #""$${x}""#)
        #expect(HCLQuoting.string("%{x}") == #""%%{x}""#)
        #expect(HCLQuoting.string("$$${x}") == #""$$$${x}""#)
        #expect(HCLQuoting.string("$ {x} {y}") == #""$ {x} {y}""#)
        #expect(HCLQuoting.string("bell\u{7}") == #""bell\u0007""#)
        #expect(YAMLQuoting.string("a: \"b\"\n- c") == #""a: \"b\"\n- c""#)
    }

    @Test func imagesMustBePinnedByDigest() {
        #expect(DeploymentConfigRenderer.validateImage("ghcr.io/acme/vpt-runtime@sha256:" + String(repeating: "ab", count: 32)))
        #expect(DeploymentConfigRenderer.validateImage(DeploymentConfigRenderer.defaultImage))
        #expect(!DeploymentConfigRenderer.validateImage("ghcr.io/acme/vpt-runtime:latest"))
        #expect(!DeploymentConfigRenderer.validateImage("ghcr.io/acme/vpt-runtime@sha256:abc"))
        #expect(!DeploymentConfigRenderer.validateImage("ghcr.io/acme/vpt-runtime@sha256:" + String(repeating: "AB", count: 32)))
        #expect(!DeploymentConfigRenderer.validateImage("x\"y@sha256:" + String(repeating: "a", count: 64)))
    }

    @Test func writerTouchesOnlyChangedFilesAndRemovesStaleOnes() throws {
        let folder = temporaryDirectory()
        let vendorKeyed = try Self.render(try Self.spec("acme-eu.yaml"))
        var written = try RenderedFileWriter.write(vendorKeyed, into: folder)
        #expect(written.written.count == vendorKeyed.count)
        let state = folder.appendingPathComponent("terraform/vendor-account/terraform.tfstate")
        try Data("{}".utf8).write(to: state)
        let before = snapshot(folder)
        written = try RenderedFileWriter.write(vendorKeyed, into: folder)
        #expect(written.written.isEmpty && written.removed.isEmpty)
        #expect(snapshot(folder) == before)

        var spec = try Self.spec("acme-eu.yaml")
        spec.encryption.cmk = CMKSpec(managedBy: .customer, keyRef: "alias/acme-key", rotationDays: 365)
        written = try RenderedFileWriter.write(try Self.render(spec), into: folder)
        #expect(written.removed == ["terraform/vendor-account/kms.tf"])
        #expect(written.written.contains("terraform/customer-account/kms.tf"))
        #expect(FileManager.default.fileExists(atPath: state.path), "an operator's Terraform state must survive re-rendering")
        let mode = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent("kubernetes/data-plane.yaml").path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func provisionRendersAndRenderPreviewsUnprovisionedTenants() async throws {
        let provisioner = try freshFleet()
        let spec = try provisioner.loadSpec(yaml: try exampleYAML("acme-eu.yaml"), name: "acme-eu")
        #expect(try provisioner.valuesKnownAfterProvision(tenant: "acme-eu", spec: spec) == ["vendor_account_id", "vpc_cidr", "external_id"])
        let preview = try provisioner.renderDeploymentConfig(tenant: "acme-eu", spec: spec)
        let previewVariables = preview.first { $0.path == "terraform/vendor-account/variables.tf" }!.contents
        #expect(!previewVariables.contains("default     = \"10."), "an automatic CIDR is not known before provisioning")

        _ = try await provisioner.provision(tenant: "acme-eu", spec: spec)
        let config = provisioner.paths.config("acme-eu")
        let variables = try String(contentsOf: config.appendingPathComponent("terraform/vendor-account/variables.tf"), encoding: .utf8)
        let cidr = try provisioner.store.allocation(tenant: "acme-eu")!.description
        #expect(variables.contains("default     = \"\(cidr)\""))
        #expect(try provisioner.valuesKnownAfterProvision(tenant: "acme-eu", spec: spec).isEmpty)
        let runtime = try String(contentsOf: config.appendingPathComponent("kubernetes/runtime-config.yaml"), encoding: .utf8)
        #expect(runtime.contains("\"port\": 8443") && runtime.contains("/var/lib/vpt/tenants/acme-eu/data-plane"))
        let manifest = try String(contentsOf: config.appendingPathComponent("kubernetes/data-plane.yaml"), encoding: .utf8)
        #expect(manifest.contains("image: \"\(DeploymentConfigRenderer.defaultImage)\""))

        // `vpt render` after provisioning produces exactly what provisioning wrote.
        for file in try provisioner.renderDeploymentConfig(tenant: "acme-eu", spec: spec) {
            #expect(try String(contentsOf: config.appendingPathComponent(file.path), encoding: .utf8) == file.contents, "\(file.path)")
        }
        #expect(throws: FleetError.self) { try provisioner.renderDeploymentConfig(tenant: "acme-eu", spec: spec, image: "vpt:latest") }
    }
}
