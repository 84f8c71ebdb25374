import Foundation
import Testing
import VPTContract

@testable import VPTRuntime
import VPTTestSupport

@Suite struct FeatureRepoTests {
    let good = FeatureRepo(
        entities: [EntityDefinition(name: "user", joinKeys: [TypedField(name: "user_id", type: .int64)])],
        pushSources: [
            PushSourceDefinition(
                name: "tx", schema: [TypedField(name: "user_id", type: .int64), TypedField(name: "amount", type: .float64), TypedField(name: "ts", type: .string)],
                timestampField: "ts")
        ],
        featureViews: [FeatureViewDefinition(name: "v", entities: ["user"], source: "tx", features: [TypedField(name: "amount", type: .float64)], ttlSeconds: 60)],
        featureServices: [FeatureServiceDefinition(name: "s", featureViews: ["v"])])

    @Test func aConsistentRepoHasNoProblems() {
        #expect(good.problems().isEmpty)
    }

    @Test func everyBrokenReferenceAndTypeIsNamed() {
        var repo = good
        repo.featureViews[0].entities = ["nobody"]
        repo.featureViews[0].features = [TypedField(name: "amount", type: .string), TypedField(name: "missing", type: .int64)]
        repo.featureServices.append(FeatureServiceDefinition(name: "s2", featureViews: ["ghost"]))
        repo.pushSources[0].timestampField = "when"
        let problems = repo.problems()
        #expect(problems.contains("feature view 'v' references unknown entity 'nobody'"))
        #expect(problems.contains("feature view 'v': 'amount' is string but the source has float64"))
        #expect(problems.contains("feature view 'v': 'missing' is not in push source 'tx'"))
        #expect(problems.contains("feature service 's2' references unknown feature view 'ghost'"))
        #expect(problems.contains("push source 'tx': timestampField 'when' is not in its schema"))
    }

    @Test func apiKeysNameTheirTenantAndHashStably() throws {
        let (id, key) = APIKeyFormat.generate(tenant: "acme")
        let parsed = try #require(APIKeyFormat.parse(key))
        #expect(parsed.tenant == "acme" && parsed.id == id)
        #expect(APIKeyFormat.hash(key) == APIKeyFormat.hash(key))
        #expect(APIKeyFormat.hash(key).count == 64)
        #expect(APIKeyFormat.parse("Bearer nonsense") == nil)
    }

