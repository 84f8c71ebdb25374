import Foundation
import Testing
import VPTEngine
import VPTTestSupport

/// The documented exit codes, through the real binary.
@Suite(.offCooperativePool) struct ExitCodeTests {
    let home = temporaryDirectory()

    @Test func invalidSpecExits65NamesTheFieldAndWritesNothing() throws {
        let result = try vpt(["tenant", "validate", "-f", examplePath("invalid/residency-online-store.yaml")], home: home)
        #expect(result.status == 65)
        #expect(result.stderr.contains("customerAccount.onlineStore.region: 'us-east-1' is outside residency.allowedRegions [eu-west-1, eu-central-1]"))
        let json = try vpt(["tenant", "validate", "-f", examplePath("invalid/unknown-key.yaml"), "--output", "json"], home: home)
        #expect(json.status == 65)
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let issues = report?["issues"] as? [[String: Any]] ?? []
        #expect(issues.contains { $0["path"] as? String == "customerAccount.residancy" && $0["line"] as? Int == 11 })
        // Provisioning an invalid spec changes nothing either.
        try vpt(["init", "--no-runtime"], home: home)
        let before = try FileManager.default.subpathsOfDirectory(atPath: home.path).sorted()
        let provision = try vpt(["provision", "tenant", "acme", "-f", examplePath("invalid/max-session.yaml")], home: home)
        #expect(provision.status == 65)
        #expect(provision.stderr.contains("customerAccount.crossAccountRole.maxSessionSeconds: '60' must be between 900 and 43200 seconds"))
        #expect(try FileManager.default.subpathsOfDirectory(atPath: home.path).sorted() == before)
    }

    @Test func malformedYAMLNamesLineAndColumn() throws {
        let result = try vpt(["tenant", "validate", "-f", examplePath("invalid/malformed-yaml.yaml")], home: home)
        #expect(result.status == 65)
        #expect(result.stderr.contains("malformed YAML"))
        #expect(result.stderr.contains("(line 7, column"))
    }

    @Test func usageErrorsExit64() throws {
        #expect(try vpt(["provision", "tenant"], home: home).status == 64)
        #expect(try vpt(["plan", "tenant", "x", "-f", "y", "--output", "xml"], home: home).status == 64)
        #expect(try vpt(["provision", "tenant", "x", "-f", "y", "--parallelism", "0"], home: home).status == 64)
    }

    @Test func commandsBeforeInitSaySo() throws {
        let result = try vpt(["tenant", "list"], home: home)
        #expect(result.status == 1)
        #expect(result.stderr.contains("run `vpt init` first"))
    }

    @Test func initTwiceChangesNothing() throws {
        #expect(try vpt(["init", "--no-runtime"], home: home).status == 0)
        let key = try Data(contentsOf: home.appendingPathComponent("kms/master.key"))
        let second = try vpt(["init", "--no-runtime", "--output", "json"], home: home)
        #expect(second.status == 0)
        #expect(second.stdout.contains("\"created\" : false"))
        #expect(try Data(contentsOf: home.appendingPathComponent("kms/master.key")) == key)
        let attributes = try FileManager.default.attributesOfItem(atPath: home.appendingPathComponent("kms/master.key").path)
        #expect(attributes[.posixPermissions] as? Int == 0o600)
        #expect(try vpt(["init", "--no-runtime", "--cidr-pool", "172.16.0.0/12"], home: home).status == 65)
    }

    /// A port range inside this machine's ephemeral ports is accepted with a warning on stderr
    /// (and in the JSON report); the default range gets none.
    @Test func initWarnsAboutTenantPortsOutgoingConnectionsCanTake() throws {
        let machine = try #require(EphemeralPorts.current(), "this test reads /proc/sys/net/ipv4 (Linux)")
        let inside = machine.range.lowerBound...(machine.range.lowerBound + 99)
        let expected = try #require(machine.warning(for: inside), "the first 100 ephemeral ports are reserved on this machine")
        let human = try vpt(["init", "--port-range", "\(inside.lowerBound)-\(inside.upperBound)"], home: home)
        #expect(human.status == 0)
        #expect(human.stderr.contains("warning: \(expected)"))
        let json = try vpt(["init", "--output", "json"], home: home)
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(report?["portRangeWarning"] as? String == expected)
        let clear = try vpt(["init"], home: temporaryDirectory())
        #expect(clear.status == 0)
        #expect(clear.stderr.contains("warning") == (machine.warning(for: 20000...29999) != nil))
    }

    @Test func planDetailedExitcodeFollowsTerraform() throws {
        try vpt(["init", "--no-runtime"], home: home)
        let args = ["plan", "tenant", "acme-eu", "-f", examplePath("acme-eu.yaml"), "--detailed-exitcode"]
        let pending = try vpt(args, home: home)
        #expect(pending.status == 2)
        #expect(pending.stdout.contains("+ vpc"))
        #expect(pending.stdout.contains("Plan: 16 to create, 0 to update, 0 to replace, 0 to delete."))
        #expect(try vpt(["provision", "tenant", "acme-eu", "-f", examplePath("acme-eu.yaml")], home: home).status == 0)
        let clean = try vpt(args, home: home)
        #expect(clean.status == 0)
        #expect(clean.stdout.contains("No changes."))
        let json = try vpt(args + ["--output", "json"], home: home)
        let plan = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((plan?["changes"] as? [Any])?.isEmpty == true)
    }

    @Test func nameMismatchIsAnInputError() throws {
        try vpt(["init", "--no-runtime"], home: home)
        let result = try vpt(["provision", "tenant", "other", "-f", examplePath("acme-eu.yaml")], home: home)
        #expect(result.status == 65)
        #expect(result.stderr.contains("the spec names tenant 'acme-eu' but the command names 'other'"))
    }

    @Test func listAndShowNeverPrintSecrets() throws {
        try vpt(["init", "--no-runtime"], home: home)
        let provision = try vpt(["provision", "tenant", "acme-eu", "-f", examplePath("acme-eu.yaml")], home: home)
        #expect(provision.stdout.contains("+   vpc"))
        #expect(provision.stdout.contains(" ms)"))
        let credential = try JSONSerialization.jsonObject(
            with: Data(contentsOf: home.appendingPathComponent("tenants/acme-eu/secrets/data-plane-credential.json"))) as? [String: String]
        let secret = try #require(credential?["secretAccessKey"])
        let masterKey = try Data(contentsOf: home.appendingPathComponent("kms/master.key")).base64EncodedString()
        var printed = provision.stdout + provision.stderr
        for args in [["tenant", "list"], ["tenant", "list", "-o", "json"], ["tenant", "show", "acme-eu"], ["tenant", "show", "acme-eu", "-o", "json"]] {
            let result = try vpt(args, home: home)
            #expect(result.status == 0)
            printed += result.stdout + result.stderr
        }
        #expect(printed.contains("acme-eu"))
        #expect(printed.contains("10.0.0.0/16"))
        #expect(!printed.contains(secret))
        #expect(!printed.contains(masterKey))
        // Nor does the state store.
        let state = try Data(contentsOf: home.appendingPathComponent("state.db"))
        #expect(state.range(of: Data(secret.utf8)) == nil)
        #expect(try vpt(["tenant", "show", "nobody"], home: home).status == 1)
    }
}
