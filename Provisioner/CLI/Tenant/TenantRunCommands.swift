import ArgumentParser
import VPTEngine

/// `vpt tenant start NAME`: starts a tenant's processes and waits until they are ready.
struct TenantStartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "start", abstract: "Start a tenant's control plane and data plane.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String

    func run() async throws {
        do {
            try Provisioner(home: global.homeURL).start(tenant: name)
            if global.output == .table { Console.out("Tenant '\(name)' is running.") } else { Console.json(["tenant": name, "running": "true"]) }
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

/// `vpt tenant stop NAME`: stops a tenant's processes; data and configuration stay.
struct TenantStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop a tenant's control plane and data plane.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String

    func run() async throws {
        do {
            try Provisioner(home: global.homeURL).stop(tenant: name)
            if global.output == .table { Console.out("Tenant '\(name)' is stopped.") } else { Console.json(["tenant": name, "running": "false"]) }
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}
