import Foundation

/// The `params` object of a Tecton HTTP API request, read in either spelling: snake_case (the
/// documented curl form) or camelCase (what the official client libraries send).
struct TectonParams {
    let raw: [String: Any]

    init(body: [String: Any]) throws {
        guard let params = body["params"] as? [String: Any] else { throw APIError.badRequest("the body must have a 'params' object") }
        raw = params
    }

    init(raw: [String: Any]) { self.raw = raw }

    /// A field by its snake_case name, also found under its camelCase spelling.
    func value(_ snake: String) -> Any? {
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
        guard let value = value(snake) as? String, !value.isEmpty else {
            throw APIError.badRequest("params.\(snake) is required and must be a non-empty string")
        }
        return value
    }

    func object(_ snake: String) throws -> [String: Any]? {
        guard let value = value(snake) else { return nil }
        guard let object = value as? [String: Any] else { throw APIError.badRequest("params.\(snake) must be an object") }
        return object
    }

    func bool(_ snake: String, default fallback: Bool) -> Bool {
        guard let value = value(snake) else { return fallback }
        return (value as? Bool) ?? (value as? NSNumber)?.boolValue ?? fallback
    }

    func sub(_ snake: String) throws -> TectonParams? {
        try object(snake).map(TectonParams.init(raw:))
    }
}
