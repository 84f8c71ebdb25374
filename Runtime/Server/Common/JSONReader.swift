/// A strict RFC 8259 reader for request bodies: one value, whitespace around it, UTF-8 checked,
/// nesting bounded. Errors say what was wrong and at which byte.
public struct JSONReader {
    public struct Failure: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var offset: Int
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// Deeper documents are refused: a bound on the reader's stack, far above any request's shape.
    public static let maxDepth = 64

    public static func parse(_ bytes: some Collection<UInt8>) throws(Failure) -> JSONValue {
        let contiguous = Array(bytes)
        return try contiguous.withUnsafeBufferPointer { (buffer) throws(Failure) -> JSONValue in
            var reader = JSONReader(bytes: buffer)
            reader.skipWhitespace()
            let value = try reader.value(depth: 0)
            reader.skipWhitespace()
            guard reader.offset == buffer.count else { throw reader.failure("unexpected text after the JSON value") }
            return value
        }
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var offset = 0

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func failure(_ reason: String) -> Failure { Failure(reason: reason, offset: offset) }

    private var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }

    private mutating func skipWhitespace() {
        while offset < bytes.count, bytes[offset] == 0x20 || bytes[offset] == 0x0A || bytes[offset] == 0x0D || bytes[offset] == 0x09 { offset += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        guard current == byte else { throw failure("expected \(what)") }
        offset += 1
    }

    private mutating func value(depth: Int) throws(Failure) -> JSONValue {
        guard let byte = current else { throw failure("unexpected end of the document") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw failure("unexpected character")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(Failure) -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard offset + count <= bytes.count else { throw failure("invalid literal") }
        for index in 0..<count where bytes[offset + index] != word.utf8Start[index] { throw failure("invalid literal") }
        offset += count
        return value
    }

    private mutating func object(depth: Int) throws(Failure) -> JSONValue {
        var fields: [String: JSONValue] = [:]
        guard try open(UInt8(ascii: "}"), depth: depth) else { return .object(fields) }
        // Room for a request's small objects at once: grown from empty, a 4-key object reallocates 3 times.
        fields.reserveCapacity(8)
        repeat {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let key = try string()
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after an object key")
            skipWhitespace()
            fields[key] = try value(depth: depth)
        } while try another(UInt8(ascii: "}"), "',' or '}' in an object")
        return .object(fields)
    }

    private mutating func array(depth: Int) throws(Failure) -> JSONValue {
        var items: [JSONValue] = []
        guard try open(UInt8(ascii: "]"), depth: depth) else { return .array(items) }
        repeat {
            skipWhitespace()
            items.append(try value(depth: depth))
        } while try another(UInt8(ascii: "]"), "',' or ']' in an array")
        return .array(items)
    }

    /// Steps over a container's opening bracket; false when it closes at once (`{}`, `[]`).
    private mutating func open(_ close: UInt8, depth: Int) throws(Failure) -> Bool {
        guard depth <= Self.maxDepth else { throw failure("nested deeper than \(Self.maxDepth) levels") }
        offset += 1
        skipWhitespace()
        guard current == close else { return true }
        offset += 1
        return false
    }

    /// After a member: true when a comma announces another, false at the closing bracket.
    private mutating func another(_ close: UInt8, _ expected: String) throws(Failure) -> Bool {
        skipWhitespace()
        if current == UInt8(ascii: ",") {
            offset += 1
            return true
        }
        try expect(close, expected)
        return false
    }

    /// The bytes as a String, refused when they are not valid UTF-8. `String(validating:as:)` is
    /// generic and, unspecialised here, looks up type metadata on every call (about 1 % of a
    /// get-features request's CPU); decoding repairs invalid sequences instead, so a repaired string
    /// (whose bytes differ) is the invalid case.
    private static func validUTF8(_ bytes: UnsafeBufferPointer<UInt8>, at offset: Int) throws(Failure) -> String {
        // One validating pass; decoding and then comparing the result with the bytes took two.
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Failure(reason: "a string is not valid UTF-8", offset: offset) }
        return text
    }

    private mutating func string() throws(Failure) -> String {
        offset += 1
        let start = offset
        // Fast path: no escapes, so the text is the bytes themselves (validated as UTF-8).
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                let text = try Self.validUTF8(UnsafeBufferPointer(rebasing: bytes[start..<offset]), at: start)
                offset += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw failure("a control character in a string must be escaped") }
            offset += 1
        }
        var decoded = Array(bytes[start..<offset])
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                return try decoded.withUnsafeBufferPointer { bytes throws(Failure) in try Self.validUTF8(bytes, at: start) }
            case UInt8(ascii: "\\"): try escape(into: &decoded)
            case 0..<0x20: throw failure("a control character in a string must be escaped")
            default: decoded.append(byte)
            }
        }
    }

    private mutating func escape(into decoded: inout [UInt8]) throws(Failure) {
        guard let byte = current else { throw failure("unterminated escape") }
        offset += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(byte)
        case UInt8(ascii: "b"): decoded.append(0x08)
        case UInt8(ascii: "f"): decoded.append(0x0C)
        case UInt8(ascii: "n"): decoded.append(0x0A)
        case UInt8(ascii: "r"): decoded.append(0x0D)
        case UInt8(ascii: "t"): decoded.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try hex4())
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                guard current == UInt8(ascii: "\\"), offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "u") else {
                    throw failure("a lone surrogate in a \\u escape")
                }
                offset += 2
                let low = UInt32(try hex4())
                guard (0xDC00..<0xE000).contains(low) else { throw failure("a lone surrogate in a \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw failure("a lone surrogate in a \\u escape")
            }
            decoded.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
        default: throw failure("invalid escape")
        }
    }

    private mutating func hex4() throws(Failure) -> UInt16 {
        guard offset + 4 <= bytes.count else { throw failure("a \\u escape needs 4 hex digits") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("a \\u escape needs 4 hex digits")
            }
            value = value << 4 | UInt16(digit)
            offset += 1
        }
        return value
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func number() throws(Failure) -> JSONValue {
        let start = offset
        if current == UInt8(ascii: "-") { offset += 1 }
        guard let first = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw failure("invalid number") }
        offset += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        var integral = true
        if current == UInt8(ascii: ".") {
            offset += 1
            guard try requireDigits() else { throw failure("invalid number") }
            integral = false
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            offset += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { offset += 1 }
            guard try requireDigits() else { throw failure("invalid number") }
            integral = false
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
        if integral, let value = Int64(text) { return .int(value) }
        guard let value = Double(text), value.isFinite else { throw Failure(reason: "a number out of range", offset: start) }
        return .double(value)
    }

    private mutating func skipDigits() {
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { offset += 1 }
    }

    private mutating func requireDigits() throws(Failure) -> Bool {
        let start = offset
        skipDigits()
        return offset > start
    }
}
