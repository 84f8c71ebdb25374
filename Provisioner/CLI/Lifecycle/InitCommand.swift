import ArgumentParser
import VPTEngine

/// `vpt init`: creates the fleet home (idempotent).
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create the fleet: state store, CIDR pool and local KMS master key.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Address space VPC blocks are allocated from (/8 to /16).")
    var cidrPool = "10.0.0.0/8"

    func run() async throws {
        do {
            let report = try Fleet.initialize(home: global.homeURL, cidrPool: cidrPool)
            if global.output == .json { return Console.json(report) }
            Console.out(report.created ? "Initialized fleet at \(report.home)" : "Fleet at \(report.home) already initialized; nothing changed")
            Console.out("  CIDR pool: \(report.cidrPool)")
            Console.out("  state store migrations: \(report.migrations.joined(separator: ", "))")
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}
