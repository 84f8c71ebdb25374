import Foundation
import Testing
import VPTContract

/// Decoding stored values onto the features a reader serves (`OnlineRecordCodec.decodeValue(_:onto:)`),
/// checked against the generic decoder on the shared vectors and on records whose names differ
/// from the projection's.
@Suite struct FeatureProjectionTests {
    typealias Codec = OnlineRecordCodec

    static func features(of vector: [String: Any]) -> [(name: String, value: FeatureValue)] {
        (vector["features"] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", OnlineRecordCodecTests.value($0["value"])) }
    }

    @Test(arguments: 0..<5)
    func vectorsDecodeOntoTheirOwnNamesInAnyOrder(index: Int) throws {
        let vector = try #require(OnlineRecordCodecTests.vectors.indices.contains(index) ? OnlineRecordCodecTests.vectors[index] : nil)
        let features = Self.features(of: vector)
        // The same bytes as the vector's valueHex (OnlineRecordCodecTests checks that).
        let encoded = Codec.encodeValue(
            features: features, eventTimeMicros: Int64(vector["eventTimeMicros"] as? String ?? "") ?? 0,
            writeTimeMicros: Int64(vector["writeTimeMicros"] as? String ?? "") ?? 0)
        let generic = try Codec.decodeValue(encoded)

        let inOrder = try Codec.decodeValue(encoded, onto: FeatureProjection(names: features.map(\.name)))
        #expect(inOrder.values == generic.features.map { Optional($0.value) })
        #expect(inOrder.eventTimeMicros == generic.eventTimeMicros && inOrder.writeTimeMicros == generic.writeTimeMicros)

        let reversed = try Codec.decodeValue(encoded, onto: FeatureProjection(names: features.map(\.name).reversed() + ["not_stored"]))
        #expect(reversed.values == generic.features.reversed().map { Optional($0.value) } + [nil])
    }

    @Test func namesAreMatchedWhateverTheStoredOrderAndExtraFeaturesAreSkipped() throws {
        // Written before the view changed: "c" was dropped (a string and an array to skip), "b" moved, "d" is new.
        let encoded = Codec.encodeValue(
            features: [
                ("b", .int64(2)), ("c", .string("skipped")), ("a", .float64(1.5)), ("cc", .array([.string("x"), .null, .bool(true)])),
                ("e", .bool(false)),
            ], eventTimeMicros: 7, writeTimeMicros: 8)
        let projected = try Codec.decodeValue(encoded, onto: FeatureProjection(names: ["a", "b", "d", "e"]))
        #expect(projected.values == [.float64(1.5), .int64(2), nil, .bool(false)])
        #expect(projected.eventTimeMicros == 7 && projected.writeTimeMicros == 8)
    }

    @Test func aNameOnlyMatchesWhenEveryByteDoes() throws {
        // "ab" at position 0 is not "a", nor is "a" a match for "ab"; a multi-byte name matches itself.
        let encoded = Codec.encodeValue(features: [("ab", .int64(1)), ("a", .int64(2)), ("größe", .int64(3))], eventTimeMicros: 1, writeTimeMicros: 1)
        #expect(try Codec.decodeValue(encoded, onto: FeatureProjection(names: ["a", "ab", "größe"])).values == [.int64(2), .int64(1), .int64(3)])
        #expect(try Codec.decodeValue(encoded, onto: FeatureProjection(names: ["ac", "b"])).values == [nil, nil])
    }

    @Test func damagedRecordsFailAsTheGenericDecoderFails() throws {
        let good = Codec.encodeValue(features: [("a", .string("x")), ("b", .array([.int64(1)]))], eventTimeMicros: 1, writeTimeMicros: 2)
        let projection = FeatureProjection(names: ["a", "b"])
        for length in 0..<good.count {
            let cut = Array(good.prefix(length))
            #expect(throws: Codec.DecodeError.truncated, "prefix of \(length) bytes") { try Codec.decodeValue(cut, onto: projection) }
        }
        #expect(throws: Codec.DecodeError.truncated) { try Codec.decodeValue(good + [0], onto: projection) }
        #expect(throws: Codec.DecodeError.unknownVersion(9)) { try Codec.decodeValue([9] + good.dropFirst(), onto: projection) }

        // An unwanted name that is not UTF-8 is still an error, as it is for the generic decoder.
        var badName = Codec.encodeValue(features: [("z", .null)], eventTimeMicros: 1, writeTimeMicros: 1)
        badName[badName.count - 2] = 0xFF
        #expect(throws: Codec.DecodeError.invalidUTF8) { try Codec.decodeValue(badName) }
        #expect(throws: Codec.DecodeError.invalidUTF8) { try Codec.decodeValue(badName, onto: projection) }

        var badTag = Codec.encodeValue(features: [("a", .null)], eventTimeMicros: 1, writeTimeMicros: 1)
        badTag[badTag.count - 1] = 42
        #expect(throws: Codec.DecodeError.unknownTag(42)) { try Codec.decodeValue(badTag, onto: projection) }
    }
}
