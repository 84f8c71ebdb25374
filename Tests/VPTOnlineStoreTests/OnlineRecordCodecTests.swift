import Foundation
import Testing
import VPTContract
import VPTTestSupport

/// The shared vectors (written by the Python codec) must come out byte for byte from the Swift codec.
@Suite struct OnlineRecordCodecTests {
    static var vectors: [[String: Any]] {
        let url = repositoryRoot.appendingPathComponent("docs/test-vectors/online-records.json")
        let json = (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any]
        return json?["vectors"] as? [[String: Any]] ?? []
    }

    static func value(_ item: Any?) -> FeatureValue {
        let item = item as? [String: Any] ?? [:]
        switch item["type"] as? String {
        case "bool": return .bool(item["value"] as? Bool ?? false)
        case "int64": return .int64(Int64(item["value"] as? String ?? "") ?? 0)
        case "float64": return .float64((item["value"] as? NSNumber)?.doubleValue ?? .nan)
        case "string": return .string(item["value"] as? String ?? "")
        case "array": return .array((item["value"] as? [Any] ?? []).map(value))
        default: return .null
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test func thereAreVectors() {
        #expect(Self.vectors.count >= 5)
    }

    @Test(arguments: 0..<5)
    func vectorMatches(index: Int) throws {
        let vector = try #require(Self.vectors.indices.contains(index) ? Self.vectors[index] : nil)
        let keys = (vector["joinKeys"] as? [Any] ?? []).map(Self.value)
        let features = (vector["features"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", Self.value($0["value"])) }
        let event = Int64(vector["eventTimeMicros"] as? String ?? "") ?? 0
        let write = Int64(vector["writeTimeMicros"] as? String ?? "") ?? 0
        #expect(Self.hex(OnlineRecordCodec.entityKey(keys)) == vector["entityKeyHex"] as? String)
        let encoded = OnlineRecordCodec.encodeValue(features: features, eventTimeMicros: event, writeTimeMicros: write)
        #expect(Self.hex(encoded) == vector["valueHex"] as? String)
        let decoded = try OnlineRecordCodec.decodeValue(encoded)
        #expect(decoded.eventTimeMicros == event && decoded.writeTimeMicros == write)
        #expect(decoded.features.map(\.name) == features.map(\.0))
        #expect(decoded.features.map(\.value) == features.map(\.1))
        #expect(try OnlineRecordCodec.decodeEntityKey(OnlineRecordCodec.entityKey(keys)) == keys)
    }

    @Test func malformedInputIsRejected() throws {
        let good = OnlineRecordCodec.encodeValue(features: [("a", .string("x"))], eventTimeMicros: 1, writeTimeMicros: 2)
        #expect(throws: OnlineRecordCodec.DecodeError.truncated) { try OnlineRecordCodec.decodeValue(Array(good.dropLast())) }
        #expect(throws: OnlineRecordCodec.DecodeError.unknownVersion(9)) { try OnlineRecordCodec.decodeValue([9] + good.dropFirst()) }
        #expect(throws: OnlineRecordCodec.DecodeError.unknownTag(7)) { try OnlineRecordCodec.decodeEntityKey([7]) }
        #expect(throws: OnlineRecordCodec.DecodeError.truncated) { try OnlineRecordCodec.decodeEntityKey([5, 255, 255, 255, 255]) }
    }

    @Test func keysOfDifferentTypesNeverCollide() {
        #expect(OnlineRecordCodec.entityKey([.int64(1)]) != OnlineRecordCodec.entityKey([.string("1")]))
        #expect(OnlineRecordCodec.entityKey([.string("a"), .string("b")]) != OnlineRecordCodec.entityKey([.string("ab")]))
    }
}
