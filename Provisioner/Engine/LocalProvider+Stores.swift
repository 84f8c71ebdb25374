import Foundation
import VPTLocalCloud

/// The marker a store location carries in the customer account.
struct StoreManifest: Codable, Equatable {
    var kind: String
    var tenant: String
    var region: String
    var location: String
    var namespace: String?
}

extension LocalProvider {
    /// Prepares the store's place in the customer account's region directory. The runtime creates
    /// the tables on first open, with the session credential from the cross-account role.
    func applyStore(_ r: DesiredResource) throws -> [String: String] {
        let a = r.attributes
        let isOnline = r.kind == .onlineStore
        let directory =
            isOnline
            ? paths.onlineStore(account: a["account"]!, region: a["region"]!, tenant: graph.tenant)
            : paths.offlineStore(account: a["account"]!, region: a["region"]!, tenant: graph.tenant)
        try SecureFiles.makeDirectory(directory)
        FaultInjection.hit("\(r.kind.rawValue).after-directory")
        let manifest = StoreManifest(kind: a["kind"]!, tenant: graph.tenant, region: a["region"]!, location: a["location"]!, namespace: a["namespace"])
        try SecureFiles.writeJSON(manifest, to: directory.appendingPathComponent("store.json"))
        return ["directory": directory.path]
    }
}
