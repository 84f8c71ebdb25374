import ArgumentParser
import VPTEngine

/// `vpt init`: creates the fleet home (idempotent).
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create the fleet: state store, CIDR pool and local KMS master key.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Address space VPC blocks are allocated from (/8 to /16).")
    var cidrPool = "10.0.0.0/8"

    @Flag(help: "Render configuration only; never start tenant processes.")
    var noRuntime = false

    @Option(help: "Loopback ports for tenant processes, as FIRST-LAST.")
    var portRange = "20000-29999"

    @Option(help: "Runtime image for rendered Kubernetes manifests, pinned by digest (REPOSITORY@sha256:DIGEST).")
    var runtimeImage: String?

    func validate() throws {
        let parts = portRange.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 2, 1024 <= parts[0], parts[0] < parts[1], parts[1] <= 65535 else {
            throw ValidationError("--port-range must be FIRST-LAST within 1024-65535")
        }
    }

    func run() async throws {
        do {
            let parts = portRange.split(separator: "-").compactMap { Int($0) }
            let report = try Fleet.initialize(home: global.homeURL, cidrPool: cidrPool, runtime: !noRuntime, portRange: parts[0]...parts[1],
                runtimeImage: runtimeImage)
            if global.output == .json { return Console.json(report) }
            Console.out(report.created ? "Initialized fleet at \(report.home)" : "Fleet at \(report.home) already initialized; nothing changed")
            Console.out("  CIDR pool: \(report.cidrPool)")
            Console.out("  tenant runtime: \(report.runtime ? "started by provision, ports \(report.portRange)" : "off (configuration only)")")
            if let warning = report.portRangeWarning { Console.err("warning: \(warning)") }
            Console.out("  runtime image: \(report.runtimeImage ?? "not set (manifests name a placeholder; set --runtime-image)")")
            Console.out("  state store migrations: \(report.migrations.joined(separator: ", "))")
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}
