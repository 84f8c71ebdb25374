import Foundation

/// Access to the Mustache templates shipped with vpt (this folder's resources).
public enum Templates {
    /// Text of a template by relative path, e.g. `runtime/runtime.json.mustache`.
    public static func text(_ relativePath: String) throws -> String {
        guard let base = Bundle.module.resourceURL else { throw CocoaError(.fileNoSuchFile) }
        return try String(contentsOf: base.appendingPathComponent(relativePath), encoding: .utf8)
    }
}
