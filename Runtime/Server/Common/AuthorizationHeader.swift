import Foundation
import Hummingbird

/// Reading credentials from requests.
enum AuthorizationHeader {
    /// The key of `Authorization: Tecton-key <key>`, or nil.
    static func tectonKey(_ request: Request) -> String? {
        value(request, scheme: "Tecton-key")
    }

    /// The password of `Authorization: Basic …` (a browser's prompt), used as an API key by the web UI.
    static func basicPassword(_ request: Request) -> String? {
        guard let encoded = value(request, scheme: "Basic"), let data = Data(base64Encoded: encoded),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        let password = String(text[text.index(after: colon)...])
        return password.isEmpty ? nil : password
    }

    /// The token of `Authorization: Bearer <token>`, or nil.
    static func bearer(_ request: Request) -> String? {
        value(request, scheme: "Bearer")
    }

    private static func value(_ request: Request, scheme: String) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == scheme.lowercased() else { return nil }
        let value = parts[1].trimmingCharacters(in: .whitespaces)
        return value.isEmpty ? nil : value
    }
}
