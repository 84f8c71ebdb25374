import Foundation
import Testing
import VPTContract
@testable import VPTRuntime

/// Request bodies as the feature server reads them (through JSONReader): join keys in every form
/// existing clients send, and malformed batches refused with a 400 that says what is wrong.
@Suite struct FeatureServerRequestTests {
    let key: String
    let server: FeatureServer
    let now = Date()

    init() throws {
        let fixture = try ControllerFixture(now: now)
        key = fixture.key
        server = fixture.features
    }

    func body(_ params: String) throws -> [String: JSONValue] {
        try #require(try JSONReader.parse(Array(#"{"params": {"workspace_name": "ws", "feature_service_name": "svc", \#(params)}}"#.utf8)).objectValue)
    }

    func badRequest(_ call: () async throws -> Any) async -> String? {
        do {
            _ = try await call()
            return nil
        } catch let error as APIError where error.status == .badRequest {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: [#""42""#, "42", "42.0", "4.2e1"])
    func int64JoinKeysComeAsDecimalStringsOrWholeNumbers(_ id: String) async throws {
        let answer = try await server.getFeatures(body: try body(#""join_key_map": {"id": \#(id)}"#), key: key, now: now)
        #expect(((answer["result"] as? [String: Any])?["features"] as? [FeatureValue]) == [.float64(2.5)])
    }

    @Test(arguments: ["42.5", "true", "null", "[42]", #""4x2""#])
    func otherJoinKeysAreRefusedByName(_ id: String) async throws {
        let message = await badRequest { try await server.getFeatures(body: try body(#""join_key_map": {"id": \#(id)}"#), key: key, now: now) }
        #expect(message?.contains("params.join_key_map.id") == true, "\(id): \(message ?? "accepted")")
    }

    @Test(arguments: [#""request_data": {"join_key_map": {"id": "42"}}"#, #""request_data": [{"join_key_map": {"id": "42"}}, 7]"#, #""request_data": null"#, ""])
    func malformedBatchesAreRefused(_ requestData: String) async throws {
        let params = requestData.isEmpty ? #""metadata_options": {}"# : requestData
        let message = await badRequest { try await server.getFeaturesBatch(body: try body(params), key: key, now: now) }
        #expect(message == "params.request_data must be a list of {join_key_map} objects", "\(requestData)")
    }

    @Test func aBatchAnswersEachEntryInOrder() async throws {
        let answer = try await server.getFeaturesBatch(
            body: try body(#""request_data": [{"join_key_map": {"id": "42"}}, {"join_key_map": {"id": 7}}]"#), key: key, now: now)
        let results = try #require(answer["result"] as? [[String: Any]])
        #expect(results.map { $0["features"] as? [FeatureValue] } == [[.float64(2.5)], [.null]])
    }
}
