import Foundation
import Testing
import VPTContract
import VPTEngine
import VPTRuntime
import VPTTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// init → provision two tenants (real processes) → apply a repo → keys → ingest → get-features with the
/// cache on and off → revoke → deprovision, over loopback HTTP.
@Suite(.serialized, .offCooperativePool) struct RuntimeEndToEndTests {

    func repoBody() -> [String: Any] {
        [
            "entities": [["name": "user", "joinKeys": [["name": "user_id", "type": "int64"]]]],
            "pushSources": [[
                "name": "transactions", "timestampField": "ts",
                "schema": [
                    ["name": "user_id", "type": "int64"], ["name": "amount", "type": "float64"], ["name": "merchant", "type": "string"],
                    ["name": "ts", "type": "string"],
                ],
            ]],
            "featureViews": [[
                "name": "user_txn", "entities": ["user"], "source": "transactions",
                "features": [["name": "amount", "type": "float64"], ["name": "merchant", "type": "string"]], "ttlSeconds": 3600,
                "online": true, "offline": true,
            ]],
            "featureServices": [["name": "fraud", "featureViews": ["user_txn"]]],
        ]
    }

    struct Tenant {
        var name: String
        var controlPlane: Int
        var dataPlane: Int
        var admin: String
        var home: URL
        /// The tenant CA: its planes serve HTTPS.
        var caFile: String { home.appendingPathComponent("tenants/\(name)/tls/ca.pem").path }
        func url(_ port: Int, _ path: String) -> URL { URL(string: "https://127.0.0.1:\(port)\(path)")! }
    }

    func call(_ method: String, _ t: Tenant, _ port: Int, _ path: String, key: String?, body: Any? = nil) throws -> (status: Int, json: [String: Any]) {
        var headers: [String: String] = [:]
        if let key { headers["Authorization"] = "Tecton-key \(key)" }
        let (status, json) = try HTTPCall.request(method, t.url(port, path), body: body, headers: headers, caFile: t.caFile)
        return (status, json as? [String: Any] ?? [:])
    }

    func getFeatures(_ t: Tenant, key: String, user: Any, cache: Bool = true, status: Bool = false) throws -> (Int, [String: Any]) {
        var params: [String: Any] = ["workspace_name": "prod", "feature_service_name": "fraud", "join_key_map": ["user_id": user]]
        params["request_options"] = ["read_from_cache": cache, "write_to_cache": cache]
        if status { params["metadata_options"] = ["include_serving_status": true, "include_data_types": true] }
        return try call("POST", t, t.dataPlane, "/api/v1/feature-service/get-features", key: key, body: ["params": params])
    }

