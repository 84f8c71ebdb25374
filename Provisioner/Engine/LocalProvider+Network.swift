import Foundation
import VPTLocalCloud

/// A vendor account as the local target records it.
struct AccountManifest: Codable, Equatable {
    var accountId: String
    var kind: String
    var tenant: String
    var provider: String
    var status: String
}

/// A VPC or subnet as the local target records it.
struct NetworkManifest: Codable, Equatable {
    var id: String
    var kind: String
    var cidr: String
    var region: String
    var tenant: String
    var vpcId: String?
    var availabilityZone: String?
    /// The default security group admits nothing; flows are opened explicitly.
    var defaultSecurityGroup: String
    var flowLogs: Bool
}

extension LocalProvider {
    func applyVendorAccount(_ r: DesiredResource) throws -> [String: String] {
        let id = r.attributes["accountId"]!
        let region = paths.region(id, r.attributes["region"]!)
        try SecureFiles.makeDirectory(region)
        FaultInjection.hit("vendor_account.after-directory")
        let manifest = AccountManifest(accountId: id, kind: "vendor", tenant: graph.tenant, provider: r.attributes["provider"]!, status: "active")
        try SecureFiles.writeJSON(manifest, to: paths.account(id).appendingPathComponent("account.json"))
        return ["path": paths.account(id).path]
    }

    func closeVendorAccount(_ attributes: [String: String]) throws -> DeleteOutcome {
        guard let id = attributes["accountId"] else { return .deleted }
        let url = paths.account(id).appendingPathComponent("account.json")
        if var manifest = try SecureFiles.readJSON(AccountManifest.self, from: url) {
            manifest.status = "closed"
            try SecureFiles.writeJSON(manifest, to: url)
        }
        return .deleted
    }

    func networkFile(_ kind: ResourceKind, _ a: [String: String]) -> URL {
        let folder = kind == .vpc ? "vpcs" : "subnets"
        let id = (kind == .vpc ? a["vpcId"] : a["subnetId"]) ?? "unknown"
        return paths.region(a["account"] ?? "", a["region"] ?? "").appendingPathComponent("ec2/\(folder)/\(id).json")
    }

    func applyNetwork(_ r: DesiredResource) throws -> [String: String] {
        let a = r.attributes
        let manifest = NetworkManifest(
            id: (r.kind == .vpc ? a["vpcId"] : a["subnetId"])!, kind: r.kind.rawValue, cidr: a["cidr"]!, region: a["region"]!,
            tenant: graph.tenant, vpcId: r.kind == .subnet ? a["vpcId"] : nil, availabilityZone: a["availabilityZone"],
            defaultSecurityGroup: "deny-all", flowLogs: true)
        let url = networkFile(r.kind, a)
        try SecureFiles.writeJSON(manifest, to: url)
        return ["id": manifest.id, "path": url.path]
    }
}
