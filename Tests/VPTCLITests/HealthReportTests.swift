import Foundation
import GRDB
import Testing
import VPTContract
import VPTEngine
import VPTLocalCloud
import VPTTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `vpt health` against real tenant processes: each failure is provoked on purpose (a killed
/// process, a frozen runtime, a store with a wrong mode, a deleted store file, an aged key, a
/// feature value in the control plane, an expiring API key, a fleet without runtime) and the
/// report must name it with the right status and exit code.
@Suite(.serialized, .offCooperativePool) struct HealthReportTests {
    let home = temporaryDirectory("health")
    let ports = TestPorts.block(100)

    init() throws {
        try #require(try vpt(["init", "--port-range", "\(ports.lowerBound)-\(ports.upperBound)"], home: home).status == 0)
    }

    /// Provisions a copy of acme-eu under `name` and returns its runtime config.
    func provision(_ name: String) throws -> RuntimeConfig {
        let yaml = try String(contentsOfFile: examplePath("acme-eu.yaml"), encoding: .utf8)
        let file = home.appendingPathComponent("\(name).yaml")
        try yaml.replacingOccurrences(of: "name: acme-eu", with: "name: \(name)").write(to: file, atomically: true, encoding: .utf8)
        let result = try vpt(["provision", "tenant", name, "-f", file.path], home: home)
        try #require(result.status == 0, "\(result.stdout)\(result.stderr)")
        return try JSONDecoder().decode(RuntimeConfig.self, from: Data(contentsOf: home.appendingPathComponent("tenants/\(name)/config/runtime.json")))
    }

    func stop(_ names: String...) {
        for name in names { _ = try? vpt(["tenant", "stop", name], home: home) }
    }

    struct Report {
        var exit: Int32
        var json: [String: Any]
        func tenant(_ name: String) -> [String: Any] {
            (json["tenants"] as? [[String: Any]] ?? []).first { $0["name"] as? String == name } ?? [:]
        }
        func check(_ tenant: String, _ id: String) -> (status: String, observed: String, remedy: String) {
            let checks = self.tenant(tenant)["checks"] as? [[String: Any]] ?? []
            let check = checks.first { $0["id"] as? String == id } ?? [:]
            return (check["status"] as? String ?? "missing", check["observed"] as? String ?? "", check["remedy"] as? String ?? "")
        }
        /// Statuses of every check of a tenant but the named ones.
        func others(_ tenant: String, except ids: Set<String>) -> [String: String] {
            var result: [String: String] = [:]
            for check in self.tenant(tenant)["checks"] as? [[String: Any]] ?? [] where !ids.contains(check["id"] as? String ?? "") {
                result[check["id"] as? String ?? ""] = check["status"] as? String
            }
            return result
        }
    }

    func health(_ arguments: [String], timeout: Double = 2) throws -> Report {
        let result = try vpt(["health"] + arguments + ["--output", "json", "--timeout", String(timeout)], home: home)
        let json = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return Report(exit: result.status, json: try #require(json, "\(result.stdout)\(result.stderr)"))
    }

    /// Whether the disk is full enough for `store.disk` to warn on its own (then exit codes shift).
    var diskIsTight: Bool {
        var stats = statvfs()
        return statvfs(home.path, &stats) == 0 && Double(stats.f_bavail) / Double(stats.f_blocks) < 0.10
    }

    func expectOthersOK(_ report: Report, _ tenant: String, except ids: Set<String>) {
        var others = report.others(tenant, except: ids)
        if diskIsTight { others["store.disk"] = nil }
        // A slow read is a warning about the machine, not about the tenant: tests do not fail on timing.
        if others["serving.get-features"] == "warn" { others["serving.get-features"] = nil }
        #expect(others.values.allSatisfy { $0 == "ok" }, "\(tenant): \(others.filter { $0.value != "ok" })")
    }

    func admin(_ tenant: String) throws -> String {
        try String(contentsOf: home.appendingPathComponent("tenants/\(tenant)/secrets/admin-api-key"), encoding: .utf8)
    }

    @discardableResult
    func call(_ method: String, _ config: RuntimeConfig, _ port: Int, _ path: String, key: String, body: Any? = nil) throws -> (Int, [String: Any]) {
        let (status, json) = try HTTPCall.request(
            method, URL(string: "https://127.0.0.1:\(port)\(path)")!, body: body, headers: ["Authorization": "Tecton-key \(key)"],
            caFile: config.tls?.caFile)
        return (status, json as? [String: Any] ?? [:])
    }

    @Test func healthyTenantIsOkInEveryFormat() throws {
        _ = try provision("calm")
        defer { stop("calm") }
        let report = try health(["calm"])
        expectOthersOK(report, "calm", except: [])
        #expect(report.json["schema"] as? String == "vpt.health/v1")
        #expect(report.exit == 0 || report.exit == 1, "healthy apart from timing-dependent warnings")
        let checks = report.tenant("calm")["checks"] as? [[String: Any]] ?? []
        #expect(checks.count == 15)
        #expect(checks.allSatisfy { ($0["threshold"] as? String)?.isEmpty == false && $0["observed"] as? String != nil })

        let table = try vpt(["health", "calm"], home: home)
        #expect(table.stdout.contains("runtime.data-plane") && table.stdout.contains("1 tenant: "))
        #expect(!table.stdout.contains("\u{1B}["), "no color codes when stdout is not a terminal")

        let page = home.appendingPathComponent("health.html")
        _ = try vpt(["health", "--all", "--output", "html", "--out", page.path], home: home)
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("data-check=\"serving.get-features\""))
        #expect(!html.contains("src=") && !html.contains("<link") && !html.contains("<script") && !html.contains("http://") && !html.contains("https://"))
        // Secrets never appear in a report.
        for text in [report.json.description, table.stdout, html] {
            #expect(!text.contains(try admin("calm")))
        }
    }

    @Test func killedProcessFailsAndFrozenRuntimeCannotStallTheReport() throws {
        _ = try provision("victim")
        _ = try provision("bystander")
        defer { stop("victim", "bystander") }
        let run = home.appendingPathComponent("tenants/victim/run")
        func pid(_ name: String) throws -> pid_t {
            try #require(pid_t(try String(contentsOf: run.appendingPathComponent("\(name).pid"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        }

        // Frozen: the data plane accepts connections and never answers.
        let dataPlane = try pid("data-plane")
        kill(dataPlane, SIGSTOP)
        let frozen = try health(["--all"], timeout: 1)
        kill(dataPlane, SIGCONT)
        #expect(frozen.exit == 2)
        #expect(frozen.check("victim", "runtime.data-plane").status == "fail")
        #expect(frozen.check("victim", "runtime.data-plane").observed.contains("stopped"))
        #expect(frozen.check("victim", "serving.get-features").status == "fail")
        #expect(frozen.check("victim", "serving.get-features").observed.contains("no answer within 1 s"))
        // Bounded by the timeouts (1 s each, run in parallel), not by the frozen process.
        #expect((frozen.json["durationMs"] as? Double ?? .infinity) < 15_000)
        expectOthersOK(frozen, "bystander", except: [])

        // Killed, with its supervisor, so that nothing restarts it.
        kill(try pid("supervisor"), SIGKILL)
        kill(try pid("data-plane"), SIGKILL)
        usleep(200_000)
        let killed = try health(["victim"])
        #expect(killed.exit == 2)
        #expect(killed.check("victim", "runtime.data-plane").status == "fail")
        #expect(killed.check("victim", "runtime.data-plane").observed.contains("not running"))
        #expect(killed.check("victim", "runtime.data-plane").remedy.contains("vpt tenant start victim"))
    }

    @Test func storeWithWrongModeAndDeletedStoreFileFail() throws {
        let config = try provision("storeless")
        defer { stop("storeless") }
        let store = config.onlineStore.location
        chmod(store, 0o644)
        let loose = try health(["storeless"])
        #expect(loose.exit == 2)
        #expect(loose.check("storeless", "drift.resources").status == "fail")
        #expect(loose.check("storeless", "drift.resources").observed.contains("online.sqlite has mode 644, not 600"))
        expectOthersOK(loose, "storeless", except: ["drift.resources"])

        chmod(store, 0o600)
        for suffix in ["", "-wal", "-shm"] { unlink(store + suffix) }
        let deleted = try health(["storeless"])
        #expect(deleted.exit == 2)
        #expect(deleted.check("storeless", "store.online").status == "fail")
        #expect(deleted.check("storeless", "store.online").observed.contains("does not exist"))
    }

    @Test func agedKeyWarnsThenFails() throws {
        let config = try provision("aged")
        defer { stop("aged") }
        let ref = try #require(KMSKeyRef(arn: config.controlPlane.cmkArn))
        let file = home.appendingPathComponent("accounts/\(ref.account)/\(ref.region)/kms/keys/\(ref.keyId).json")
        func age(days: Double) throws {
            var key = try #require(try SecureFiles.readJSON(KMSKey.self, from: file))
            let then = Date().addingTimeInterval(-days * 86_400)
            key.createdAt = then
            key.versions = key.versions.map { var v = $0; v.createdAt = then; return v }
            try SecureFiles.writeJSON(key, to: file)
        }
        try age(days: 360)  // rotationDays 365: due within 14 days
        let due = try health(["aged"])
        #expect(due.check("aged", "keys.cmk-age").status == "warn")
        #expect(due.check("aged", "keys.cmk-age").observed.contains("360 days old"))
        expectOthersOK(due, "aged", except: ["keys.cmk-age"])
        if !diskIsTight { #expect(due.exit == 1) }

        try age(days: 400)
        let overdue = try health(["aged"])
        #expect(overdue.check("aged", "keys.cmk-age").status == "fail")
        #expect(overdue.exit == 2)
    }

    @Test func featureValueInTheControlPlaneFailsTheResidencyScan() throws {
        let config = try provision("leaky")
        defer { stop("leaky") }
        let admin = try admin("leaky")
        let repo: [String: Any] = [
            "entities": [["name": "user", "joinKeys": [["name": "user_id", "type": "int64"]]]],
            "pushSources": [["name": "tx", "timestampField": "ts", "schema": [
                ["name": "user_id", "type": "int64"], ["name": "merchant", "type": "string"], ["name": "ts", "type": "string"],
            ]]],
            "featureViews": [["name": "user_tx", "entities": ["user"], "source": "tx", "features": [["name": "merchant", "type": "string"]],
                              "ttlSeconds": 3600, "online": true, "offline": true]],
            "featureServices": [["name": "svc", "featureViews": ["user_tx"]]],
        ]
        #expect(try call("POST", config, config.controlPlane.port, "/v1/workspaces/prod/apply", key: admin, body: repo).0 == 200)
        #expect(try call("PUT", config, config.controlPlane.port, "/v1/workspaces/prod/role-bindings/fraud-scorer", key: admin, body: ["role": "owner"]).0 == 204)
        let key = try #require(try call("POST", config, config.controlPlane.port, "/v1/service-accounts/fraud-scorer/api-keys", key: admin).1["key"] as? String)
        let canary = "canary-\(UUID().uuidString.prefix(8))"
        let record: [String: Any] = ["user_id": "7", "merchant": canary, "ts": ISO8601DateFormatter().string(from: Date())]
        var status = 0
        for _ in 0..<40 where status != 200 {  // the data plane learns the new key within a second
            status = try call("POST", config, config.dataPlane.port, "/ingest", key: key, body: ["workspace_name": "prod", "records": ["tx": [["record": record]]]]).0
            if status != 200 { usleep(100_000) }
        }
        #expect(status == 200)
        let clean = try health(["leaky"])
        #expect(clean.check("leaky", "residency.control-plane-scan").status == "ok")

        // Someone writes the value into the control plane's metadata database.
        let folder = URL(fileURLWithPath: config.controlPlane.dataDirectory)
        let database = try #require(try FileManager.default.contentsOfDirectory(atPath: folder.path).first { $0.hasSuffix(".sqlite") })
        let queue = try DatabaseQueue(path: folder.appendingPathComponent(database).path)
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE IF NOT EXISTS notes (text TEXT)")
            try db.execute(sql: "INSERT INTO notes VALUES (?)", arguments: ["customer said: \(canary)"])
        }
        try queue.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        let leaked = try health(["leaky"])
        #expect(leaked.exit == 2)
        #expect(leaked.check("leaky", "residency.control-plane-scan").status == "fail")
        #expect(leaked.check("leaky", "residency.control-plane-scan").observed.contains("feature 'merchant'"))

        // An API key that expires within 14 days is named.
        #expect(try call("POST", config, config.controlPlane.port, "/v1/service-accounts/fraud-scorer/api-keys?ttl_seconds=86400", key: admin).0 == 201)
        let expiring = try health(["leaky"])
        #expect(expiring.check("leaky", "keys.expiry").status == "warn")
        #expect(expiring.check("leaky", "keys.expiry").observed.contains("1 expire soon (of 3 live API keys and 4 certificates)"))
    }

    @Test func fleetWithoutRuntimeIsUnknownAndBadArgumentsAreRefused() throws {
        let bare = temporaryDirectory("health-bare")
        #expect(try vpt(["init", "--no-runtime"], home: bare).status == 0)
        #expect(try vpt(["provision", "tenant", "acme-eu", "-f", examplePath("acme-eu.yaml")], home: bare).status == 0)
        let result = try vpt(["health", "acme-eu", "--output", "json"], home: bare)
        #expect(result.status == 3)
        #expect(result.stdout.contains("\"status\" : \"unknown\""))
        #expect(try vpt(["health"], home: bare).status == 64)
        #expect(try vpt(["health", "acme-eu", "--all"], home: bare).status == 64)
        #expect(try vpt(["health", "nobody"], home: bare).status == 1)
    }
}
