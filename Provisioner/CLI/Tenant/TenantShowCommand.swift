import ArgumentParser
import Foundation
import VPTEngine

/// `vpt tenant show NAME`: one tenant, its identity and resources (never a secret).
struct TenantShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one tenant.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String

    func run() async throws {
        do {
            let provisioner = try Provisioner(home: global.homeURL)
            let detail = try TenantInventory(provisioner: provisioner).detail(name)
            if global.output == .json { return Console.json(detail) }
            let s = detail.summary
            Console.out("Tenant \(s.name)  (\(s.status), updated \(s.updatedAt))")
            if let error = detail.lastError { Console.out("  last error: \(error)") }
            let facts: [(String, String?)] = [
                ("vendor account", detail.vendorAccountId), ("region", s.region), ("VPC", s.vpcCidr),
                ("allowed regions", detail.allowedRegions.joined(separator: ", ")),
                ("customer account", detail.customerAccountId), ("cross-account role", detail.crossAccountRoleArn),
                ("external ID", detail.externalId), ("CMK", detail.cmkArn), ("online store", detail.onlineStoreLocation),
                ("offline store", detail.offlineStoreLocation), ("control plane port", detail.controlPlanePort),
                ("data plane port", detail.dataPlanePort), ("runtime config", detail.runtimeConfig),
            ]
            for (label, value) in facts { Console.out("  \(label.padding(toLength: 19, withPad: " ", startingAt: 0)) \(value ?? "-")") }
            Console.out("")
            Console.out(Console.table(["RESOURCE", "KIND", "STATUS", "UPDATED"], detail.resources.map { [$0.address, $0.kind, $0.status, $0.updatedAt] }))
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}
