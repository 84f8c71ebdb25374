import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import VPTRuntime

/// `vpt-runtime`: one tenant's control plane or data plane, configured by its rendered runtime config.
@available(macOS 14, *)
struct VPTRuntimeMain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vpt-runtime", abstract: "Run a tenant's control plane or data plane.",
        subcommands: [ControlPlaneCommand.self, DataPlaneCommand.self, SuperviseCommand.self, RiftRunCommand.self])
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
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).path
        let services = try RuntimeServices.controlPlane(
            config, riftCommand: [binary, "rift-run", "--config", URL(fileURLWithPath: options.config).path], logger: logger)
        do {
            try await ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
        } catch {
            throw ListenFailure.explain(error, plane: "control plane", ports: [config.controlPlane.port] + (config.tls.map { [$0.internalPort] } ?? []))
        }
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
        let app = try RuntimeServices.dataPlane(parts, port: config.dataPlane.port, logger: logger)
        do {
            try await ServiceGroup(configuration: .init(services: [app, parts.poller], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)).run()
        } catch {
            throw ListenFailure.explain(error, plane: "data plane", ports: [config.dataPlane.port])
        }
    }
}
