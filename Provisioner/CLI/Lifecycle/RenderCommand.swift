import ArgumentParser
import Foundation
import VPTEngine

/// `vpt render`: group for what can be rendered.
struct RenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Render deployment configuration without provisioning.",
        subcommands: [RenderTenantCommand.self])
}

/// `vpt render tenant NAME [-f SPEC] [--out DIR]`: writes the tenant's Terraform and Kubernetes
/// configuration (the files `vpt provision` keeps in `tenants/NAME/config/`) and provisions nothing.
struct RenderTenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Render a tenant's Terraform and Kubernetes configuration.",
        discussion: """
            Without -f the spec last provisioned is used. Values that only provisioning generates \
            (vendor account id, an automatic CIDR block, the external ID) become Terraform variables \
            without a default until the tenant is provisioned.
            """)

    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String
    @Option(name: .customShort("f"), help: "Tenant spec (YAML); default: the spec last provisioned.") var file: String?
    @Option(help: "Folder to write into; default: tenants/NAME/config/ under the fleet home.") var out: String?
    @Option(help: "Runtime image pinned by digest (REPOSITORY@sha256:DIGEST); default: the fleet's.") var image: String?

    struct Report: Encodable {
        var tenant: String
        var folder: String
        var files: [String]
        var written: [String]
        var removed: [String]
        var unknownValues: [String]
    }

    func run() async throws {
        do {
            let provisioner = try Provisioner(home: global.homeURL)
            let spec =
                if let file {
                    try provisioner.loadSpec(yaml: try Console.readFile(file), name: name)
                } else {
                    try provisioner.recordedSpec(tenant: name)
                }
            let files = try provisioner.renderDeploymentConfig(tenant: name, spec: spec, image: image)
            let folder = out.map { URL(fileURLWithPath: $0) } ?? provisioner.paths.config(name)
            let result = try RenderedFileWriter.write(files, into: folder)
            let unknown = try provisioner.valuesKnownAfterProvision(tenant: name, spec: spec)
            let report = Report(
                tenant: name, folder: folder.path, files: files.map(\.path), written: result.written, removed: result.removed,
                unknownValues: unknown)
            if global.output == .json { return Console.json(report) }
            Console.out("Rendered \(files.count) files for tenant '\(name)' into \(folder.path)")
            Console.out("  changed: \(result.written.count), removed: \(result.removed.count), unchanged: \(files.count - result.written.count)")
            for path in result.written { Console.out("  wrote \(path)") }
            for path in result.removed { Console.out("  removed \(path)") }
            if !unknown.isEmpty {
                Console.out("  not provisioned yet; these Terraform variables have no default: \(unknown.joined(separator: ", "))")
            }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}