    @Test func accessListRejectsOtherTenantsAndWeakRoles() throws {
        let access = AccessList(tenant: "acme")
        let (_, key) = APIKeyFormat.generate(tenant: "acme")
        let (_, foreign) = APIKeyFormat.generate(tenant: "other")
        #expect(throws: APIError.self) { try access.authorize(key: key, workspace: "prod", minimum: .consumer) }  // not loaded: 503
        access.update(
            ControlPlaneSnapshot(
                version: 1, principals: [PrincipalAccess(serviceAccount: "svc", keyHashes: [APIKeyFormat.hash(key)], roles: ["prod": "consumer"])],
                repos: [:]))
        #expect(try access.authorize(key: key, workspace: "prod", minimum: .viewer).serviceAccount == "svc")
        #expect(try access.authorize(key: key, workspace: "prod", minimum: .consumer).serviceAccount == "svc")
        do {
            _ = try access.authorize(key: key, workspace: "prod", minimum: .operator)
            Issue.record("consumer passed an operator check")
        } catch let error as APIError { #expect(error.status == .forbidden) }
        do {
            _ = try access.authorize(key: foreign, workspace: "prod", minimum: .viewer)
            Issue.record("another tenant's key passed")
        } catch let error as APIError { #expect(error.status == .unauthorized) }
        do {
            _ = try access.authorize(key: nil, workspace: "prod", minimum: .viewer)
            Issue.record("no key passed")
        } catch let error as APIError { #expect(error.status == .unauthorized) }
    }

    /// Key usage survives snapshot updates (each poll installs a new state), a revoked key stops
    /// passing at once, and a suspension answers 503 until the next snapshot.
    @Test func keyUsageOutlivesSnapshotsAndRevocationAndSuspensionTakeEffectAtOnce() throws {
        let access = AccessList(tenant: "acme")
        let (_, key) = APIKeyFormat.generate(tenant: "acme")
        let (_, other) = APIKeyFormat.generate(tenant: "acme")
        func snapshot(_ version: Int64, keys: [String]) -> ControlPlaneSnapshot {
            ControlPlaneSnapshot(
                version: version, principals: [PrincipalAccess(serviceAccount: "svc", keyHashes: keys.map(APIKeyFormat.hash), roles: ["prod": "consumer"])],
                repos: [:])
        }
        access.update(snapshot(1, keys: [key, other]))
        #expect(access.lastUsed().isEmpty, "no key used yet")
        let before = Date()
        _ = try access.authorize(key: key, workspace: "prod", minimum: .consumer)
        let fingerprint = String(APIKeyFormat.hash(key).prefix(12))
        let used = try #require(access.lastUsed()[fingerprint])
        #expect(abs(used.timeIntervalSince(before)) < 2)
        #expect(access.lastUsed().count == 1, "only the key that was used")

        access.update(snapshot(2, keys: [other]))  // `key` revoked
        #expect(access.version == 2)
        #expect(access.lastUsed()[fingerprint] == used, "the recorded use outlives the snapshot")
        let revoked = #expect(throws: APIError.self) { try access.authorize(key: key, workspace: "prod", minimum: .consumer) }
        #expect(revoked?.status == .unauthorized && revoked?.message.contains("revoked") == true)
        access.suspend("the tenant's CMK is disabled")
        let suspended = #expect(throws: APIError.self) { try access.authorize(key: other, workspace: "prod", minimum: .consumer) }
        #expect(suspended?.status == .serviceUnavailable && suspended?.message == "the tenant's CMK is disabled")
        #expect(!access.isLoaded && access.version == -1)
        access.update(snapshot(3, keys: [other]))
        #expect(try access.authorize(key: other, workspace: "prod", minimum: .consumer).serviceAccount == "svc")
    }

    @Test func batchSourcesAndViewsAreValidatedAndServable() throws {
        var repo = good
        repo.batchSources = [
            BatchSourceDefinition(
                name: "orders", path: "raw/orders", format: "parquet",
                schema: [TypedField(name: "user_id", type: .int64), TypedField(name: "amount", type: .float64), TypedField(name: "ts", type: .string)],
                timestampField: "ts")
        ]
        repo.batchFeatureViews = [
            BatchFeatureViewDefinition(
                name: "spend", entities: ["user"], source: "orders", sql: "SELECT user_id, SUM(amount) AS total, MAX(ts) AS ts FROM source GROUP BY 1",
                timestampField: "ts", features: [TypedField(name: "total", type: .float64)], ttlSeconds: 86_400, batchSchedule: "1h",
                featureStartTime: "2026-01-01T00:00:00Z")
        ]
        repo.featureServices.append(FeatureServiceDefinition(name: "spending", featureViews: ["spend", "v"]))
        #expect(repo.problems().isEmpty, "\(repo.problems())")
        #expect(repo.servingViews.map(\.name) == ["v", "spend"])
        #expect(repo.batchFeatureViews[0].scheduleSeconds == 3600)

        var broken = repo
        broken.batchSources[0].path = "../other-tenant/orders"
        broken.batchSources[0].format = "avro"
        broken.batchFeatureViews[0].batchSchedule = "hourly"
        broken.batchFeatureViews[0].featureStartTime = "2026-01-01"
        broken.batchFeatureViews[0].source = "nowhere"
        broken.batchFeatureViews.append(broken.batchFeatureViews[0])
        let problems = broken.problems().joined(separator: "\n")
        for expected in [
            "path '../other-tenant/orders' must be relative", "format 'avro' must be parquet or csv", "batchSchedule 'hourly'",
            "featureStartTime '2026-01-01'", "unknown batch source 'nowhere'", "feature view 'spend' is defined twice",
        ] {
            #expect(problems.contains(expected), "missing: \(expected)")
        }

        // Windowed aggregations: served features are derived, and bad declarations are named.
        var aggregating = repo
        aggregating.batchFeatureViews[0].aggregations = [
            AggregationDefinition(function: .count, column: "total", window: "1d"),
            AggregationDefinition(function: .mean, column: "total", window: "7d", name: "avg_week"),
            AggregationDefinition(function: .last, column: "total", window: "1h"),
        ]
        #expect(aggregating.problems().isEmpty, "\(aggregating.problems())")
        #expect(
            aggregating.servingViews[1].features == [
                TypedField(name: "total_count_1d", type: .int64), TypedField(name: "avg_week", type: .float64),
                TypedField(name: "total_last_1h", type: .float64),
            ])
        aggregating.batchFeatureViews[0].ttlSeconds = 60
        aggregating.batchFeatureViews[0].aggregations! += [
            AggregationDefinition(function: .sum, column: "nope", window: "1d"),
            AggregationDefinition(function: .max, column: "total", window: "1 week"),
            AggregationDefinition(function: .count, column: "total", window: "1d"),
        ]
        let aggregationProblems = aggregating.problems().joined(separator: "\n")
        for expected in [
            "aggregations[3]: column 'nope' is not one of the view's features", "aggregations[4]: window '1 week' must be",
            "aggregations[5]: feature 'total_count_1d' is defined twice", "ttlSeconds 60 must be at least the batch schedule (3600 s)",
        ] {
            #expect(aggregationProblems.contains(expected), "missing: \(expected)")
        }

        // Repositories stored before batch views existed still decode.
        let old = try JSONDecoder().decode(FeatureRepo.self, from: Data(#"{"entities": [], "featureViews": []}"#.utf8))
        #expect(old.batchSources.isEmpty && old.batchFeatureViews.isEmpty && old.pushSources.isEmpty)
        let roundTrip = try JSONDecoder().decode(FeatureRepo.self, from: try JSONEncoder().encode(repo))
        #expect(roundTrip == repo)
    }
}
