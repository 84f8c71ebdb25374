import Foundation
import Testing
import VPTContract
import VPTEngine
import VPTLocalCloud
import VPTTestSupport

/// A provisioned tenant as its data plane sees it: the rendered config and a session assumed
/// through the cross-account role with the external ID.
struct TenantFixture {
    var config: RuntimeConfig
    var session: SessionCredential
    var sts: LocalSTS

    /// Provisions `names` from an example spec (configuration only, no processes).
    static func provision(
        _ names: [String], example: String, label: String, edit: (_ yaml: String, _ tenant: String) throws -> String = { yaml, _ in yaml }
    ) async throws -> [TenantFixture] {
        let home = temporaryDirectory(label)
        _ = try Fleet.initialize(home: home, runtime: false)
        let provisioner = try Provisioner(home: home)
        let yaml = try String(contentsOf: repositoryRoot.appendingPathComponent("examples/\(example).yaml"), encoding: .utf8)
        var tenants: [TenantFixture] = []
        for name in names {
            let spec = try provisioner.loadSpec(yaml: try edit(yaml.replacingOccurrences(of: "name: \(example)", with: "name: \(name)"), name))
            _ = try await provisioner.provision(tenant: name, spec: spec)
            let config = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: provisioner.paths.runtimeConfig(name)))
            let sts = LocalSTS(iam: LocalIAM(accountsRoot: URL(fileURLWithPath: config.accountsRoot)))
            let caller = try #require(
                try SecureFiles.readJSON(AccessKeyCredential.self, from: URL(fileURLWithPath: config.crossAccount.callerCredentialFile)))
            let session = try sts.assumeRole(
                roleArn: config.crossAccount.roleArn, externalId: config.crossAccount.externalId, sessionName: "data-plane",
                durationSeconds: 900, caller: caller)
            tenants.append(TenantFixture(config: config, session: session, sts: sts))
        }
        return tenants
    }
}
