import ArgumentParser
import VPTEngine

/// `vpt plan`: group for the resource kinds that can be planned.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan", abstract: "Show what provisioning would change.", subcommands: [PlanTenantCommand.self])
}

/// `vpt plan tenant NAME -f SPEC`: prints the diff, changes nothing.
struct PlanTenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tenant", abstract: "Show the resource diff for a tenant spec.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var tenant: TenantSpecArguments
    @Flag(help: "Exit 2 when changes are pending, 0 when there are none (as Terraform).") var detailedExitcode = false

    func run() async throws {
        let plan: Plan
        do {
            let provisioner = try Provisioner(home: global.homeURL)
            let spec = try provisioner.loadSpec(yaml: try Console.readFile(tenant.file), name: tenant.name)
            plan = try provisioner.plan(tenant: tenant.name, spec: spec)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw Console.fail(error, format: global.output)
        }
        if global.output == .json {
            Console.json(plan)
        } else {
            PlanPrinter.print(plan)
        }
        if detailedExitcode, !plan.isEmpty { throw ExitCode(2) }
    }
}

/// Human-readable plans.
enum PlanPrinter {
    static func print(_ plan: Plan) {
        guard !plan.isEmpty else {
            Console.out("No changes. Tenant '\(plan.tenant)' matches the spec.")
            return
        }
        Console.out("Tenant '\(plan.tenant)' plan:")
        for change in plan.changes {
            var header = "  \(change.action.symbol) \(change.address)"
            if let reason = change.reason { header += "  (\(reason))" }
            Console.out(header)
            for field in change.changes {
                switch change.action {
                case .create: Console.out("        \(field.field): \(field.new ?? "")")
                case .delete: Console.out("        \(field.field): \(field.old ?? "")")
                case .update, .replace: Console.out("        \(field.field): \(field.old ?? "(none)") -> \(field.new ?? "(none)")")
                }
            }
        }
        Console.out("Plan: \(plan.summary).")
    }
}
