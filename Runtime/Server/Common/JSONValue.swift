/// A JSON document read into Swift values: the data plane's request bodies. Reading into this
/// instead of Foundation's `Any` tree saves the boxing and the dynamic casts on every field read,
/// which were about a tenth of the feature server's CPU (measured with perf).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// An integer literal that fits in 64 bits.
    case int(Int64)
    /// Any other number.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public var objectValue: [String: JSONValue]? {
        if case .object(let fields) = self { return fields }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    /// A number that is a whole int64 (`5`, `5.0` and `1e2` are; `5.5` is not), as Foundation read
    /// integers before; never a boolean.
    public var int64Value: Int64? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && value >= -9.223_372_036_854_775_808e18 && value < 9.223_372_036_854_775_808e18:
            return Int64(value)
        default: return nil
        }
    }

    /// Any number as a double; never a boolean.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }
}