    /// The status curl sees (URLSession on Linux stalls on a 401 that carries a Basic challenge).
    func curlStatus(_ url: String, ca: String, user: String? = nil) throws -> String {
        try commandOutput(["curl", "-s", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"] + (user.map { ["-u", $0] } ?? []) + [url])
    }

    static func features(_ json: [String: Any]) -> [Any] { (json["result"] as? [String: Any])?["features"] as? [Any] ?? [] }

    @Test func twoTenantsServeTheirOwnFeaturesAndNothingCrossesOver() throws {
        let home = temporaryDirectory("e2e")
        let ports = TestPorts.block(100)
        #expect(try vpt(["init", "--port-range", "\(ports.lowerBound)-\(ports.upperBound)"], home: home).status == 0)
        var tenants: [Tenant] = []
        defer { for t in tenants { _ = try? vpt(["tenant", "stop", t.name], home: home) } }
        let yaml = try String(contentsOfFile: examplePath("acme-eu.yaml"), encoding: .utf8)
        for name in ["tenant-a", "tenant-b"] {
            let file = home.appendingPathComponent("\(name).yaml")
            try yaml.replacingOccurrences(of: "name: acme-eu", with: "name: \(name)").write(to: file, atomically: true, encoding: .utf8)
            let result = try vpt(["provision", "tenant", name, "-f", file.path], home: home)
            #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
            #expect(result.stdout.contains("Smoke test: a feature read"))
            let show = try JSONSerialization.jsonObject(with: Data(try vpt(["tenant", "show", name, "-o", "json"], home: home).stdout.utf8)) as? [String: Any]
            let admin = try String(contentsOf: home.appendingPathComponent("tenants/\(name)/secrets/admin-api-key"), encoding: .utf8)
            tenants.append(
                Tenant(
                    name: name, controlPlane: Int(show?["controlPlanePort"] as? String ?? "") ?? 0,
                    dataPlane: Int(show?["dataPlanePort"] as? String ?? "") ?? 0, admin: admin, home: home))
        }
        let (a, b) = (tenants[0], tenants[1])

        // Apply a feature repository (with a dry run first) and issue keys.
        let dry = try call("POST", a, a.controlPlane, "/v1/workspaces/prod/apply?dry_run=true", key: a.admin, body: repoBody())
        #expect(dry.status == 200)
        #expect((dry.json["changes"] as? [Any])?.count == 4)
        #expect(try call("GET", a, a.controlPlane, "/v1/workspaces/prod/repo", key: a.admin).status == 404)
        #expect(try call("POST", a, a.controlPlane, "/v1/workspaces/prod/apply", key: a.admin, body: repoBody()).status == 200)
        var broken = repoBody()
        broken["featureServices"] = [["name": "fraud", "featureViews": ["nope"]]]
        let bad = try call("POST", a, a.controlPlane, "/v1/workspaces/prod/apply", key: a.admin, body: broken)
        #expect(bad.status == 400)
        #expect((bad.json["message"] as? String)?.contains("unknown feature view 'nope'") == true)
        // fraud-scorer comes from the spec with consumer on prod; ingestor gets operator.
        let consumer = try call("POST", a, a.controlPlane, "/v1/service-accounts/fraud-scorer/api-keys", key: a.admin)
        #expect(consumer.status == 201)
        let consumerKey = try #require(consumer.json["key"] as? String)
        #expect(try call("POST", a, a.controlPlane, "/v1/service-accounts", key: a.admin, body: ["name": "ingestor"]).status == 201)
        #expect(try call("PUT", a, a.controlPlane, "/v1/workspaces/prod/role-bindings/ingestor", key: a.admin, body: ["role": "operator"]).status == 204)
        let ingestorKey = try #require(try call("POST", a, a.controlPlane, "/v1/service-accounts/ingestor/api-keys", key: a.admin).json["key"] as? String)
        #expect(try call("POST", a, a.controlPlane, "/v1/service-accounts", key: consumerKey, body: ["name": "x"]).status == 403)
        usleep(1_200_000)  // the data plane refreshes its access list twice a second

        // Ingest, then read it back (read-after-write), cache on and off.
        let marker = "merchant-\(UUID().uuidString.prefix(8))"
        let now = ISO8601DateFormatter().string(from: Date())
        let records: [String: Any] = [
            "workspace_name": "prod",
            "records": ["transactions": [["record": ["user_id": "9007199254740993", "amount": 42.5, "merchant": marker, "ts": now]]]],
        ]
        #expect(try call("POST", a, a.dataPlane, "/ingest", key: consumerKey, body: records).status == 403)
        let ingested = try call("POST", a, a.dataPlane, "/ingest", key: ingestorKey, body: records)
        #expect(ingested.status == 200, "\(ingested.json)")
        for cache in [true, false, true] {
            let (status, json) = try getFeatures(a, key: consumerKey, user: "9007199254740993", cache: cache)
            #expect(status == 200)
            #expect(Self.features(json).count == 2)
            #expect(Self.features(json).first as? Double == 42.5)
            #expect(Self.features(json).last as? String == marker)
        }
        // An older event never overwrites; a newer one does and invalidates the cache.
        let older: [String: Any] = [
            "workspace_name": "prod",
            "records": ["transactions": [["record": ["user_id": 9007199254740993, "amount": 1.0, "merchant": "old", "ts": "2020-01-01T00:00:00Z"]]]],
        ]
        let olderResult = try call("POST", a, a.dataPlane, "/ingest", key: ingestorKey, body: older)
        #expect(olderResult.status == 200, "\(olderResult.json)")
        #expect(Self.features(try getFeatures(a, key: consumerKey, user: "9007199254740993").1).first as? Double == 42.5)
        var newer = records
        newer["records"] = ["transactions": [["record": ["user_id": "9007199254740993", "amount": 43.5, "merchant": marker, "ts": ISO8601DateFormatter().string(from: Date().addingTimeInterval(1))]]]]
        #expect(try call("POST", a, a.dataPlane, "/ingest", key: ingestorKey, body: newer).status == 200)
        #expect(Self.features(try getFeatures(a, key: consumerKey, user: "9007199254740993").1).first as? Double == 43.5)

        // Bad records: 400 listing each, nothing written.
        let invalid: [String: Any] = [
            "workspace_name": "prod",
            "records": [
                "transactions": [
                    ["record": ["user_id": "7", "amount": "lots", "merchant": "m", "ts": now]],
                    ["record": ["user_id": "8", "merchant": "m", "ts": now]],
                    ["record": ["user_id": "9", "amount": 1.0, "merchant": "m", "ts": now]],
                ],
                "nope": [["record": [:] as [String: Any]]],
            ],
        ]
        let rejected = try call("POST", a, a.dataPlane, "/ingest", key: ingestorKey, body: invalid)
        #expect(rejected.status == 400)
        #expect((rejected.json["invalidRecords"] as? [Any])?.count == 3, "\(rejected.json)")
        let missing = try getFeatures(a, key: consumerKey, user: 9, status: true)
        #expect(Self.features(missing.1).allSatisfy { $0 is NSNull })
        let meta = ((missing.1["metadata"] as? [String: Any])?["features"] as? [[String: Any]]) ?? []
        #expect(meta.map { $0["status"] as? String } == ["MISSING_DATA", "MISSING_DATA"])
        #expect(try getFeatures(a, key: consumerKey, user: "not-a-number").0 == 400)
        // A value older than the view's TTL (3600 s) is MISSING_DATA; a dry run writes nothing.
        let stale: [String: Any] = [
            "workspace_name": "prod",
            "records": ["transactions": [["record": ["user_id": "11", "amount": 5.0, "merchant": "s", "ts": ISO8601DateFormatter().string(from: Date().addingTimeInterval(-7200))]]]],
        ]
        #expect(try call("POST", a, a.dataPlane, "/ingest", key: ingestorKey, body: stale).status == 200)
        let expired = try getFeatures(a, key: consumerKey, user: "11", status: true)
        #expect(Self.features(expired.1).allSatisfy { $0 is NSNull })
        #expect(((expired.1["metadata"] as? [String: Any])?["features"] as? [[String: Any]])?.first?["status"] as? String == "MISSING_DATA")
        var dryIngest = records
        dryIngest["dry_run"] = true
        dryIngest["records"] = ["transactions": [["record": ["user_id": "12", "amount": 5.0, "merchant": "d", "ts": now]]]]
        let dryResult = try call("POST", a, a.dataPlane, "/ingest", key: ingestorKey, body: dryIngest)
        #expect(dryResult.status == 200 && dryResult.json["dryRun"] as? Bool == true)
        #expect(Self.features(try getFeatures(a, key: consumerKey, user: "12").1).allSatisfy { $0 is NSNull })

        // Metadata endpoint and batch.
        let metadata = try call("POST", a, a.dataPlane, "/api/v1/feature-service/metadata", key: consumerKey, body: ["params": ["workspaceName": "prod", "featureServiceName": "fraud"]])
        #expect(metadata.status == 200)
        #expect((metadata.json["inputJoinKeys"] as? [[String: Any]])?.first?["name"] as? String == "user_id")
        let batch = try call(
            "POST", a, a.dataPlane, "/api/v1/feature-service/get-features-batch", key: consumerKey,
            body: ["params": ["workspace_name": "prod", "feature_service_name": "fraud", "request_data": [["join_key_map": ["user_id": "9007199254740993"]], ["join_key_map": ["user_id": "1"]]]]])
        #expect((batch.json["result"] as? [Any])?.count == 2)

        // Isolation: tenant A's key is rejected by tenant B; B's control plane files never hold A's values.
        #expect(try getFeatures(b, key: consumerKey, user: "9007199254740993").0 == 401)
        for t in tenants {
            let files = FileManager.default.enumerator(atPath: t.home.appendingPathComponent("tenants/\(t.name)/control-plane").path)
            while let file = files?.nextObject() as? String {
                let data = try Data(contentsOf: t.home.appendingPathComponent("tenants/\(t.name)/control-plane/\(file)"))
                #expect(data.range(of: Data(marker.utf8)) == nil, "a feature value was found in \(file)")
            }
        }
        // The read-only web UI lists what was applied, behind a key.
        #expect(try curlStatus(a.url(a.controlPlane, "/ui").absoluteString, ca: a.caFile) == "401")
        let page = try HTTPCall.raw("GET", a.url(a.controlPlane, "/ui"), headers: ["Authorization": "Tecton-key \(a.admin)"], caFile: a.caFile)
        #expect(page.status == 200)
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(html.contains("user_txn") && html.contains("fraud-scorer") && html.contains("ingestor"))
        #expect(!html.contains(marker))
        let basic = "Basic " + Data("operator:\(a.admin)".utf8).base64EncodedString()
        #expect(try HTTPCall.raw("GET", a.url(a.controlPlane, "/ui"), headers: ["Authorization": basic], caFile: a.caFile).status == 200)
        #expect(try curlStatus(a.url(a.controlPlane, "/ui").absoluteString, ca: a.caFile, user: "x:wrong") == "401")
        let metrics = String(decoding: try HTTPCall.raw("GET", a.url(a.dataPlane, "/metrics"), headers: [:], caFile: a.caFile).body, as: UTF8.self)
        #expect(metrics.contains("vpt_serving_cache_hits_total"))

        // Revocation takes effect within 2 seconds.
        let keyId = try #require(consumerKey.split(separator: "_").dropFirst(2).first)
        #expect(try call("DELETE", a, a.controlPlane, "/v1/api-keys/\(keyId)", key: a.admin).status == 204)
        let revokedAt = Date()
        var status = 200
        while status == 200, Date().timeIntervalSince(revokedAt) < 5 {
            status = try getFeatures(a, key: consumerKey, user: "9007199254740993").0
            if status == 200 { usleep(100_000) }
        }
        #expect(status == 401)
        #expect(Date().timeIntervalSince(revokedAt) < 2)

        // A killed data plane is restarted by the supervisor.
        let pidText = try String(contentsOf: home.appendingPathComponent("tenants/tenant-a/run/data-plane.pid"), encoding: .utf8)
        let pid = try #require(pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(pid, SIGKILL)
        var back = false
        for _ in 0..<80 where !back {
            usleep(100_000)
            let newPid = (try? String(contentsOf: home.appendingPathComponent("tenants/tenant-a/run/data-plane.pid"), encoding: .utf8))
                .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            back = newPid != nil && newPid != pid && HTTPCall.status(a.url(a.dataPlane, "/readyz"), caFile: a.caFile) == 200
        }
        #expect(back, "the data plane was not restarted")

        // Deprovision stops the processes and leaves the customer's stores.
        #expect(try vpt(["deprovision", "tenant", "tenant-a"], home: home).status == 0)
        #expect(HTTPCall.status(a.url(a.dataPlane, "/healthz"), caFile: a.caFile) == nil)
        #expect(HTTPCall.status(a.url(a.controlPlane, "/healthz"), caFile: a.caFile) == nil)
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("accounts/210987654321/eu-west-1/online/tenant-a/online.sqlite").path))
        #expect(try vpt(["tenant", "stop", "tenant-b"], home: home).status == 0)
        #expect(HTTPCall.status(b.url(b.dataPlane, "/healthz"), caFile: b.caFile) == nil)
        // Re-provisioning an unchanged tenant whose runtime is down starts it again.
        let again = try vpt(["provision", "tenant", "tenant-b", "-f", home.appendingPathComponent("tenant-b.yaml").path], home: home)
        #expect(again.status == 0)
        #expect(again.stdout.contains("No changes.") && again.stdout.contains("has been started"))
        #expect(HTTPCall.status(b.url(b.dataPlane, "/readyz"), caFile: b.caFile) == 200)
        #expect(try vpt(["tenant", "stop", "tenant-b"], home: home).status == 0)
        #expect(try vpt(["tenant", "start", "tenant-b"], home: home).status == 0)
        #expect(HTTPCall.status(b.url(b.dataPlane, "/readyz"), caFile: b.caFile) == 200)
    }

