import Foundation

/// The `params` object of a Tecton HTTP API request, read in either spelling: snake_case (the
/// documented curl form) or camelCase (what the official client libraries send).
struct TectonParams {
    let raw: [String: JSONValue]

    init(body: [String: JSONValue]) throws {
        guard let params = body["params"]?.objectValue else { throw APIError.badRequest("the body must have a 'params' object") }
        raw = params
    }

    init(raw: [String: JSONValue]) { self.raw = raw }

    /// A field by its snake_case name, also found under its camelCase spelling.
    func value(_ snake: String) -> JSONValue? {
        if let value = raw[snake] { return value }
        return raw[Self.camelCase[snake] ?? Self.camel(snake)]
    }

    /// The spellings the API uses, computed once (this runs on every request).
    static let camelCase: [String: String] = Dictionary(
        uniqueKeysWithValues: [
            "workspace_name", "feature_service_name", "join_key_map", "request_context_map", "metadata_options", "request_options",
            "include_names", "include_data_types", "include_serving_status", "include_effective_times", "include_slo_info",
            "read_from_cache", "write_to_cache", "request_data", "dry_run",
        ].map { ($0, camel($0)) })

    static func camel(_ snake: String) -> String {
        let parts = snake.split(separator: "_")
        return parts.first.map(String.init)! + parts.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    func string(_ snake: String) throws -> String {
        guard let value = value(snake)?.stringValue, !value.isEmpty else {
            throw APIError.badRequest("params.\(snake) is required and must be a non-empty string")
        }
        return value
    }

    func object(_ snake: String) throws -> [String: JSONValue]? {
        guard let value = value(snake) else { return nil }
        guard let object = value.objectValue else { throw APIError.badRequest("params.\(snake) must be an object") }
        return object
    }

    func bool(_ snake: String, default fallback: Bool) -> Bool {
        switch value(snake) {
        case .bool(let flag): return flag
        case .int(let number): return number != 0  // 0 and 1 were always read as false and true
        case .double(let number): return number != 0
        default: return fallback
        }
    }

    func sub(_ snake: String) throws -> TectonParams? {
        try object(snake).map(TectonParams.init(raw:))
    }
}
