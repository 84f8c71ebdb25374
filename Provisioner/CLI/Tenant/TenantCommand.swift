import ArgumentParser

/// `vpt tenant`: inventory and spec checks.
struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Validate specs and inspect the fleet's tenants.",
        subcommands: [
            TenantValidateCommand.self, TenantListCommand.self, TenantShowCommand.self, TenantEndpointsCommand.self,
            TenantStartCommand.self, TenantStopCommand.self,
        ])
}
