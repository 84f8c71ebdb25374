import ArgumentParser
import Foundation
import Logging
import VPTRuntime

/// `vpt-runtime`: one tenant's control plane or data plane, configured by its rendered runtime config.
@main
@available(macOS 14, *)
struct VPTRuntimeMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vpt-runtime", abstract: "Run a tenant's control plane or data plane.",
        subcommands: [ControlPlaneCommand.self, DataPlaneCommand.self, SuperviseCommand.self])
}

struct ConfigOption: ParsableArguments {
    @Option(help: "The tenant's runtime.json.") var config: String
}

@available(macOS 14, *)
struct ControlPlaneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "control-plane", abstract: "Serve the tenant's control plane.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try RuntimeServices.loadConfig(options.config)
        var logger = Logger(label: "vpt.control-plane")
        logger[metadataKey: "tenant.name"] = "\(config.tenant)"
        let app = try RuntimeServices.controlPlane(config, logger: logger)
        try await app.runService()
    }
}

@available(macOS 14, *)
struct DataPlaneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "data-plane", abstract: "Serve the tenant's feature server and ingest API.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try RuntimeServices.loadConfig(options.config)
        var logger = Logger(label: "vpt.data-plane")
        logger[metadataKey: "tenant.name"] = "\(config.tenant)"
        let parts = try RuntimeServices.dataPlaneParts(config, configPath: options.config)
        let app = RuntimeServices.dataPlane(parts, port: config.dataPlane.port, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await parts.poller.run() }
            group.addTask { try await app.runService() }
            try await group.next()
            group.cancelAll()
        }
    }
}
