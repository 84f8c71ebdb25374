import ArgumentParser
import Foundation
import VPTEngine
import VPTModel

/// `vpt provision`: group.
struct ProvisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision", abstract: "Create or update deployments.", subcommands: [ProvisionTenantCommand.self])
}

/// `vpt provision tenant NAME -f SPEC`: applies the plan; safe to re-run after any failure.
struct ProvisionTenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tenant", abstract: "Provision (or update) a tenant from its spec.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var tenant: TenantSpecArguments
    @Option(help: "How many independent resources to apply at once.") var parallelism = 10

    func validate() throws {
        guard (1...64).contains(parallelism) else { throw ValidationError("--parallelism must be between 1 and 64") }
    }

    func run() async throws {
        let started = Date()
        do {
            let provisioner = try Provisioner(home: global.homeURL)
            let spec = try provisioner.loadSpec(yaml: try Console.readFile(tenant.file), name: tenant.name)
            if global.output == .table, global.verbose { PlanPrinter.print(try provisioner.plan(tenant: tenant.name, spec: spec)) }
            if global.output == .table { Console.out("Provisioning tenant '\(tenant.name)'…") }
            let report = try await provisioner.provision(
                tenant: tenant.name, spec: spec, parallelism: parallelism, progress: Console.progressPrinter(global.output))
            let elapsed = String(format: "%.2f", Date().timeIntervalSince(started))
            if global.output == .json {
                Console.json(ProvisionSummary(tenant: tenant.name, changed: !report.plan.isEmpty, plan: report.plan, seconds: Date().timeIntervalSince(started)))
            } else if report.plan.isEmpty {
                Console.out("No changes. Tenant '\(tenant.name)' matches the spec.")
                if report.runtimeRestarted { Console.out("  Its runtime was not running and has been started.") }
            } else {
                Console.out("Tenant '\(tenant.name)' provisioned in \(elapsed)s: \(report.plan.summary).")
                if let smoke = report.smokeTestMilliseconds, let endpoints = try? TenantEndpoints(paths: provisioner.paths, tenant: tenant.name) {
                    Console.out("  Smoke test: a feature read through the tenant's feature server took \(String(format: "%.1f", smoke)) ms.")
                    Console.out("  feature server  \(endpoints.dataPlane.absoluteString)/api/v1/feature-service/get-features")
                    Console.out("  ingest          \(endpoints.dataPlane.absoluteString)/ingest")
                    Console.out("  control plane   \(endpoints.controlPlane.absoluteString)")
                    if let ca = endpoints.caFile { Console.out("  tenant CA       \(ca)") }
                    Console.out("  `vpt tenant endpoints \(tenant.name)` prints a working curl command.")
                } else {
                    Console.out("  `vpt tenant show \(tenant.name)` shows its resources.")
                }
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

struct ProvisionSummary: Encodable {
    var tenant: String
    var changed: Bool
    var plan: Plan
    var seconds: Double
}
