import ArgumentParser
import Foundation
import VPTEngine
import VPTModel

/// `vpt tenant list`: the fleet inventory.
struct TenantListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the fleet's tenants.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        do {
            let provisioner = try Provisioner(home: global.homeURL)
            let views = try TenantInventory(provisioner: provisioner).summaries()
            if global.output == .json { return Console.json(views) }
            guard !views.isEmpty else { return Console.out("No tenants. `vpt provision tenant NAME -f SPEC` adds one.") }
            Console.out(
                Console.table(
                    ["NAME", "STATUS", "PROVIDER", "REGION", "VPC", "ONLINE STORE", "CMK", "UPDATED"],
                    views.map {
                        [$0.name, $0.status, $0.provider, $0.region, $0.vpcCidr ?? "-", $0.onlineStore, $0.cmkManagedBy, $0.updatedAt]
                    }))
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}
