import Foundation
import VPTContract
import VPTLocalCloud

extension LocalProvider {
    /// Renders `runtime.json` from the template, checks it against the contract, writes it atomically.
    func applyRuntimeConfig(_ r: DesiredResource, dependencies: [String: [String: String]]) throws -> [String: String] {
        guard let cmkArn = dependencies["cmk"]?["arn"] else { throw ProviderError.missingOutput("cmk", "arn") }
        guard let secrets = dependencies["runtime_secrets"] else { throw ProviderError.missingOutput("runtime_secrets", "hashes") }
        let text = try RuntimeConfigRenderer(graph: graph, cmkArn: cmkArn, secrets: secrets).render()
        let data = Data(text.utf8)
        do {
            _ = try JSONDecoder().decode(RuntimeConfig.self, from: data)
        } catch {
            throw ProviderError.renderFailed("\(error)")
        }
        let url = paths.runtimeConfig(graph.tenant)
        try SecureFiles.write(data, to: url)
        return ["path": url.path, "sha256": Hex.sha256(data)]
    }

    /// The tenant CA and the planes' certificates (kept once made; `vpt keys rotate --certs` reissues).
    func applyCertificates(_ r: DesiredResource) throws -> [String: String] {
        let pki = TenantPKI(paths: paths, tenant: graph.tenant)
        try pki.ensure()
        return ["folder": pki.folder.path, "caFile": pki.caCertificate.path]
    }

    /// The tenant admin API key and the data plane's token: generated once, kept only in the tenant's
    /// secrets folder (0600); the runtime config carries their hashes.
    func applyRuntimeSecrets(_ r: DesiredResource) throws -> [String: String] {
        func ensure(_ url: URL, _ make: () -> String) throws -> String {
            if let data = FileManager.default.contents(atPath: url.path), !data.isEmpty {
                return String(decoding: data, as: UTF8.self)
            }
            let value = make()
            try SecureFiles.write(Data(value.utf8), to: url)
            return value
        }
        let admin = try ensure(paths.adminKey(graph.tenant)) { APIKeyFormat.generate(tenant: graph.tenant).key }
        FaultInjection.hit("runtime_secrets.after-admin-key")
        let token = try ensure(paths.internalToken(graph.tenant)) { RandomText.base64url(bytes: 32) }
        return [
            "adminKeySHA256": APIKeyFormat.hash(admin), "internalTokenSHA256": APIKeyFormat.hash(token),
            "adminKeyFile": paths.adminKey(graph.tenant).path,
        ]
    }

    /// The control and data plane get private data directories; their processes are started by
    /// the runtime supervisor.
    func applyPlane(_ r: DesiredResource, dependencies: [String: [String: String]]) throws -> [String: String] {
        let directory = URL(fileURLWithPath: r.attributes["directory"]!)
        try SecureFiles.makeDirectory(directory)
        try SecureFiles.makeDirectory(paths.runDirectory(graph.tenant))
        let port = Int(r.attributes["port"]!) ?? 0
        if let launcher {
            if r.kind == .controlPlane {
                guard let sha = dependencies["runtime_config"]?["sha256"] else { throw ProviderError.missingOutput("runtime_config", "sha256") }
                try launcher.ensureRunning(tenant: graph.tenant, configSHA256: sha)
                try launcher.waitReady("control plane", port: port, tenant: graph.tenant)
            } else {
                try launcher.waitReady("data plane", port: port, tenant: graph.tenant)
            }
        }
        return ["directory": directory.path, "port": String(port), "running": launcher == nil ? "no (runtime off)" : "yes"]
    }
}
