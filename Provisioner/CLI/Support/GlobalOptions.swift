import ArgumentParser
import Foundation

/// How results are printed.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case table, json
}

/// Flags every command takes.
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Fleet home (default: $VPT_HOME, else ./.vpt).")
    public var home: String?

    @Option(name: .shortAndLong, help: "Output format: table or json.")
    public var output: OutputFormat = .table

    @Flag(name: .long, help: "Print more detail.")
    public var verbose = false

    public init() {}

    public var homeURL: URL {
        let path = home ?? ProcessInfo.processInfo.environment["VPT_HOME"] ?? ".vpt"
        return URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            .standardizedFileURL
    }
}
