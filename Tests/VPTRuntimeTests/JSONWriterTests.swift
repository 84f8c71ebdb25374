import Foundation
import Testing
import VPTContract

@testable import VPTRuntime

@Suite struct JSONWriterTests {
    @Test func writesValidJSONThatFoundationReadsBack() throws {
        let value: [String: Any] = [
            "b": [FeatureValue.float64(42.5), .int64(9_007_199_254_740_993), .string("q\"uo\\te\n\t\u{1}é☕"), .bool(true), .null, .array([.int64(1)])],
            "a": ["x": true, "y": 1, "z": 1e-5, "n": NSNull(), "inf": Double.infinity] as [String: Any],
            "c": [1, 2.5, "s"] as [Any],
        ]
        let bytes = JSONWriter.encode(value)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix("{\"a\":{\"inf\":null,\"n\":null,\"x\":true,\"y\":1,\"z\":1e-05}"))  // sorted keys
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let b = try #require(parsed["b"] as? [Any])
        #expect(b[0] as? Double == 42.5)
        #expect(b[1] as? String == "9007199254740993")
        #expect(b[2] as? String == "q\"uo\\te\n\t\u{1}é☕")
        #expect(b[3] as? Bool == true)
        #expect(b[4] is NSNull)
    }

    @Test func foundationNumbersKeepTheirKind() throws {
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(#"{"i":3,"d":2.5,"t":true,"f":false}"#.utf8)) as? [String: Any])
        #expect(String(decoding: JSONWriter.encode(parsed), as: UTF8.self) == #"{"d":2.5,"f":false,"i":3,"t":true}"#)
    }
}
