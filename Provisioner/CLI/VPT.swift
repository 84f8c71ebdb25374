import ArgumentParser

/// The `vpt` command tree.
@available(macOS 10.15, *)
public struct VPT: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vpt",
        abstract: "Provision and operate Virtual Private deployments of the feature platform.",
        discussion: """
            Exit codes: 0 success, 1 the operation failed, 64 usage error, 65 invalid spec or input \
            (nothing changed). `plan --detailed-exitcode`: 0 no changes, 2 changes pending.
            """,
        subcommands: [
            InitCommand.self, TenantCommand.self, PlanCommand.self, RenderCommand.self, ProvisionCommand.self, DeprovisionCommand.self, HealthCommand.self, KeysCommand.self, JobsCommand.self, ServiceAccountsCommand.self,
        ])
    public init() {}
}
