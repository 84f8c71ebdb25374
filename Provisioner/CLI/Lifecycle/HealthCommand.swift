import ArgumentParser
import Foundation
import VPTEngine
import VPTLocalCloud

/// `vpt health NAME | --all`: the tenant health report.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Report the health of one tenant or of the whole fleet.",
        discussion: """
            Runs every check in parallel, each under --timeout. Exit codes: 0 healthy, 1 degraded \
            (a warning), 2 unhealthy (a failure), 3 unknown (a check could not tell); a failure \
            outranks unknown, which outranks a warning. The JSON schema is docs/health-report.schema.json.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, html
    }

    @Option(name: .long, help: "Fleet home (default: $VPT_HOME, else ./.vpt).") var home: String?
    @Option(name: .shortAndLong, help: "Output format: table, json or html.") var output: Format = .table
    @Flag(name: .long, help: "Print more detail (every check's threshold).") var verbose = false
    @Argument(help: "Tenant name.") var name: String?
    @Flag(help: "Every tenant of the fleet.") var all = false
    @Option(help: "Write the report to this file instead of stdout.") var out: String?
    @Option(help: "Seconds each check may take.") var timeout: Double = 3

    func validate() throws {
        guard (name == nil) != !all else { throw ValidationError("name one tenant or pass --all") }
        guard timeout > 0, timeout <= 60 else { throw ValidationError("--timeout must be between 0 and 60 seconds") }
    }

    func run() async throws {
        var global = GlobalOptions()
        global.home = home
        global.output = output == .json ? .json : .table
        let report: HealthReport
        do {
            let provisioner = try Provisioner(home: global.homeURL)
            let runner = HealthRunner(paths: provisioner.paths, store: provisioner.store, timeout: timeout)
            report = try await runner.run(tenants: all ? try runner.allTenants() : [name!])
        } catch {
            throw Console.fail(error, format: global.output)
        }
        let text: String
        switch output {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            text = String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        case .html:
            text = HealthHTML.render(report)
        case .table:
            text = HealthTable.render(report, color: out == nil && Self.wantsColor(), thresholds: verbose)
        }
        if let out {
            try SecureFiles.write(Data(text.utf8), to: URL(fileURLWithPath: out))
            Console.err("health report (\(output.rawValue)) written to \(out): \(report.status.rawValue)")
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
        if report.exitCode != 0 { throw ExitCode(report.exitCode) }
    }

    static func wantsColor() -> Bool {
        isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }
}

/// The report for people: one block per tenant, statuses colored on a terminal.
enum HealthTable {
    static func render(_ report: HealthReport, color: Bool, thresholds: Bool) -> String {
        func paint(_ status: HealthStatus, _ text: String) -> String {
            guard color else { return text }
            let code = switch status {
            case .ok: "32"
            case .warn: "33"
            case .fail: "31;1"
            case .unknown: "90"
            }
            return "\u{1B}[\(code)m\(text)\u{1B}[0m"
        }
        var lines: [String] = []
        for tenant in report.tenants {
            lines.append("\(tenant.name): \(paint(tenant.status, tenant.status.rawValue.uppercased()))")
            let headers = ["STATUS", "CHECK", "OBSERVED"] + (thresholds ? ["THRESHOLD"] : [])
            let rows = tenant.checks.map { [$0.status.rawValue, $0.id, $0.observed] + (thresholds ? [$0.threshold] : []) }
            let table = Console.table(headers, rows).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines.append("  " + table[0])
            for (check, line) in zip(tenant.checks, table.dropFirst()) {
                let word = check.status.rawValue
                lines.append("  " + paint(check.status, word) + line.dropFirst(word.count))
                if !check.remedy.isEmpty { lines.append("        -> \(check.remedy)") }
            }
            lines.append("")
        }
        let s = report.summary
        let verdict = ["healthy", "degraded", "unhealthy", "unknown"][Int(report.exitCode)]
        lines.append(
            "\(s.tenants) tenant\(s.tenants == 1 ? "" : "s"): \(s.ok) ok, \(s.warn) warn, \(s.fail) fail, \(s.unknown) unknown "
                + "in \(String(format: "%.2f", report.durationMs / 1000)) s; \(paint(report.status, verdict)) (exit \(report.exitCode))")
        return lines.joined(separator: "\n") + "\n"
    }
}
