import Crypto
import Foundation
import VPTContract
import VPTLocalCloud

extension LocalProvider {
    /// Renders `runtime.json` from the template, checks it against the contract, writes it atomically.
    func applyRuntimeConfig(_ r: DesiredResource, dependencies: [String: [String: String]]) throws -> [String: String] {
        guard let cmkArn = dependencies["cmk"]?["arn"] else { throw ProviderError.missingOutput("cmk", "arn") }
        let text = try RuntimeConfigRenderer(graph: graph, cmkArn: cmkArn).render()
        let data = Data(text.utf8)
        do {
            _ = try JSONDecoder().decode(RuntimeConfig.self, from: data)
        } catch {
            throw ProviderError.renderFailed("\(error)")
        }
        let url = paths.runtimeConfig(graph.tenant)
        try SecureFiles.write(data, to: url)
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        return ["path": url.path, "sha256": digest]
    }

    /// The control and data plane get private data directories; their processes are started by
    /// the runtime supervisor.
    func applyPlane(_ r: DesiredResource) throws -> [String: String] {
        let directory = URL(fileURLWithPath: r.attributes["directory"]!)
        try SecureFiles.makeDirectory(directory)
        try SecureFiles.makeDirectory(paths.runDirectory(graph.tenant))
        return ["directory": directory.path, "port": r.attributes["port"]!]
    }
}
