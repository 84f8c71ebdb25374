import ArgumentParser
import Foundation
import VPTEngine

/// `vpt deprovision`: group.
struct DeprovisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deprovision", abstract: "Tear down deployments.", subcommands: [DeprovisionTenantCommand.self])
}

/// `vpt deprovision tenant NAME`: vendor side removed in reverse order; customer data stays.
struct DeprovisionTenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Deprovision a tenant; customer stores are left in place.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String
    @Flag(help: "Show what would happen; change nothing.") var dryRun = false
    @Option(help: "Waiting period before vendor keys are deleted (7 to 30 days).") var keyDeletionDays = 30

    func validate() throws {
        guard (7...30).contains(keyDeletionDays) else { throw ValidationError("--key-deletion-days must be between 7 and 30") }
    }

    func run() async throws {
        do {
            let provisioner = try Provisioner(home: global.homeURL)
            if global.output == .table, !dryRun { Console.out("Deprovisioning tenant '\(name)'…") }
            let report = try await provisioner.deprovision(
                tenant: name, dryRun: dryRun, keyDeletionDays: keyDeletionDays,
                progress: Console.progressPrinter(dryRun ? .json : global.output))
            if global.output == .json {
                return Console.json(
                    DeprovisionSummary(
                        tenant: name, dryRun: dryRun, plan: report.plan, retainedCustomerData: report.retained,
                        keysScheduledForDeletion: report.scheduled, releasedCIDR: report.releasedCIDR))
            }
            if dryRun {
                Console.out("Deprovisioning '\(name)' would:")
                for change in report.plan.changes {
                    let retained = report.retained[change.address].map { "  (retained: \($0))" } ?? ""
                    Console.out("  - \(change.address)\(retained)")
                }
                if let cidr = report.releasedCIDR { Console.out("  release VPC block \(cidr)") }
                Console.out("Nothing was changed (--dry-run).")
                return
            }
            Console.out("Tenant '\(name)' deprovisioned.")
            if let cidr = report.releasedCIDR { Console.out("  Released VPC block \(cidr).") }
            for (address, date) in report.scheduled.sorted(by: { $0.key < $1.key }) {
                Console.out("  \(address): scheduled for deletion on \(ISO8601DateFormatter().string(from: date)).")
            }
            if !report.retained.isEmpty {
                Console.out("Retained customer data (not deleted):")
                for (address, why) in report.retained.sorted(by: { $0.key < $1.key }) { Console.out("  \(address): \(why)") }
            }
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

struct DeprovisionSummary: Encodable {
    var tenant: String
    var dryRun: Bool
    var plan: Plan
    var retainedCustomerData: [String: String]
    var keysScheduledForDeletion: [String: Date]
    var releasedCIDR: String?
}
