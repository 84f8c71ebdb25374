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
        guard key.hasPrefix("vpt_") else { return nil }
        let parts = key.dropFirst(4).split(separator: "_", omittingEmptySubsequences: false)
        // The secret may itself contain "_"; tenant names never do (DNS labels), ids are hex.
        guard parts.count >= 3, !parts[0].isEmpty, parts[1].count == 12 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    /// The stored form: lowercase hex SHA-256 of the whole key.
    public static func hash(_ key: String) -> String { Hex.sha256(key) }
}
