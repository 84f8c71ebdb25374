import Foundation
import NIOCore
import Testing
import VPTContract
import VPTOnlineStore

@testable import VPTRuntime
import VPTTestSupport

@Suite struct JSONWriterTests {
    /// The digit-by-digit path for whole thousandths writes exactly what `description` writes, and
    /// declines everything else (which then goes through `description`).
    @Test func thousandthsAreWrittenAsDescriptionWritesThem() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0.001, 0.01, 0.1, 0.5, 1, 42.5, 100, 0.125, 1.05, 2.675, 999_999_999.999, 123_456_789.123, 1e8 + 0.5]
        values += (1...20_000).map { Double($0) / 1000 }
        values += (0..<50).map { Double($0) + 0.5 }
        values += (0..<20_000).map { _ in Double(Int64.random(in: 1..<1_000_000_000_000, using: &generator)) / 1000 }
        values += (0..<20_000).map { _ in Double(Int64.random(in: 1..<10_000, using: &generator)) / 10 }
        // Declined: not whole thousandths, out of range, zero, or not exactly a decimal of three places.
        let declined: [Double] = [0, -0.0, 0.0005, 0.0009995, 1e9, 1e12 + 0.5, 0.1 + 0.2, 1.0 / 3, .pi, 1e-5, 2e15, Double.ulpOfOne + 1]
            + (0..<5_000).map { _ in Double.random(in: -1e6...1e6, using: &generator) }
        var fast = 0
        for value in values + values.map({ -$0 }) + declined {
            var out: [UInt8] = []
            JSONWriter.writeDouble(value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == value.description, "\(value)")
            var probe: [UInt8] = []
            if JSONWriter.writeThousandths(value, to: &probe) { fast += 1 } else { #expect(probe.isEmpty) }
        }
        #expect(fast == 2 * values.count, "every whole-thousandths value takes the digit path, nothing else does")
    }

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

@Suite struct FeatureServerResponseTests {
    /// The hot path's hand-written document equals the dictionary-built one.
    @Test func bytePathMatchesTheDictionaryPath() async throws {
        let repo = FeatureRepo(
            entities: [EntityDefinition(name: "u", joinKeys: [TypedField(name: "id", type: .string)])],
            pushSources: [PushSourceDefinition(name: "s", schema: [TypedField(name: "id", type: .string), TypedField(name: "a", type: .float64), TypedField(name: "b", type: .int64), TypedField(name: "ts", type: .string)], timestampField: "ts")],
            featureViews: [FeatureViewDefinition(name: "v", entities: ["u"], source: "s", features: [TypedField(name: "a", type: .float64), TypedField(name: "b", type: .int64)], ttlSeconds: 3600)],
            featureServices: [FeatureServiceDefinition(name: "svc", featureViews: ["v"])])
        let (_, key) = APIKeyFormat.generate(tenant: "t")
        let access = AccessList(tenant: "t")
        access.update(ControlPlaneSnapshot(version: 1, principals: [PrincipalAccess(serviceAccount: "x", keyHashes: [APIKeyFormat.hash(key)], roles: ["ws": "consumer"])], repos: ["ws": repo]))
        let store = MemoryStore()
        let now = Date()
        _ = try store.write([OnlineRecord(workspace: "ws", featureView: "v", joinKeys: [("id", .string("k"))], features: [("b", .int64(7)), ("a", .float64(1.5))], eventTimeMicros: Int64(now.timeIntervalSince1970 * 1e6), writeTimeMicros: 1)])
        let server = FeatureServer(access: access, store: store, cache: nil, metrics: RequestMetrics())
        // Stored as (b, a), served in the view's order (a, b); int64 values come back as strings.
        let request = try #require(try JSONReader.parse(Data(#"{"params":{"workspace_name":"ws","feature_service_name":"svc","join_key_map":{"id":"k"}}}"#.utf8)).objectValue)
        let served = try JSONSerialization.jsonObject(with: Data(try await server.getFeaturesJSON(body: request, key: key, now: now))) as? [String: Any]
        #expect((served?["result"] as? [String: Any])?["features"] as? NSArray == [1.5, "7"] as NSArray)
        for options in [[:], ["include_data_types": true, "include_serving_status": true], ["include_names": false]] as [[String: Any]] {
            for id in ["k", "missing"] {
                let request: [String: Any] = ["params": ["workspace_name": "ws", "feature_service_name": "svc", "join_key_map": ["id": id], "metadata_options": options]]
                let body = try #require(try JSONReader.parse(JSONSerialization.data(withJSONObject: request)).objectValue)
                let fast = try JSONSerialization.jsonObject(with: Data(try await server.getFeaturesJSON(body: body, key: key, now: now))) as? NSDictionary
                let slow = try JSONSerialization.jsonObject(with: Data(JSONWriter.encode(try await server.getFeatures(body: body, key: key, now: now)))) as? NSDictionary
                #expect(fast == slow, "\(options) \(id)")
            }
        }
    }
}

/// An in-memory online store for handler tests (newest event wins, as the real ones).
final class MemoryStore: OnlineStore, @unchecked Sendable {
    private var rows: [String: StoredFeatures] = [:]
    /// When set, every read and write throws it (a store that is down, locked or broken).
    var failure: (any Error)?
    func write(_ records: [OnlineRecord]) throws -> Int {
        if let failure { throw failure }
        for r in records {
            let key = "\(r.workspace)|\(r.featureView)|\(OnlineRecordCodec.entityKey(r.joinKeys.map(\.value)))"
            rows[key] = StoredFeatures(features: r.features, eventTimeMicros: r.eventTimeMicros, writeTimeMicros: r.writeTimeMicros)
        }
        return records.count
    }
    func read(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) throws -> [StoredFeatures?] {
        entityKeys.map { rows["\(workspace)|\(featureView)|\(OnlineRecordCodec.entityKey($0))"] }
    }
    func readEncoded(workspace: String, featureView: String, entityKeys: [[FeatureValue]], on loop: any EventLoop) -> EventLoopFuture<[[UInt8]?]> {
        loop.makeCompletedFuture {
            if let failure { throw failure }
            return try read(workspace: workspace, featureView: featureView, entityKeys: entityKeys).map { stored in
                stored.map { OnlineRecordCodec.encodeValue(features: $0.features, eventTimeMicros: $0.eventTimeMicros, writeTimeMicros: $0.writeTimeMicros) }
            }
        }
    }
}
