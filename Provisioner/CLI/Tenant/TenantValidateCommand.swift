import ArgumentParser
import Foundation
import VPTEngine
import VPTModel

/// `vpt tenant validate -f SPEC`: every violation at once, each with field path, value and rule.
struct TenantValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate a tenant spec (against the fleet's other tenants when a fleet exists).")

    @OptionGroup var global: GlobalOptions
    @Option(name: .customShort("f"), help: "Tenant spec (YAML).") var file: String

    func run() async throws {
        let yaml = try Console.readFile(file)
        do {
            let spec: TenantSpec
            if let provisioner = try? Provisioner(home: global.homeURL) {
                spec = try provisioner.loadSpec(yaml: yaml)
            } else {
                spec = try TenantSpecParser.parse(yaml: yaml)
            }
            if global.output == .json { return Console.json(["valid": true]) }
            Console.out("\(file): tenant '\(spec.name)' is valid.")
        } catch let error as SpecError {
            if global.output == .json {
                Console.json(ValidationReport(valid: false, issues: error.issues.map(IssueView.init)))
            } else {
                Console.err("\(file): \(error)")
            }
            throw ExitCode(65)
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

struct ValidationReport: Encodable {
    var valid: Bool
    var issues: [IssueView]
}

struct IssueView: Encodable {
    var path: String
    var value: String?
    var rule: String
    var line: Int?
    var column: Int?
    var message: String
    init(_ issue: SpecIssue) {
        path = issue.path
        value = issue.value
        rule = issue.rule
        line = issue.line
        column = issue.column
        message = issue.description
    }
}
