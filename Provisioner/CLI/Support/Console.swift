import ArgumentParser
import Foundation
import VPTEngine
import VPTModel
import VPTState

/// Printing results and errors, and mapping errors to the documented exit codes.
enum Console {
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func json(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        out(String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self))
    }

    /// Left-aligned columns separated by two spaces.
    static func table(_ headers: [String], _ rows: [[String]]) -> String {
        let all = [headers] + rows
        let widths = headers.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// Exit code 65 for invalid input, 1 for failed operations; the message is printed first.
    static func fail(_ error: any Error, format: OutputFormat) -> ExitCode {
        let isInput: Bool
        switch error {
        case is SpecError: isInput = true
        case let fleet as FleetError:
            switch fleet {
            case .nameMismatch, .providerUnavailable, .invalidPool, .poolMismatch, .invalidImage: isInput = true
            default: isInput = false
            }
        case is CIDRAllocationError: isInput = true
        case ProviderError.unusableSecret: isInput = true
        case let call as ControlPlaneError: isInput = call.isInput
        case is ServiceAccountError: isInput = true
        default: isInput = false
        }
        if format == .json {
            var body: [String: [String]] = ["error": ["\(error)"]]
            if let spec = error as? SpecError { body["issues"] = spec.issues.map(\.description) }
            json(body)
        } else {
            err("error: \(error)")
        }
        return isInput ? ExitCode(65) : .failure
    }

    static func readFile(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("-f: cannot read '\(path)': \((error as NSError).localizedDescription)")
        }
    }

    static func progressPrinter(_ format: OutputFormat) -> @Sendable (ProgressLine) -> Void {
        guard format == .table else { return { _ in } }
        return { line in
            out("  \(line.action.symbol.padding(toLength: 3, withPad: " ", startingAt: 0)) \(line.address.padding(toLength: 34, withPad: " ", startingAt: 0)) \(line.result) (\(Int((line.seconds * 1000).rounded())) ms)")
        }
    }
}
