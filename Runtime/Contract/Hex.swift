import Crypto
import Foundation

/// Lowercase hex, the one encoding of digests and random ids across vpt (table-based: `String(format:)`
/// costs about 1 µs per byte on Linux, which showed on the serving path).
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        // Digests are sequences that report no count: room for 32 bytes at least, one allocation.
        out.reserveCapacity(max(bytes.underestimatedCount, 32) * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Hex SHA-256 of bytes.
    public static func sha256(_ data: Data) -> String { encode(SHA256.hash(data: data)) }

    /// Hex SHA-256 of a string's UTF-8, hashed in place (API keys are hashed on every request).
    public static func sha256(_ text: String) -> String {
        var text = text
        return text.withUTF8 { encode(SHA256.hash(data: UnsafeRawBufferPointer($0))) }
    }

    /// A digest's bytes read in place: iterating one copies it into an array first.
    public static func encode(_ digest: SHA256Digest) -> String { digest.withUnsafeBytes { encode($0) } }

    /// `count` random bytes from the system's CSPRNG, in hex.
    public static func random(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return encode((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
