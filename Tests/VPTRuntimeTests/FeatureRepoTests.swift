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
}
