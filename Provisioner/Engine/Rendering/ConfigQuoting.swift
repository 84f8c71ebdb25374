import Foundation

/// Quoting of values inserted into rendered Terraform and Kubernetes files. Templates insert
/// every value unescaped (`{{{value}}}`), so each value is quoted here, for its format, before it
/// reaches the template: a quote, a newline or `${` in a label or description stays text.
enum HCLQuoting {
    /// A complete HCL string literal: `"…"`.
    static func string(_ value: String) -> String { "\"\(inner(value))\"" }

    /// The inside of an HCL string literal. Besides the usual escapes, `${` and `%{` start template
    /// interpolation and directives in HCL strings, so they are doubled (`$${`, `%%{`).
    static func inner(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.count)
        var previous: Unicode.Scalar?
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "{" where previous == "$" || previous == "%":
                out.unicodeScalars.append(previous!)
                out += "{"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value) {
                    out += String(format: "\\u%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
            previous = scalar
        }
        return out
    }
}

/// YAML double-quoted scalars. A JSON string literal is a valid YAML double-quoted scalar with the
/// same meaning, and JSON escapes every quote, backslash and control character.
enum YAMLQuoting {
    static func string(_ value: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding a String cannot fail.
        return String(decoding: (try? encoder.encode(value)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}
