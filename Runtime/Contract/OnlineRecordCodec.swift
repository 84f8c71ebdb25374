/// The one encoding of online records, shared by the Swift runtime and the Python SDK.
/// Specified in docs/online-record-codec.md; docs/test-vectors/online-records.json holds vectors.
///
/// - Entity key: the join-key values in declared order, each as `tag | payload` (the value encoding
///   below), so equal keys of different types never collide.
/// - Value: `0x01 (version) | event time i64 | write time i64 | u16 count | (u16 name length |
///   name UTF-8 | value)*`.
/// - Value encoding: tag `u8` then payload: null none; bool 1 byte (0/1); int64 8 bytes; float64
///   IEEE-754 binary64 8 bytes; string `u32 length | UTF-8`; array `u32 count | value*`.
/// All integers are big-endian.
public enum OnlineRecordCodec {
    public static let version: UInt8 = 1

    public enum DecodeError: Error, Equatable, CustomStringConvertible {
        case truncated
        case unknownVersion(UInt8)
        case unknownTag(UInt8)
        case invalidUTF8
        public var description: String {
            switch self {
            case .truncated: "the record is truncated"
            case .unknownVersion(let v): "record codec version \(v) is not supported (expected \(OnlineRecordCodec.version))"
            case .unknownTag(let t): "unknown value tag \(t)"
            case .invalidUTF8: "a string is not valid UTF-8"
            }
        }
    }

    /// Encodes the join-key values (names are part of the feature view, not the key).
    public static func entityKey(_ values: [FeatureValue]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 9)  // one allocation for scalar keys
        for value in values { encode(value, into: &out) }
        return out
    }

    /// Encodes times and features.
    public static func encodeValue(features: [(name: String, value: FeatureValue)], eventTimeMicros: Int64, writeTimeMicros: Int64) -> [UInt8] {
        var out: [UInt8] = [version]
        out.reserveCapacity(32 + features.count * 24)
        append(UInt64(bitPattern: eventTimeMicros), bytes: 8, to: &out)
        append(UInt64(bitPattern: writeTimeMicros), bytes: 8, to: &out)
        append(UInt64(features.count), bytes: 2, to: &out)
        for (name, value) in features {
            let utf8 = Array(name.utf8)
            append(UInt64(utf8.count), bytes: 2, to: &out)
            out += utf8
            encode(value, into: &out)
        }
        return out
    }

    /// Decodes a value made by `encodeValue`.
    public static func decodeValue(_ bytes: [UInt8]) throws(DecodeError) -> (features: [(name: String, value: FeatureValue)], eventTimeMicros: Int64, writeTimeMicros: Int64) {
        var reader = Reader(bytes: bytes)
        let (event, write, count) = try reader.header()
        var features: [(name: String, value: FeatureValue)] = []
        features.reserveCapacity(count)
        for _ in 0..<count {
            let name = try reader.string(length: Int(try reader.integer(2)))
            features.append((name, try reader.value()))
        }
        guard reader.atEnd else { throw .truncated }
        return (features, event, write)
    }

    /// Decodes an entity key made by `entityKey`.
    public static func decodeEntityKey(_ bytes: [UInt8]) throws(DecodeError) -> [FeatureValue] {
        var reader = Reader(bytes: bytes)
        var values: [FeatureValue] = []
        while !reader.atEnd { values.append(try reader.value()) }
        return values
    }

    static func encode(_ value: FeatureValue, into out: inout [UInt8]) {
        out.append(value.tag)
        switch value {
        case .null: break
        case .bool(let b): out.append(b ? 1 : 0)
        case .int64(let i): append(UInt64(bitPattern: i), bytes: 8, to: &out)
        case .float64(let d): append(d.bitPattern, bytes: 8, to: &out)
        case .string(let s):
            let utf8 = Array(s.utf8)
            append(UInt64(utf8.count), bytes: 4, to: &out)
            out += utf8
        case .array(let items):
            append(UInt64(items.count), bytes: 4, to: &out)
            for item in items { encode(item, into: &out) }
        }
    }

    static func append(_ value: UInt64, bytes: Int, to out: inout [UInt8]) {
        for shift in stride(from: (bytes - 1) * 8, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    struct Reader {
        let bytes: [UInt8]
        var offset = 0
        var atEnd: Bool { offset == bytes.count }

        /// A value's version, event time, write time and feature count.
        mutating func header() throws(DecodeError) -> (eventTimeMicros: Int64, writeTimeMicros: Int64, count: Int) {
            let v = try byte()
            guard v == OnlineRecordCodec.version else { throw .unknownVersion(v) }
            return (Int64(bitPattern: try integer(8)), Int64(bitPattern: try integer(8)), Int(try integer(2)))
        }

        mutating func byte() throws(DecodeError) -> UInt8 {
            guard offset < bytes.count else { throw .truncated }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func integer(_ count: Int) throws(DecodeError) -> UInt64 {
            guard offset + count <= bytes.count else { throw .truncated }
            var value: UInt64 = 0
            for i in offset..<offset + count { value = value << 8 | UInt64(bytes[i]) }
            offset += count
            return value
        }

        mutating func string(length: Int) throws(DecodeError) -> String {
            guard offset + length <= bytes.count else { throw .truncated }
            defer { offset += length }
            guard let text = String(validating: bytes[offset..<offset + length], as: UTF8.self) else { throw .invalidUTF8 }
            return text
        }

        mutating func value() throws(DecodeError) -> FeatureValue {
            switch try byte() {
            case 0: return .null
            case 1: return .bool(try byte() != 0)
            case 2: return .int64(Int64(bitPattern: try integer(8)))
            case 3: return .float64(Double(bitPattern: try integer(8)))
            case 4: return .string(try string(length: Int(try integer(4))))
            case 5:
                let count = Int(try integer(4))
                guard count <= bytes.count - offset else { throw .truncated }
                var items: [FeatureValue] = []
                for _ in 0..<count { items.append(try value()) }
                return .array(items)
            case let tag: throw .unknownTag(tag)
            }
        }
    }
}
