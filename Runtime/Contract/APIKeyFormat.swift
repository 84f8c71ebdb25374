import Crypto
import Foundation

/// API keys: `vpt_<tenant>_<id>_<secret>`. The tenant part binds a key to one tenant (another tenant's
/// server rejects it outright); only the SHA-256 of the whole key is stored.
public enum APIKeyFormat {
    /// A new key for a tenant: its id and the full key (shown once).
    public static func generate(tenant: String) -> (id: String, key: String) {
        var generator = SystemRandomNumberGenerator()
        let id = Hex.random(bytes: 6)
        let secret = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (id, "vpt_\(tenant)_\(id)_\(secret)")
    }

    /// The tenant and key id a key claims, or nil if it is not in this format.
    public static func parse(_ key: String) -> (tenant: String, id: String)? {
        // On UTF-8 bytes, without splitting the whole key: this runs on every request.
        let bytes = key.utf8
        guard bytes.starts(with: "vpt_".utf8) else { return nil }
        let rest = bytes.dropFirst(4)
        // The secret may itself contain "_"; tenant names never do (DNS labels), ids are 12 hex digits.
        guard let tenantEnd = rest.firstIndex(of: UInt8(ascii: "_")), tenantEnd != rest.startIndex else { return nil }
        let idPart = rest[rest.index(after: tenantEnd)...]
        guard let idEnd = idPart.firstIndex(of: UInt8(ascii: "_")), idPart.distance(from: idPart.startIndex, to: idEnd) == 12 else { return nil }
        return (String(decoding: rest[rest.startIndex..<tenantEnd], as: UTF8.self), String(decoding: idPart[idPart.startIndex..<idEnd], as: UTF8.self))
    }

    /// The stored form: lowercase hex SHA-256 of the whole key.
    public static func hash(_ key: String) -> String { Hex.sha256(key) }
}
