import Foundation
import Hummingbird
import NIOHTTP1

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

    /// `SCHEME <value>`: the scheme compared without case, the value without surrounding blanks.
    /// Parsed on UTF-8 bytes: this runs on every request, and Foundation's trimming goes through
    /// NSString on Linux (several µs).
    static func value(_ header: String, scheme: String) -> String? {
        // In place on the strings' own UTF-8 storage: no copy of either.
        var header = header
        var scheme = scheme
        return header.withUTF8 { bytes in
            scheme.withUTF8 { name -> String? in
                guard bytes.count > name.count, bytes[name.count] == UInt8(ascii: " ") else { return nil }
                for i in 0..<name.count where lower(bytes[i]) != lower(name[i]) { return nil }
                var start = name.count + 1
                var end = bytes.count
                while start < end, isBlank(bytes[start]) { start += 1 }
                while end > start, isBlank(bytes[end - 1]) { end -= 1 }
                guard start < end else { return nil }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
            }
        }
    }

    private static func lower(_ byte: UInt8) -> UInt8 { (65...90).contains(byte) ? byte + 32 : byte }
    private static func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    private static func value(_ request: Request, scheme: String) -> String? {
        request.headers[.authorization].flatMap { value($0, scheme: scheme) }
    }

    /// The key of `Authorization: Tecton-key <key>` in the data plane's request headers, or nil.
    static func tectonKey(_ headers: HTTPHeaders) -> String? {
        headers.first(name: "authorization").flatMap { value($0, scheme: "Tecton-key") }
    }

    /// The token of `Authorization: Bearer <token>` in the data plane's request headers, or nil.
    static func bearer(_ headers: HTTPHeaders) -> String? {
        headers.first(name: "authorization").flatMap { value($0, scheme: "Bearer") }
    }
}
