import Foundation
import Testing
@testable import VPTRuntime

/// The data plane reads every request body with JSONReader: it must accept exactly RFC 8259 JSON and
/// read numbers the way the API always did (through Foundation).
@Suite struct JSONReaderTests {
    func parse(_ text: String) throws -> JSONValue { try JSONReader.parse(Array(text.utf8)) }

    @Test func readsDocuments() throws {
        let text = #" { "s": "a\"b\\c\/d\n\t\u00e9\ud83d\ude00", "n": [0, -0, 12, -7, 1.5e3, -2E-2, 9223372036854775807, 9223372036854775808, 1e2],"#
            + #" "b": [true, false, null], "o": {"nested": [[], {}]}, "dup": 1, "dup": 2 } "#
        let value = try parse(text)
        #expect(value == .object([
            "s": .string("a\"b\\c/d\n\té😀"),
            "n": .array([.int(0), .int(0), .int(12), .int(-7), .double(1500), .double(-0.02), .int(Int64.max), .double(9.223372036854775808e18), .double(100)]),
            "b": .array([.bool(true), .bool(false), .null]),
            "o": .object(["nested": .array([.array([]), .object([:])])]),
            "dup": .int(2),
        ]))
        // Foundation reads the same document to the same values.
        let foundation = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(foundation["s"] as? String == value.objectValue?["s"]?.stringValue)
    }

    @Test func readsNumbersAsTheAPIAlwaysDid() throws {
        #expect(try parse("5").int64Value == 5)
        #expect(try parse("5.0").int64Value == 5)
        #expect(try parse("1e2").int64Value == 100)
        #expect(try parse("5.5").int64Value == nil)
        #expect(try parse("1e300").int64Value == nil)
        #expect(try parse("true").int64Value == nil)
        #expect(try parse("7").doubleValue == 7)
        #expect(try parse("false").doubleValue == nil)
        #expect(try parse("\"5\"").int64Value == nil)
    }

    @Test(arguments: [
        "", " ", "{", "}", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{\"a\":1,}", "[1,]", "[1 2]", "01", "1.", ".5", "+1", "-", "1e", "1e+",
        "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00x\"", "\"abc", "tru", "nul", "[1] x", "NaN", "Infinity", "\"\u{01}\"", "1e999",
        String(repeating: "[", count: 66) + String(repeating: "]", count: 66),
    ])
    func refusesWhatIsNotJSON(_ text: String) {
        #expect(throws: JSONReader.Failure.self, "\(text.debugDescription)") { try parse(text) }
    }

    @Test func refusesInvalidUTF8AndSaysWhere() {
        #expect(throws: JSONReader.Failure(reason: "a string is not valid UTF-8", offset: 6)) {
            try JSONReader.parse([0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D])
        }
    }

    /// Invalid sequences of every kind, with and without an escape in the same string (the two
    /// paths of the reader): a stray continuation byte, an overlong encoding, an encoded surrogate,
    /// a truncated sequence and a code point past U+10FFFF.
    @Test(arguments: [[0x80], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80]] as [[UInt8]])
    func refusesEveryKindOfInvalidUTF8(_ invalid: [UInt8]) {
        for escape in [[], Array("\\n".utf8)] as [[UInt8]] {
            #expect(throws: JSONReader.Failure(reason: "a string is not valid UTF-8", offset: 2)) {
                try JSONReader.parse([0x5B, 0x22] + escape + invalid + [0x22, 0x5D])
            }
        }
    }

    @Test func multiByteTextIsReadAsIs() throws {
        for text in ["größe", "日本", "🙂", "a\\n€"] {
            let value = try parse("[\"\(text)\"]")
            #expect(value == .array([.string(text.replacingOccurrences(of: "\\n", with: "\n"))]))
        }
    }

    @Test func nestingUpToTheLimitIsRead() throws {
        let depth = JSONReader.maxDepth
        var value = try parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
        var levels = 1
        while case .array(let items) = value, let first = items.first {
            value = first
            levels += 1
        }
        #expect(levels == depth)
        #expect(throws: JSONReader.Failure.self) { try parse(String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1)) }
    }
}
