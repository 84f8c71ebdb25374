/// A typed feature or join-key value, as stored in the online store and served to clients.
/// Not `indirect`: that boxed every value on the heap, 50 allocations for a 50-feature read, and an
/// array of values already lives in its own buffer.
public enum FeatureValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int64(Int64)
    case float64(Double)
    case string(String)
    case array([FeatureValue])

    /// Codec tag of each case (see docs/online-record-codec.md).
    var tag: UInt8 {
        switch self {
        case .null: 0
        case .bool: 1
        case .int64: 2
        case .float64: 3
        case .string: 4
        case .array: 5
        }
    }
}