    @Test func aRedisBackedTenantServesThroughRedis() throws {
        let home = temporaryDirectory("e2e-redis")
        let redis = try LocalRedis.start()
        defer { redis.stop() }
        let ports = TestPorts.block(100)
        #expect(try vpt(["init", "--port-range", "\(ports.lowerBound)-\(ports.upperBound)"], home: home).status == 0)
        let spec = try redis.point(try String(contentsOfFile: examplePath("globex-us.yaml"), encoding: .utf8), at: "globex-us")
        let file = home.appendingPathComponent("globex.yaml")
        try spec.write(to: file, atomically: true, encoding: .utf8)
        defer { _ = try? vpt(["tenant", "stop", "globex-us"], home: home) }
        // A password file others can read is refused as bad input before anything is created.
        let passwordFile = redis.passwordFile("globex-us")
        chmod(passwordFile, 0o644)
        let loose = try vpt(["provision", "tenant", "globex-us", "-f", file.path], home: home)
        #expect(loose.status == 65)
        #expect(loose.stderr.contains("customerAccount.onlineStore.passwordFile: the online store cannot be opened: the redis password file"))
        #expect(loose.stderr.contains("must be readable by its owner only (mode 0600); it is 644"))
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("tenants/globex-us").path))
        chmod(passwordFile, 0o600)
        let result = try vpt(["provision", "tenant", "globex-us", "-f", file.path], home: home)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("Smoke test: a feature read"))
        // The smoke test's value went through Redis, under the tenant's namespace (listed as the
        // server's admin: the tenant's own user may not list keys).
        #expect(try redis.admin(["--scan", "--pattern", "vpt:globex-us:*"]).contains("vpt:globex-us:vpt-health:probe_fv:"))

        // `vpt health` logs in as the tenant's user; a wrong password in the file is a failed check
        // that names the fix and not the password.
        func check(_ id: String) throws -> (status: String, observed: String) {
            let check = try healthChecks("globex-us", home: home)[id]
            return (check?["status"] as? String ?? "missing", check?["observed"] as? String ?? "")
        }
        let healthy = try check("store.online")
        #expect(healthy.status == "ok" && healthy.observed.contains("redis store in us-east-1 opened and read (1 sampled)"), "\(healthy)")
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try "not-the-password\n".write(toFile: passwordFile, atomically: false, encoding: .utf8)
        let refused = try check("store.online")
        #expect(refused.status == "fail" && refused.observed.contains("refused the user and password"), "\(refused)")
        #expect(!refused.observed.contains("not-the-password") && !refused.observed.contains(password))

        // Rotation without a gap (docs/keys.md): the customer adds a second password and writes it to
        // the file, the reload of `keys rotate --credentials` reopens the store with it, then the old
        // password goes and every connection is dropped: the data plane logs in again with the new one.
        let rotated = "rotated-\(UUID().uuidString)"
        #expect(try redis.admin(["ACL", "SETUSER", "globex-us", ">\(rotated)"]).contains("OK"))
        try "\(rotated)\n".write(toFile: passwordFile, atomically: false, encoding: .utf8)
        let rotation = try vpt(["keys", "rotate", "globex-us", "--credentials"], home: home)
        #expect(rotation.status == 0, "\(rotation.stdout)\(rotation.stderr)")
        #expect(try redis.admin(["ACL", "SETUSER", "globex-us", "<\(password)"]).contains("OK"))
        _ = try redis.admin(["CLIENT", "KILL", "USER", "globex-us"])
        let served = try check("serving.get-features")
        #expect(served.status == "ok", "\(served)")
        #expect(try check("store.online").status == "ok")

        // A store that refuses the login is a 503 (retryable) with no detail for the client, not a 500.
        #expect(try redis.admin(["ACL", "SETUSER", "globex-us", "resetpass"]).contains("OK"))
        _ = try redis.admin(["CLIENT", "KILL", "USER", "globex-us"])
        let unavailable = try check("serving.get-features")
        #expect(unavailable.status == "fail" && unavailable.observed.contains("answered 503: the online store is unavailable"), "\(unavailable)")
        #expect(!unavailable.observed.contains("127.0.0.1"))
    }

    /// A customer's Redis that speaks only TLS: a caFile that holds no certificate is refused before
    /// anything is created; with the server's CA the tenant provisions, its smoke test reads through
    /// rediss://, and `vpt health` opens the store over TLS.
    @Test func aTenantOnATLSRedisServesOverTLS() throws {
        let home = temporaryDirectory("e2e-redis-tls")
        let redis = try LocalRedis.start(tls: true)
        defer { redis.stop() }
        let ports = TestPorts.block(10)
        #expect(try vpt(["init", "--port-range", "\(ports.lowerBound)-\(ports.upperBound)"], home: home).status == 0)
        let spec = try redis.point(try String(contentsOfFile: examplePath("globex-us.yaml"), encoding: .utf8), at: "globex-us")
        #expect(spec.contains("rediss://globex-us@localhost:\(redis.port)/0") && spec.contains("caFile: \(redis.caFile)"))
        let file = home.appendingPathComponent("globex.yaml")
        defer { _ = try? vpt(["tenant", "stop", "globex-us"], home: home) }

        let notPEM = home.appendingPathComponent("not-a-ca.pem")
        try "not a certificate\n".write(to: notPEM, atomically: true, encoding: .utf8)
        try spec.replacingOccurrences(of: "caFile: \(redis.caFile)", with: "caFile: \(notPEM.path)").write(to: file, atomically: true, encoding: .utf8)
        let refused = try vpt(["provision", "tenant", "globex-us", "-f", file.path], home: home)
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("customerAccount.onlineStore.caFile: the online store cannot be opened: the redis caFile"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("tenants/globex-us").path))

        try spec.write(to: file, atomically: true, encoding: .utf8)
        let result = try vpt(["provision", "tenant", "globex-us", "-f", file.path], home: home)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("Smoke test: a feature read"))
        #expect(try redis.admin(["--scan", "--pattern", "vpt:globex-us:*"]).contains("vpt:globex-us:vpt-health:probe_fv:"))
        let checks = try healthChecks("globex-us", home: home)
        let online = checks["store.online"]
        #expect(online?["status"] as? String == "ok", "\(online ?? [:])")
        #expect((online?["observed"] as? String)?.contains("over TLS; the server's certificate is valid for") == true, "\(online ?? [:])")
        #expect(checks["serving.get-features"]?["status"] as? String == "ok")
    }

    /// A Redis server that verifies its clients: provisioning refuses a client key others can read
    /// (exit 65, naming the field, nothing created); with the key at 0600 the tenant provisions,
    /// and its data plane serves through the server with the tenant's certificate.
    @Test func aTenantOnARedisThatVerifiesClientsServesWithItsCertificate() throws {
        let home = try fleetOfOneTenant("e2e-redis-mtls")
        let redis = try LocalRedis.start(verifyClients: true)
        defer { redis.stop() }
        let spec = try redis.point(try String(contentsOfFile: examplePath("globex-us.yaml"), encoding: .utf8), at: "globex-us")
        let client = redis.clientCertificate("globex-us")
        #expect(spec.contains("clientCertFile: \(client.certFile)") && spec.contains("clientKeyFile: \(client.keyFile)"))
        let file = home.appendingPathComponent("globex.yaml")
        try spec.write(to: file, atomically: true, encoding: .utf8)
        defer { _ = try? vpt(["tenant", "stop", "globex-us"], home: home) }

        chmod(client.keyFile, 0o640)
        let refused = try vpt(["provision", "tenant", "globex-us", "-f", file.path], home: home)
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("customerAccount.onlineStore.clientKeyFile:"), "\(refused.stderr)")
        #expect(refused.stderr.contains("customerAccount.onlineStore.clientKeyFile: the redis clientKeyFile \(client.keyFile) must be readable by its owner only (mode 0600); it is 640"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home.appendingPathComponent("tenants/globex-us").path))

        chmod(client.keyFile, 0o600)
        let result = try vpt(["provision", "tenant", "globex-us", "-f", file.path], home: home)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("Smoke test: a feature read"))
        #expect(try redis.admin(["--scan", "--pattern", "vpt:globex-us:*"]).contains("vpt:globex-us:vpt-health:probe_fv:"))
        let config = try String(contentsOf: home.appendingPathComponent("tenants/globex-us/config/runtime.json"), encoding: .utf8)
        #expect(config.contains("\"clientKeyFile\":\"\(client.keyFile)\""), "the runtime config names the key file, never its contents")
        // Health reads both certificates' lifetimes (infra/redis.sh issues them for 30 days).
        let online = try healthChecks("globex-us", home: home)["store.online"]
        #expect(online?["status"] as? String == "ok", "\(online ?? [:])")
        #expect((online?["observed"] as? String)?.contains("; the tenant's client certificate is valid for 30 more days") == true, "\(online ?? [:])")
        // The batch runner's job carries the certificate too (the runner presents it: sdk/python tests).
        let runtime = try JSONDecoder().decode(RuntimeConfig.self, from: Data(config.utf8))
        let request = RiftJobRequest(
            jobId: "mtls", attempt: 1, workspace: "prod",
            view: BatchFeatureViewDefinition(
                name: "spend", entities: ["user"], source: "orders", sql: "SELECT * FROM source", timestampField: "ts",
                features: [TypedField(name: "total", type: .float64)], ttlSeconds: 86_400, batchSchedule: "1h", featureStartTime: "2026-11-01T00:00:00Z"),
            joinKeys: [TypedField(name: "user_id", type: .int64)],
            source: BatchSourceDefinition(
                name: "orders", path: "raw/orders", format: "parquet", schema: [TypedField(name: "user_id", type: .int64)], timestampField: "ts"),
            windowStart: Date(timeIntervalSince1970: 1_795_000_000), windowEnd: Date(timeIntervalSince1970: 1_795_003_600), scheduleSeconds: 3600,
            featureStartTime: Date(timeIntervalSince1970: 1_790_000_000))
        let job = try RiftJobBuilder.build(request, config: runtime)
        #expect(job.onlineStore.clientCertFile == client.certFile && job.onlineStore.clientKeyFile == client.keyFile)
        #expect(job.onlineStore.caFile == redis.caFile)
    }

    /// The tenant's serving limit from its spec, per service account, over real processes: the burst
    /// passes, then 429 with `Retry-After`; the tenant admin raises one account's limit through the
    /// control plane and the data plane applies it within its snapshot refresh; removing it restores
    /// the default.
    @Test func aServingRateLimitThrottlesEachServiceAccountAndTheControlPlaneChangesIt() throws {
        let home = try fleetOfOneTenant("e2e-rate-limit")
        let yaml = try String(contentsOfFile: examplePath("acme-eu.yaml"), encoding: .utf8)
        let file = home.appendingPathComponent("acme.yaml")
        try (yaml + "dataPlane:\n  rateLimit: {requestsPerSecond: 1, burst: 3}\n").write(to: file, atomically: true, encoding: .utf8)
        defer { _ = try? vpt(["tenant", "stop", "acme-eu"], home: home) }
        let provisioned = try vpt(["provision", "tenant", "acme-eu", "-f", file.path], home: home)
        #expect(provisioned.status == 0, "\(provisioned.stdout)\(provisioned.stderr)")
        let config = try String(contentsOf: home.appendingPathComponent("tenants/acme-eu/config/runtime.json"), encoding: .utf8)
        #expect(config.contains(#""rateLimit": {"burst":3,"requestsPerSecond":1}"#), "\(config)")
        let show = try JSONSerialization.jsonObject(with: Data(try vpt(["tenant", "show", "acme-eu", "-o", "json"], home: home).stdout.utf8)) as? [String: Any]
        let t = Tenant(
            name: "acme-eu", controlPlane: Int(show?["controlPlanePort"] as? String ?? "") ?? 0, dataPlane: Int(show?["dataPlanePort"] as? String ?? "") ?? 0,
            admin: try String(contentsOf: home.appendingPathComponent("tenants/acme-eu/secrets/admin-api-key"), encoding: .utf8), home: home)
        #expect(try call("POST", t, t.controlPlane, "/v1/workspaces/prod/apply", key: t.admin, body: repoBody()).status == 200)
        let scorer = try #require(try call("POST", t, t.controlPlane, "/v1/service-accounts/fraud-scorer/api-keys", key: t.admin).json["key"] as? String)
        #expect(try call("POST", t, t.controlPlane, "/v1/service-accounts", key: t.admin, body: ["name": "batch-scorer"]).status == 201)
        #expect(try call("PUT", t, t.controlPlane, "/v1/workspaces/prod/role-bindings/batch-scorer", key: t.admin, body: ["role": "consumer"]).status == 204)
        let batch = try #require(try call("POST", t, t.controlPlane, "/v1/service-accounts/batch-scorer/api-keys", key: t.admin).json["key"] as? String)
        usleep(1_200_000)  // the data plane refreshes its access list twice a second

        func statuses(_ key: String, _ count: Int) throws -> [Int] { try (0..<count).map { _ in try getFeatures(t, key: key, user: "7").0 } }
        // One a second with bursts of 3: six calls in well under three seconds cannot all pass.
        let first = try statuses(scorer, 6)
        #expect(Array(first.prefix(3)) == [200, 200, 200] && first.contains(429), "\(first)")
        #expect(try statuses(batch, 3) == [200, 200, 200], "batch-scorer has a bucket of its own")
        let refused = try getFeatures(t, key: scorer, user: "7")
        #expect(refused.0 == 429 && refused.1["code"] as? String == "RESOURCE_EXHAUSTED", "\(refused)")
        #expect((refused.1["message"] as? String)?.contains("service account 'fraud-scorer' is over its rate limit of 1 lookups per second") == true)
        let body = #"{"params": {"workspace_name": "prod", "feature_service_name": "fraud", "join_key_map": {"user_id": "7"}}}"#
        let headers = try commandOutput([
            "curl", "-s", "--cacert", t.caFile, "-D", "-", "-o", "/dev/null", "-H", "Authorization: Tecton-key \(scorer)", "--data", body,
            t.url(t.dataPlane, "/api/v1/feature-service/get-features").absoluteString,
        ]).lowercased()
        #expect(headers.contains("http/1.1 429") && headers.contains("retry-after: 1"), "\(headers)")

        // The admin raises fraud-scorer's own limit; nobody else may, and bad values are named.
        #expect(try call("PUT", t, t.controlPlane, "/v1/service-accounts/fraud-scorer/rate-limit", key: scorer, body: ["requestsPerSecond": 1000]).status == 403)
        let invalid = try call("PUT", t, t.controlPlane, "/v1/service-accounts/fraud-scorer/rate-limit", key: t.admin, body: ["requestsPerSecond": 0])
        #expect(invalid.status == 400 && (invalid.json["message"] as? String) == "requestsPerSecond: 0 must be between 1 and 1000000", "\(invalid)")
        #expect(try call("PUT", t, t.controlPlane, "/v1/service-accounts/nobody/rate-limit", key: t.admin, body: ["requestsPerSecond": 5]).status == 404)
        #expect(try call("PUT", t, t.controlPlane, "/v1/service-accounts/fraud-scorer/rate-limit", key: t.admin, body: ["requestsPerSecond": 1000, "burst": 50]).status == 204)
        let listed = try call("GET", t, t.controlPlane, "/v1/service-accounts", key: t.admin)
        let accounts = listed.json["serviceAccounts"] as? [[String: Any]] ?? []
        #expect(listed.json["tenantDefaultRateLimit"] as? [String: Int] == ["requestsPerSecond": 1, "burst": 3], "\(listed)")
        #expect(accounts.first { $0["name"] as? String == "fraud-scorer" }?["rateLimit"] as? [String: Int] == ["requestsPerSecond": 1000, "burst": 50], "\(listed)")
        #expect(accounts.first { $0["name"] as? String == "batch-scorer" }?["rateLimit"] == nil, "batch-scorer keeps the tenant default")
        #expect(accounts.first { $0["name"] as? String == "batch-scorer" }?["roles"] as? [String: String] == ["prod": "consumer"], "\(listed)")
        #expect(accounts.first { $0["name"] as? String == "batch-scorer" }?["liveAPIKeys"] as? Int == 1, "\(listed)")
        usleep(1_200_000)
        #expect(Set(try statuses(scorer, 20)) == [200], "the raised limit is served within the snapshot refresh")
        #expect(try statuses(batch, 6).contains(429), "the default still holds for batch-scorer")

        // The operator's command shows the limit each account gets, and where it comes from.
        let cliList = try vpt(["service-accounts", "list", "acme-eu", "-o", "json"], home: home)
        #expect(cliList.status == 0, "\(cliList.stderr)")
        let summaries = (try JSONSerialization.jsonObject(with: Data(cliList.stdout.utf8)) as? [String: Any])?["serviceAccounts"] as? [[String: Any]] ?? []
        let scorerSummary = try #require(summaries.first { $0["name"] as? String == "fraud-scorer" }, "\(cliList.stdout)")
        #expect(scorerSummary["rateLimitSource"] as? String == "account" && scorerSummary["rateLimit"] as? [String: Int] == ["requestsPerSecond": 1000, "burst": 50])
        let batchSummary = try #require(summaries.first { $0["name"] as? String == "batch-scorer" }, "\(cliList.stdout)")
        #expect(batchSummary["rateLimitSource"] as? String == "tenant-default" && batchSummary["rateLimit"] as? [String: Int] == ["requestsPerSecond": 1, "burst": 3])
        #expect(batchSummary["ownRateLimit"] == nil && batchSummary["liveAPIKeys"] as? Int == 1, "\(batchSummary)")
        let table = try vpt(["service-accounts", "list", "acme-eu"], home: home).stdout
        #expect(table.contains("batch-scorer") && table.contains("prod=consumer") && table.contains("1/s, burst 3 (tenant default)"), "\(table)")
        #expect(!table.contains(scorer) && !cliList.stdout.contains(scorer), "no secret in the listing")
        let page = String(decoding: try HTTPCall.raw("GET", t.url(t.controlPlane, "/ui"), headers: ["Authorization": "Tecton-key \(t.admin)"], caFile: t.caFile).body, as: UTF8.self)
        #expect(page.contains("<td>1000/s, bursts of 50</td>") && page.contains("<td>1/s, bursts of 3 (tenant default)</td>"), "the web UI shows each applied limit")

        // Bad values and unknown accounts are refused with exit 65 and change nothing.
        let zero = try vpt(["service-accounts", "limit", "acme-eu", "batch-scorer", "--requests-per-second", "0"], home: home)
        #expect(zero.status == 65 && zero.stderr.contains("requestsPerSecond: 0 must be between 1 and 1000000"), "\(zero.stderr)")
        let nobody = try vpt(["service-accounts", "limit", "acme-eu", "nobody", "--requests-per-second", "5"], home: home)
        #expect(nobody.status == 65 && nobody.stderr.contains("HTTP 404"), "\(nobody.stderr)")
        #expect(try vpt(["service-accounts", "limit", "acme-eu", "batch-scorer"], home: home).status == 64, "a limit or --reset is required")

        // The operator lifts batch-scorer's limit from the command line, then puts fraud-scorer
        // back on the tenant default.
        let raised = try vpt(["service-accounts", "limit", "acme-eu", "batch-scorer", "--requests-per-second", "500", "--burst", "40"], home: home)
        #expect(raised.status == 0 && raised.stdout.contains("500/s, burst 40 (own)"), "\(raised.stdout)\(raised.stderr)")
        let reset = try vpt(["service-accounts", "limit", "acme-eu", "fraud-scorer", "--reset", "-o", "json"], home: home)
        let resetSummary = try JSONSerialization.jsonObject(with: Data(reset.stdout.utf8)) as? [String: Any]
        #expect(reset.status == 0 && resetSummary?["rateLimitSource"] as? String == "tenant-default", "\(reset.stdout)\(reset.stderr)")
        usleep(1_200_000)
        #expect(Set(try statuses(batch, 20)) == [200], "batch-scorer's own limit is served")
        #expect(try statuses(scorer, 6).contains(429), "fraud-scorer is back on the default")
        let metrics = String(decoding: try HTTPCall.raw("GET", t.url(t.dataPlane, "/metrics"), headers: [:], caFile: t.caFile).body, as: UTF8.self)
        #expect(metrics.contains(#"http_server_requests_total{route="/api/v1/feature-service/get-features",status="429"}"#))
        #expect(metrics.contains(#"vpt_rate_limited_requests_total{service_account="fraud-scorer"}"#))

        // The operator sees who was refused.
        let checks = try healthChecks("acme-eu", home: home)
        let limited = try #require(checks["serving.rate-limited"], "\(checks.keys.sorted())")
        #expect(limited["status"] as? String == "warn", "\(limited)")
        #expect((limited["observed"] as? String)?.contains("since start") == true && (limited["observed"] as? String)?.contains("fraud-scorer") == true, "\(limited)")
        #expect((limited["remedy"] as? String)?.contains("vpt service-accounts limit acme-eu NAME") == true)
        let connections = try #require(checks["serving.connections"], "\(checks.keys.sorted())")
        #expect(connections["status"] as? String == "ok" && (connections["observed"] as? String)?.contains("of 10000 connections open") == true, "\(connections)")
    }

    /// A fresh fleet with ten loopback ports of its own (one tenant's worth), picked at random so
    /// that parallel tests do not collide.
    /// `vpt health TENANT --output json`'s checks, by id.
    func healthChecks(_ tenant: String, home: URL) throws -> [String: [String: Any]] {
        let result = try vpt(["health", tenant, "--output", "json"], home: home)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let checks = ((json?["tenants"] as? [[String: Any]])?.first?["checks"] as? [[String: Any]]) ?? []
        return Dictionary(checks.map { ($0["id"] as? String ?? "", $0) }) { first, _ in first }
    }

    func fleetOfOneTenant(_ label: String) throws -> URL {
        let home = temporaryDirectory(label)
        let ports = TestPorts.block(10)
        #expect(try vpt(["init", "--port-range", "\(ports.lowerBound)-\(ports.upperBound)"], home: home).status == 0)
        return home
    }

    /// NIO threads of the data plane's shared group (`NIO-SGLTN-…`), from its task names.
    func servingThreads(_ home: URL, _ tenant: String) throws -> Int {
        let pid = try String(contentsOf: home.appendingPathComponent("tenants/\(tenant)/run/data-plane.pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        return tasks.filter { task in
            ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8)) ?? "").hasPrefix("NIO-SGLTN-")
        }.count
    }

    /// `dataPlane.eventLoops` sets how many threads the feature server serves on, and a changed
    /// value restarts the data plane with it; without it, one per core but one. `dataPlane.maxConnections`
    /// reaches the server the same way.
    @Test func theSpecSetsTheFeatureServersEventLoopsAndConnectionLimit() throws {
        let home = try fleetOfOneTenant("e2e-event-loops")
        let yaml = try String(contentsOfFile: examplePath("acme-eu.yaml"), encoding: .utf8)
        let file = home.appendingPathComponent("acme.yaml")
        defer { _ = try? vpt(["tenant", "stop", "acme-eu"], home: home) }
        try (yaml + "dataPlane:\n  eventLoops: 1\n").write(to: file, atomically: true, encoding: .utf8)
        let one = try vpt(["provision", "tenant", "acme-eu", "-f", file.path], home: home)
        #expect(one.status == 0, "\(one.stdout)\(one.stderr)")
        #expect(try servingThreads(home, "acme-eu") == 1)
        try (yaml + "dataPlane:\n  eventLoops: 3\n  maxConnections: 300\n").write(to: file, atomically: true, encoding: .utf8)
        let three = try vpt(["provision", "tenant", "acme-eu", "-f", file.path], home: home)
        #expect(three.status == 0 && three.stdout.contains("runtime_config"), "\(three.stdout)\(three.stderr)")
        #expect(try servingThreads(home, "acme-eu") == 3, "re-provisioning restarted the data plane with three loops")
        let log = try String(contentsOf: home.appendingPathComponent("tenants/acme-eu/run/data-plane.log"), encoding: .utf8)
        #expect(log.contains("event_loops=3") && log.contains("max_connections=300"), "the data plane says how many loops and connections")
        let show = try JSONSerialization.jsonObject(with: Data(try vpt(["tenant", "show", "acme-eu", "-o", "json"], home: home).stdout.utf8)) as? [String: Any]
        let dataPlane = Int(show?["dataPlanePort"] as? String ?? "") ?? 0
        let metrics = String(
            decoding: try HTTPCall.raw(
                "GET", URL(string: "https://127.0.0.1:\(dataPlane)/metrics")!, headers: [:],
                caFile: home.appendingPathComponent("tenants/acme-eu/tls/ca.pem").path
            ).body, as: UTF8.self)
        #expect(metrics.contains("vpt_max_connections 300\n") && metrics.contains("vpt_open_connections "), "\(metrics.suffix(600))")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        #expect(try vpt(["provision", "tenant", "acme-eu", "-f", file.path], home: home).status == 0)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        #expect(try servingThreads(home, "acme-eu") == max(1, cores - 1), "one per core but one by default (\(cores) cores)")
    }
}
