import Foundation
import Testing
import VPTContract
import VPTEngine
import VPTLocalCloud
import VPTTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Key rotation and revocation against a serving tenant: get-features runs without pause while
/// the CMK is rotated (with and without re-encryption) and an API key is rotated, and no request
/// fails; a revoked key, an expired grace window and a pulled CMK each stop serving on time,
/// for that tenant only.
@Suite(.serialized, .offCooperativePool) struct KeyRotationServingTests {
    let home = temporaryDirectory("keyserve")

    func call(_ method: String, _ config: RuntimeConfig, _ port: Int, _ path: String, key: String, body: Any? = nil) throws -> (Int, [String: Any]) {
        let (status, json) = try HTTPCall.request(
            method, URL(string: "https://127.0.0.1:\(port)\(path)")!, body: body, headers: ["Authorization": "Tecton-key \(key)"], timeout: 5,
            caFile: config.tls?.caFile)
        return (status, json as? [String: Any] ?? [:])
    }

    struct Tenant {
        var name: String
        var config: RuntimeConfig
        var admin: String
        var key: String
        var keyId: String
    }

    /// Provisions a tenant with a one-view repository, a consumer key and one ingested value.
    func tenant(_ name: String) throws -> Tenant {
        let yaml = try String(contentsOfFile: examplePath("acme-eu.yaml"), encoding: .utf8).replacingOccurrences(of: "name: acme-eu", with: "name: \(name)")
        let file = home.appendingPathComponent("\(name).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let provisioned = try vpt(["provision", "tenant", name, "-f", file.path], home: home)
        try #require(provisioned.status == 0, "\(provisioned.stdout)\(provisioned.stderr)")
        let config = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: home.appendingPathComponent("tenants/\(name)/config/runtime.json")))
        let admin = try String(contentsOf: home.appendingPathComponent("tenants/\(name)/secrets/admin-api-key"), encoding: .utf8)
        let repo: [String: Any] = [
            "entities": [["name": "user", "joinKeys": [["name": "user_id", "type": "int64"]]]],
            "pushSources": [["name": "tx", "timestampField": "ts", "schema": [
                ["name": "user_id", "type": "int64"], ["name": "amount", "type": "float64"], ["name": "ts", "type": "string"],
            ]]],
            "featureViews": [["name": "user_tx", "entities": ["user"], "source": "tx", "features": [["name": "amount", "type": "float64"]],
                              "ttlSeconds": 3600, "online": true, "offline": true]],
            "featureServices": [["name": "svc", "featureViews": ["user_tx"]]],
        ]
        try #require(try call("POST", config, config.controlPlane.port, "/v1/workspaces/prod/apply", key: admin, body: repo).0 == 200)
        try #require(try call("PUT", config, config.controlPlane.port, "/v1/workspaces/prod/role-bindings/fraud-scorer", key: admin, body: ["role": "owner"]).0 == 204)
        let created = try call("POST", config, config.controlPlane.port, "/v1/service-accounts/fraud-scorer/api-keys", key: admin).1
        let key = try #require(created["key"] as? String), id = try #require(created["id"] as? String)
        let record: [String: Any] = ["user_id": "1", "amount": 12.5, "ts": ISO8601DateFormatter().string(from: Date())]
        var status = 0
        for _ in 0..<40 where status != 200 {
            status = try call("POST", config, config.dataPlane.port, "/ingest", key: key, body: ["workspace_name": "prod", "records": ["tx": [["record": record]]]]).0
            if status != 200 { usleep(100_000) }
        }
        try #require(status == 200)
        return Tenant(name: name, config: config, admin: admin, key: key, keyId: id)
    }

    func getFeatures(_ t: Tenant, key: String) -> (Int, String) {
        let body: [String: Any] = ["params": ["workspace_name": "prod", "feature_service_name": "svc", "join_key_map": ["user_id": "1"]]]
        guard let (status, json) = try? call("POST", t.config, t.config.dataPlane.port, "/api/v1/feature-service/get-features", key: key, body: body) else {
            return (0, "no answer")
        }
        return (status, json["message"] as? String ?? "")
    }

    /// The serial of the certificate a new TLS connection to `port` is served (openssl s_client).
    func servedSerial(_ port: Int) throws -> String {
        let text = try commandOutput(["sh", "-c", "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -serial"])
        return text.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "serial=", with: "")
    }

    /// Polls until `expected` or the deadline; returns the last status.
    func wait(_ t: Tenant, key: String, for expected: Int, within seconds: Double) -> (Int, String) {
        let deadline = Date().addingTimeInterval(seconds)
        var last = getFeatures(t, key: key)
        while last.0 != expected, Date() < deadline {
            usleep(100_000)
            last = getFeatures(t, key: key)
        }
        return last
    }

    /// Reads features without pause on another thread until stopped; counts answers by status.
    final class Load: @unchecked Sendable {
        private let lock = NSLock()
        private var statuses: [Int: Int] = [:]
        private var running = true
        private var finished = false

        func start(_ body: @escaping @Sendable () -> Int) {
            Thread {
                while self.lock.withLock({ self.running }) {
                    let status = body()
                    self.lock.withLock { self.statuses[status, default: 0] += 1 }
                }
                self.lock.withLock { self.finished = true }
            }.start()
        }

        func stop() -> [Int: Int] {
            lock.withLock { running = false }
            while !lock.withLock({ finished }) { usleep(10_000) }
            return lock.withLock { statuses }
        }
    }

    @Test func rotationsKeepServingAndRevocationsStopIt() throws {
        let ports = TestPorts.block(10)
        try #require(try vpt(["init", "--port-range", "\(ports.lowerBound)-\(ports.upperBound)"], home: home).status == 0)
        let keyed = try tenant("keyed")
        let other = try tenant("other")
        defer { for name in ["keyed", "other"] { _ = try? vpt(["tenant", "stop", name], home: home) } }
        #expect(getFeatures(keyed, key: keyed.key).0 == 200)

        // Zero downtime: every kind of rotation while get-features runs.
        let load = Load()
        let t = keyed
        load.start { self.getFeatures(t, key: t.key).0 }
        usleep(300_000)
        let cmk = try vpt(["keys", "rotate", "keyed", "--cmk"], home: home)
        let reencrypt = try vpt(["keys", "rotate", "keyed", "--cmk", "--reencrypt"], home: home)
        let credentials = try vpt(["keys", "rotate", "keyed", "--credentials", "--output", "json"], home: home)
        let servedBefore = try servedSerial(keyed.config.dataPlane.port)
        let certs = try vpt(["keys", "rotate", "keyed", "--certs", "--output", "json"], home: home)
        let rotated = try vpt(["keys", "rotate", "keyed", "--api-key", "fraud-scorer", "--grace", "4s", "--output", "json"], home: home)
        usleep(1_000_000)  // the data plane has picked up every change
        let statuses = load.stop()
        #expect(cmk.status == 0 && reencrypt.status == 0 && rotated.status == 0, "\(cmk.stderr)\(reencrypt.stderr)\(rotated.stderr)")
        #expect(credentials.status == 0, "\(credentials.stdout)\(credentials.stderr)")
        #expect(certs.status == 0, "\(certs.stdout)\(certs.stderr)")
        // New connections get the reissued certificate (open ones kept theirs: no request failed).
        let reissued = try #require(try JSONSerialization.jsonObject(with: Data(certs.stdout.utf8)) as? [String: Any])
        let dataPlaneSerial = ((reissued["certificates"] as? [[String: Any]]) ?? []).first { $0["name"] as? String == "data-plane" }?["serial"] as? String
        let servedAfter = try servedSerial(keyed.config.dataPlane.port)
        #expect(servedAfter != servedBefore && servedAfter == dataPlaneSerial, "served \(servedAfter), issued \(dataPlaneSerial ?? "?")")
        #expect(credentials.stdout.contains("\"dataPlaneSwitched\" : true") && credentials.stdout.contains("\"externalIdRotated\" : true"))
        #expect(statuses.keys.sorted() == [200], "failed requests during rotation: \(statuses)")
        #expect((statuses[200] ?? 0) >= 20, "the load made only \(statuses) requests")

        // The old external ID and access key no longer open the store; the plan shows no change.
        let newConfig = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: home.appendingPathComponent("tenants/keyed/config/runtime.json")))
        #expect(newConfig.crossAccount.externalId != keyed.config.crossAccount.externalId)
        let sts = LocalSTS(iam: LocalIAM(accountsRoot: home.appendingPathComponent("accounts")))
        let caller = try #require(try SecureFiles.readJSON(AccessKeyCredential.self, from: URL(fileURLWithPath: newConfig.crossAccount.callerCredentialFile)))
        #expect(throws: (any Error).self) {
            try sts.assumeRole(roleArn: newConfig.crossAccount.roleArn, externalId: keyed.config.crossAccount.externalId, sessionName: "old", durationSeconds: 900, caller: caller)
        }
        _ = try sts.assumeRole(roleArn: newConfig.crossAccount.roleArn, externalId: newConfig.crossAccount.externalId, sessionName: "new", durationSeconds: 900, caller: caller)
        let plan = try vpt(["plan", "tenant", "keyed", "-f", home.appendingPathComponent("keyed.yaml").path, "--detailed-exitcode"], home: home)
        #expect(plan.status == 0, "credential rotation left a plan diff: \(plan.stdout)")

        // The new key works at once; the old one until its grace window ends, then 401 within 2 s.
        let report = try #require(try JSONSerialization.jsonObject(with: Data(rotated.stdout.utf8)) as? [String: Any])
        let newKey = try #require(report["key"] as? String), newId = try #require(report["id"] as? String)
        #expect(report["retired"] as? [String] == [keyed.keyId])
        #expect(wait(keyed, key: newKey, for: 200, within: 2).0 == 200)
        #expect(getFeatures(keyed, key: keyed.key).0 == 200, "the old key must work during the grace window")
        usleep(4_000_000)
        #expect(wait(keyed, key: keyed.key, for: 401, within: 2.5).0 == 401, "the old key must stop after the grace window")

        // Status: versions, data keys, API keys with last use; never a secret.
        let status = try vpt(["keys", "status", "keyed", "--output", "json"], home: home)
        #expect(status.status == 0)
        for secret in [keyed.key, newKey, keyed.admin] { #expect(!status.stdout.contains(secret)) }
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let versions = (json["cmk"] as? [String: Any])?["versions"] as? [[String: Any]] ?? []
        #expect(versions.map { $0["enabled"] as? Bool } == [false, false, true])
        let keys = json["apiKeys"] as? [[String: Any]] ?? []
        #expect(keys.first { $0["id"] as? String == newId }?["lastUsedAt"] as? String != nil)
        #expect(keys.first { $0["id"] as? String == keyed.keyId }?["state"] as? String == "expired")

        // Revoking a key ends it within 2 s.
        #expect(try vpt(["keys", "revoke", "keyed", "--api-key", newId], home: home).status == 0)
        #expect(wait(keyed, key: newKey, for: 401, within: 2.5).0 == 401)

        // Pulling the CMK stops this tenant (with a clear error) and no other; enabling restores it.
        let third = try #require(try call("POST", keyed.config, keyed.config.controlPlane.port, "/v1/service-accounts/fraud-scorer/api-keys", key: keyed.admin).1["key"] as? String)
        #expect(wait(keyed, key: third, for: 200, within: 2).0 == 200)
        #expect(try vpt(["keys", "revoke", "keyed", "--cmk"], home: home).status == 0)
        let pulled = wait(keyed, key: third, for: 503, within: 3)
        #expect(pulled.0 == 503 && pulled.1.contains("customer master key"), "\(pulled)")
        #expect(try call("GET", keyed.config, keyed.config.controlPlane.port, "/v1/api-keys", key: keyed.admin).0 == 503)
        #expect(getFeatures(other, key: other.key).0 == 200, "another tenant must not be affected")
        #expect(try vpt(["keys", "enable", "keyed", "--cmk"], home: home).status == 0)
        #expect(wait(keyed, key: third, for: 200, within: 3).0 == 200)

        let audit = try vpt(["keys", "audit", "keyed"], home: home)
        for action in ["cmk.create", "api-key.create", "api-key.expire", "cmk.rotate.complete", "credentials.rotate.complete", "certificates.rotate.complete", "api-key.rotate", "api-key.revoke", "cmk.revoke", "cmk.enable"] {
            #expect(audit.stdout.contains(action), "\(action) missing from the audit log")
        }
        for secret in [keyed.key, newKey, third, keyed.admin] { #expect(!audit.stdout.contains(secret)) }
    }

    /// Killed mid-way through a credential rotation, the tenant keeps serving, a data plane that
    /// restarts from the half-rotated state still opens its store, and a re-run completes.
    @Test func killedCredentialRotationKeepsServingAndReRunCompletes() throws {
        let ports = TestPorts.block(10)
        try #require(try vpt(["init", "--port-range", "\(ports.lowerBound)-\(ports.upperBound)"], home: home).status == 0)
        let t = try tenant("crashy")
        defer { _ = try? vpt(["tenant", "stop", "crashy"], home: home) }
        let pidFile = home.appendingPathComponent("tenants/crashy/run/data-plane.pid")
        for point in ["credentials.after-trust", "credentials.after-access-key", "credentials.after-config"] {
            let killed = try vpt(["keys", "rotate", "crashy", "--credentials"], home: home, environment: ["VPT_FAULT": point])
            #expect(killed.killedBySignal == SIGKILL, "\(point) not reached: \(killed.stderr)")
            #expect(getFeatures(t, key: t.key).0 == 200, "serving stopped after a kill at \(point)")
            // The data plane restarts (a crash of its own) from whatever the kill left behind.
            let pid = try #require(pid_t(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            kill(pid, SIGKILL)
            usleep(300_000)
            #expect(wait(t, key: t.key, for: 200, within: 8).0 == 200, "the restarted data plane cannot serve after a kill at \(point)")
            let rerun = try vpt(["keys", "rotate", "crashy", "--credentials"], home: home)
            #expect(rerun.status == 0, "\(rerun.stdout)\(rerun.stderr)")
            #expect(getFeatures(t, key: t.key).0 == 200)
            let plan = try vpt(["plan", "tenant", "crashy", "-f", home.appendingPathComponent("crashy.yaml").path, "--detailed-exitcode"], home: home)
            #expect(plan.status == 0, "\(point): \(plan.stdout)")
            let config = try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: home.appendingPathComponent("tenants/crashy/config/runtime.json")))
            let iam = LocalIAM(accountsRoot: home.appendingPathComponent("accounts"))
            let access = try #require(IAMRole.parse(arn: config.crossAccount.roleArn))
            #expect(try iam.role(account: access.account, name: access.name)?.trust?.externalIds == [config.crossAccount.externalId])
            let data = try #require(IAMRole.parse(arn: config.dataPlane.roleArn))
            #expect(try iam.role(account: data.account, name: data.name)?.accessKeys.count == 1)
        }
    }

    /// `vpt tenant endpoints` prints a curl command that works as printed (HTTPS, tenant CA); the
    /// control plane's internal port takes only client certificates of the tenant's own CA.
    @Test func endpointsCurlWorksAndTheInternalPortWantsTheTenantsClientCertificate() throws {
        let ports = TestPorts.block(10)
        try #require(try vpt(["init", "--port-range", "\(ports.lowerBound)-\(ports.upperBound)"], home: home).status == 0)
        let a = try tenant("tls-a")
        let b = try tenant("tls-b")
        defer { for name in ["tls-a", "tls-b"] { _ = try? vpt(["tenant", "stop", name], home: home) } }
        func sh(_ command: String) throws -> (status: Int32, out: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", command]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        let endpoints = try vpt(["tenant", "endpoints", "tls-a"], home: home)
        let curl = try #require(endpoints.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.first { $0.hasPrefix("curl ") })
        #expect(curl.contains("--cacert") && curl.contains("https://127.0.0.1:\(a.config.dataPlane.port)"))
        let answer = try sh(curl)
        #expect(answer.status == 0 && answer.out.contains("\"features\""), "\(curl) -> \(answer)")
        // Without the tenant CA the certificate is not trusted; plain HTTP is not served.
        let untrusted = curl.replacingOccurrences(of: "--cacert \(a.config.tls?.caFile ?? "")", with: "")
        #expect(try sh(untrusted).status == 60, "curl must reject the certificate without the tenant CA")
        #expect(try sh("curl -s -o /dev/null -w '%{http_code}' --max-time 3 http://127.0.0.1:\(a.config.dataPlane.port)/healthz").out != "200")

        let tls = try #require(a.config.tls), other = try #require(b.config.tls)
        let token = try String(contentsOfFile: a.config.dataPlane.internalTokenFile, encoding: .utf8)
        let snapshot = "https://127.0.0.1:\(tls.internalPort)/internal/v1/snapshot"
        func internalCall(cert: String?, key: String?) throws -> String {
            let identity = cert.map { " --cert \($0) --key \(key!)" } ?? ""
            return try sh("curl -s -o /dev/null -w '%{http_code}' --max-time 3 --cacert \(tls.caFile)\(identity) -H 'Authorization: Bearer \(token)' \(snapshot)").out
        }
        #expect(try internalCall(cert: tls.clientCertFile, key: tls.clientKeyFile) == "200")
        #expect(try internalCall(cert: nil, key: nil) == "000", "the internal port must refuse a client without a certificate")
        #expect(try internalCall(cert: other.clientCertFile, key: other.clientKeyFile) == "000", "another tenant's client certificate must be refused")
        // The public port does not serve the snapshot at all.
        let publicSnapshot = try sh("curl -s -o /dev/null -w '%{http_code}' --max-time 3 --cacert \(tls.caFile) -H 'Authorization: Bearer \(token)' https://127.0.0.1:\(a.config.controlPlane.port)/internal/v1/snapshot").out
        #expect(publicSnapshot == "404")
    }
}
