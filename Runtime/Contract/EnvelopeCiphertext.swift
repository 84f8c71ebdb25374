import Foundation

/// The wire format of everything encrypted under a KMS key (the envelope encryption contract).
///
/// Layout: `"VPE1" | u8 keyIdLength | keyId (UTF-8) | u32 keyVersion (big-endian) | 12-byte nonce |
/// ciphertext | 16-byte tag`. The header and the canonical encryption context are the AES-GCM
/// associated data, so a ciphertext cannot be moved to another key, version, tenant or record.
public struct EnvelopeCiphertext: Sendable, Equatable {
    public static let magic = Array("VPE1".utf8)
    public var keyId: String
    public var keyVersion: UInt32
    public var nonce: [UInt8]
    public var sealed: [UInt8]  // ciphertext followed by the tag

    public init(keyId: String, keyVersion: UInt32, nonce: [UInt8], sealed: [UInt8]) {
        self.keyId = keyId
        self.keyVersion = keyVersion
        self.nonce = nonce
        self.sealed = sealed
    }

    /// Bytes authenticated but not encrypted: everything before the nonce.
    public var header: [UInt8] {
        let id = Array(keyId.utf8)
        var out = Self.magic
        out.append(UInt8(id.count))
        out += id
        out += [UInt8(keyVersion >> 24 & 255), UInt8(keyVersion >> 16 & 255), UInt8(keyVersion >> 8 & 255), UInt8(keyVersion & 255)]
        return out
    }

    public var bytes: [UInt8] { header + nonce + sealed }

    /// Parses the format, or nil if the bytes are not an envelope.
    public init?(bytes: [UInt8]) {
        guard bytes.count > 4 + 1 + 4 + 12 + 16, Array(bytes[0..<4]) == Self.magic else { return nil }
        let idLength = Int(bytes[4])
        let versionAt = 5 + idLength
        guard bytes.count >= versionAt + 4 + 12 + 16,
            let id = String(bytes: bytes[5..<versionAt], encoding: .utf8)
        else { return nil }
        keyId = id
        keyVersion = bytes[versionAt..<versionAt + 4].reduce(0) { $0 << 8 | UInt32($1) }
        nonce = Array(bytes[versionAt + 4..<versionAt + 16])
        sealed = Array(bytes[(versionAt + 16)...])
    }

    /// Canonical encryption context: `key=value` pairs sorted by key, joined by newlines.
    public static func canonicalContext(_ context: [String: String]) -> [UInt8] {
        Array(context.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "\n").utf8)
    }
}
