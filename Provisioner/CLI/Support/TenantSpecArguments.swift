import ArgumentParser

/// `NAME -f SPEC`, shared by the commands that take a tenant and its spec.
struct TenantSpecArguments: ParsableArguments {
    @Argument(help: "Tenant name (must match the spec's name).") var name: String
    @Option(name: .customShort("f"), help: "Tenant spec (YAML).") var file: String
}
