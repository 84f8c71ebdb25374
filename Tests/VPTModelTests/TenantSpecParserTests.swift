import Foundation
import Testing

import VPTContract
@testable import VPTModel
import VPTTestSupport

func example(_ name: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("examples/\(name)"), encoding: .utf8)
}

func issues(_ yaml: String, fleet: FleetContext = .empty) -> [SpecIssue] {
    do {
        _ = try TenantSpecParser.parse(yaml: yaml, fleet: fleet)
        return []
    } catch { return error.issues }
}

@Suite struct TenantSpecParserTests {
    @Test func minimalEUExampleParsesWithDefaults() throws {
        let spec = try TenantSpecParser.parse(yaml: try example("acme-eu.yaml"))
        #expect(spec.name == "acme-eu")
        #expect(spec.vendorAccount.vpc.cidr == "auto")
        #expect(spec.vendorAccount.vpc.prefixLength == 16)
        #expect(spec.customerAccount.onlineStore == OnlineStoreSpec(kind: .sqlite, region: "eu-west-1"))
        #expect(spec.customerAccount.crossAccountRole.maxSessionSeconds == 3600)
        #expect(spec.encryption.cmk.managedBy == .vendor)
        #expect(spec.dataPlane.rift.region == "eu-west-1")
        #expect(spec.principals == [PrincipalSpec(serviceAccount: "fraud-scorer", workspace: "prod", role: .consumer)])
    }

    @Test func usExampleWithCustomerKeyParses() throws {
        let spec = try TenantSpecParser.parse(yaml: try example("globex-us.yaml"))
        #expect(spec.encryption.cmk == CMKSpec(managedBy: .customer, keyRef: "alias/globex-feature-platform", rotationDays: 180))
        #expect(spec.vendorAccount.vpc.explicitBlock?.description == "10.42.0.0/20")
        #expect(spec.customerAccount.onlineStore.kind == .redis)
        #expect(spec.customerAccount.computeProviders.map(\.region) == ["us-west-2"])
        #expect(spec.labels == ["tier": "enterprise"])
    }

    /// One shipped invalid example per rule, with the field it must name and the rule it must state.
    @Test(arguments: [
        ("name-too-long", "name", "at most 21 characters"),
        ("name-not-dns-label", "name", "must be a DNS label"),
        ("cidr-syntax", "vendorAccount.vpc.cidr", "must be 'auto' or an IPv4 CIDR block"),
        ("cidr-prefix-too-large", "vendorAccount.vpc.cidr", "from /16 to /28"),
        ("cidr-prefix-too-small", "vendorAccount.vpc.cidr", "from /16 to /28"),
        ("residency-online-store", "customerAccount.onlineStore.region", "is outside residency.allowedRegions"),
        ("residency-vendor-region", "vendorAccount.region", "is outside residency.allowedRegions"),
        ("cache-max-age", "dataPlane.servingCache.maxAgeSeconds", "between 1 and 86400"),
        ("rotation-days", "encryption.cmk.rotationDays", "between 90 and 2560"),
        ("max-session", "customerAccount.crossAccountRole.maxSessionSeconds", "between 900 and 43200"),
        ("unknown-key", "customerAccount.residancy", "is not a known field; did you mean 'residency'?"),
        ("customer-cmk-without-keyref", "encryption.cmk.keyRef", "is required when managedBy is 'customer'"),
    ])
    func invalidExampleNamesFieldAndRule(file: String, path: String, rule: String) throws {
        let found = issues(try example("invalid/\(file).yaml"))
        #expect(found.contains { $0.path == path && $0.rule.contains(rule) }, "got \(found)")
    }

    @Test func residencyMessageMatchesTheDocumentedForm() throws {
        let found = issues(try example("invalid/residency-online-store.yaml"))
        #expect(
            found.map(\.description) == [
                "customerAccount.onlineStore.region: 'us-east-1' is outside residency.allowedRegions [eu-west-1, eu-central-1]"
            ])
    }

    @Test func cidrOverlapWithAnotherTenantIsRefused() throws {
        let globex = try CIDRBlock.parse("10.42.0.0/20").get()
        let fleet = FleetContext(allocations: ["globex-us": globex])
        let found = issues(try example("invalid/cidr-overlap.yaml"), fleet: fleet)
        #expect(found.map(\.description) == [
            "vendorAccount.vpc.cidr: '10.42.8.0/21' overlaps the VPC of tenant 'globex-us' (10.42.0.0/20)"
        ])
        // The tenant's own allocation is not an overlap.
        #expect(issues(try example("globex-us.yaml"), fleet: FleetContext(allocations: ["globex-us": globex])).isEmpty)
    }

    @Test func everyViolationIsReportedAtOnce() {
        let yaml = """
            apiVersion: vpt/v2
            kind: Tenant
            name: Bad_Name
            vendorAccount: {region: mars-1, vpc: {cidr: 10.0.0.1/16}}
            customerAccount:
              accountId: "12"
              region: eu-west-1
              residency: {allowedRegions: [eu-west-1]}
              crossAccountRole: {maxSessionSeconds: lots}
            encryption: {cmk: {managedBy: nobody, rotationDays: 5000}}
            principals: [{serviceAccount: a, workspace: prod, role: god}]
            """
        let paths = Set(issues(yaml).map(\.path))
        #expect(
            paths == [
                "apiVersion", "name", "vendorAccount.region", "vendorAccount.vpc.cidr", "customerAccount.accountId",
                "customerAccount.crossAccountRole.maxSessionSeconds", "encryption.cmk.managedBy",
                "encryption.cmk.rotationDays", "principals[0].role",
            ])
    }

    @Test func hostBitsAreRefusedWithTheNetworkAddress() {
        let found = issues(
            """
            apiVersion: vpt/v1
            kind: Tenant
            name: acme
            vendorAccount: {region: eu-west-1, vpc: {cidr: 10.0.0.1/16}}
            customerAccount: {accountId: "210987654321", region: eu-west-1, residency: {allowedRegions: [eu-west-1]}}
            """)
        #expect(found.map(\.description) == ["vendorAccount.vpc.cidr: '10.0.0.1/16' has host bits set; the network address is 10.0.0.0/16"])
    }

    @Test func unknownKeyNamesLineAndColumn() throws {
        let issue = try #require(issues(try example("invalid/unknown-key.yaml")).first { $0.path == "customerAccount.residancy" })
        #expect(issue.line == 11)
        #expect(issue.column == 3)
    }

    @Test func malformedYAMLNamesLineAndColumn() throws {
        let found = issues(try example("invalid/malformed-yaml.yaml"))
        #expect(found.count == 1)
        #expect(found[0].rule.hasPrefix("malformed YAML"))
        #expect(found[0].line == 7)
        #expect(found[0].column != nil)
    }

    @Test func missingSectionsAreRequired() {
        let found = issues("apiVersion: vpt/v1\nkind: Tenant\nname: acme\n")
        #expect(Set(found.map(\.path)).isSuperset(of: ["vendorAccount", "customerAccount"]))
        #expect(found.allSatisfy { $0.rule == "is required" })
    }

    @Test func typesAreChecked() {
        let found = issues(
            """
            apiVersion: vpt/v1
            kind: Tenant
            name: acme
            vendorAccount: {region: eu-west-1}
            customerAccount: {accountId: "210987654321", region: eu-west-1, residency: {allowedRegions: eu-west-1}}
            dataPlane: {servingCache: {enabled: maybe}}
            """)
        #expect(found.contains { $0.path == "customerAccount.residency.allowedRegions" && $0.rule == "must be a list" })
        #expect(found.contains { $0.path == "dataPlane.servingCache.enabled" && $0.rule == "must be true or false" })
    }

    @Test func redisNeedsAnEndpointAndDynamoNeedsAWS() {
        let found = issues(
            """
            apiVersion: vpt/v1
            kind: Tenant
            name: acme
            vendorAccount: {region: eu-west-1}
            customerAccount:
              accountId: "210987654321"
              region: eu-west-1
              residency: {allowedRegions: [eu-west-1]}
              onlineStore: {kind: redis}
            principals:
              - {serviceAccount: a, workspace: prod, role: viewer}
              - {serviceAccount: a, workspace: prod, role: owner}
            """)
        #expect(found.contains { $0.path == "customerAccount.onlineStore.endpoint" })
        #expect(found.contains { $0.path == "customerAccount.onlineStore.passwordFile" && $0.rule.contains("is required for a redis online store") })
        #expect(found.contains { $0.path == "principals[1].serviceAccount" && $0.rule.contains("already has a role") })
    }

    /// The Redis login: a user in the URL, the password only in a file; a password typed into the URL
    /// is refused without being echoed, and a sqlite store takes no password file.
    @Test func redisPasswordsLiveInAFileNeverInTheSpec() throws {
        let base = try example("globex-us.yaml")
        #expect(try TenantSpecParser.parse(yaml: base).customerAccount.onlineStore.passwordFile == "/etc/vpt/globex-us/redis.password")
        let inline = issues(base.replacingOccurrences(of: "redis://globex-us@", with: "redis://globex-us:hunter2secret@"))
        #expect(inline.map(\.path) == ["customerAccount.onlineStore.endpoint"])
        #expect(inline.first?.rule.contains("must not carry a password") == true)
        #expect(!inline.map(\.description).joined().contains("hunter2secret"))
        let relative = issues(base.replacingOccurrences(of: "passwordFile: /etc/vpt/", with: "passwordFile: etc/vpt/"))
        #expect(relative.map(\.path) == ["customerAccount.onlineStore.passwordFile"])
        let sqlite = issues(try example("acme-eu.yaml") + "\n")
        #expect(sqlite.isEmpty)
        let withPassword = issues(
            try example("acme-eu.yaml").replacingOccurrences(of: "customerAccount:\n", with: "customerAccount:\n  onlineStore: {kind: sqlite, region: eu-west-1, passwordFile: /etc/p}\n"))
        #expect(withPassword.contains { $0.path == "customerAccount.onlineStore.passwordFile" && $0.rule == "is only used by a redis online store; remove it" })
    }

    /// TLS: rediss:// with a DNS name, and a caFile (absolute) that only a TLS endpoint may name.
    @Test func redisOverTLSNamesItsServerAndItsCA() throws {
        let base = try example("globex-us.yaml")
        let password = "passwordFile: /etc/vpt/globex-us/redis.password"
        let tls = base.replacingOccurrences(of: "redis://globex-us@127.0.0.1:6379", with: "rediss://globex-us@cache.example.internal:6380")
        #expect(issues(tls).isEmpty)
        let withCA = tls.replacingOccurrences(of: password, with: password + "\n    caFile: /etc/vpt/globex-us/redis-ca.pem")
        #expect(issues(withCA).isEmpty)
        #expect(try TenantSpecParser.parse(yaml: withCA).customerAccount.onlineStore.caFile == "/etc/vpt/globex-us/redis-ca.pem")

        let byAddress = issues(base.replacingOccurrences(of: "redis://globex-us@", with: "rediss://globex-us@"))
        #expect(byAddress.map(\.path) == ["customerAccount.onlineStore.endpoint"])
        #expect(byAddress.first?.rule.contains("by the DNS name in its TLS certificate, not by an IP address") == true)
        let relative = issues(withCA.replacingOccurrences(of: "caFile: /etc/", with: "caFile: etc/"))
        #expect(relative.map(\.path) == ["customerAccount.onlineStore.caFile"])
        #expect(relative.first?.rule.contains("absolute path of a PEM file") == true)
        let plain = issues(base.replacingOccurrences(of: password, with: password + "\n    caFile: /etc/ca.pem"))
        #expect(plain.map(\.path) == ["customerAccount.onlineStore.caFile"])
        #expect(plain.first?.rule == "is only used with a rediss:// (TLS) endpoint; remove it or use rediss://")
        let sqlite = issues(
            try example("acme-eu.yaml").replacingOccurrences(of: "customerAccount:\n", with: "customerAccount:\n  onlineStore: {kind: sqlite, region: eu-west-1, caFile: /etc/ca.pem}\n"))
        #expect(sqlite.contains { $0.path == "customerAccount.onlineStore.caFile" && $0.rule == "is only used by a redis online store; remove it" })
        let other = issues(base.replacingOccurrences(of: "redis://globex-us@", with: "http://globex-us@"))
        #expect(other.first?.rule.contains("as redis://[USER@]HOST:PORT[/DB], or rediss:// for TLS") == true)
    }

    /// A client certificate for a Redis server that verifies its clients: both files, absolute,
    /// only over rediss://, only for a redis store.
    @Test func redisClientCertificateNeedsItsKeyAndTLS() throws {
        let base = try example("globex-us.yaml")
        let password = "passwordFile: /etc/vpt/globex-us/redis.password"
        let tls = base.replacingOccurrences(of: "redis://globex-us@127.0.0.1:6379", with: "rediss://globex-us@cache.example.internal:6380")
        let pair = "\n    clientCertFile: /etc/vpt/globex-us/client.pem\n    clientKeyFile: /etc/vpt/globex-us/client-key.pem"
        let both = tls.replacingOccurrences(of: password, with: password + pair)
        #expect(issues(both).isEmpty)
        let online = try TenantSpecParser.parse(yaml: both).customerAccount.onlineStore
        #expect(online.clientCertFile == "/etc/vpt/globex-us/client.pem" && online.clientKeyFile == "/etc/vpt/globex-us/client-key.pem")

        let certOnly = issues(tls.replacingOccurrences(of: password, with: password + "\n    clientCertFile: /etc/vpt/globex-us/client.pem"))
        #expect(certOnly.map(\.path) == ["customerAccount.onlineStore.clientCertFile"])
        #expect(certOnly.first?.rule == "needs onlineStore.clientKeyFile too: a client certificate goes with its key")
        let keyOnly = issues(tls.replacingOccurrences(of: password, with: password + "\n    clientKeyFile: /etc/vpt/globex-us/client-key.pem"))
        #expect(keyOnly.map(\.path) == ["customerAccount.onlineStore.clientKeyFile"])
        let relative = issues(both.replacingOccurrences(of: "clientKeyFile: /etc/", with: "clientKeyFile: etc/"))
        #expect(relative.map(\.path) == ["customerAccount.onlineStore.clientKeyFile"])
        #expect(relative.first?.rule.contains("absolute path of the client certificate's private key") == true)
        let plain = issues(base.replacingOccurrences(of: password, with: password + pair))
        #expect(plain.map(\.path) == ["customerAccount.onlineStore.clientCertFile", "customerAccount.onlineStore.clientKeyFile"])
        #expect(plain.allSatisfy { $0.rule == "is only used with a rediss:// (TLS) endpoint; remove it or use rediss://" })
        let sqlite = issues(
            try example("acme-eu.yaml").replacingOccurrences(
                of: "customerAccount:\n", with: "customerAccount:\n  onlineStore: {kind: sqlite, region: eu-west-1, clientCertFile: /c.pem, clientKeyFile: /k.pem}\n"))
        #expect(sqlite.filter { $0.rule == "is only used by a redis online store; remove it" }.map(\.path)
            == ["customerAccount.onlineStore.clientCertFile", "customerAccount.onlineStore.clientKeyFile"])
    }

    @Test func riftSettingsParseAreRangeCheckedAndDefaultInOlderState() throws {
        let base = try example("acme-eu.yaml")
        let tuned = try TenantSpecParser.parse(yaml: base + "\ndataPlane:\n  rift: {enabled: true, maxAttempts: 5, jobHistoryDays: 90}\n")
        #expect(tuned.dataPlane.rift == RiftSpec(enabled: true, region: "eu-west-1", maxAttempts: 5, jobHistoryDays: 90))
        for days in [0, 3651] {
            let found = issues(base + "\ndataPlane:\n  rift: {jobHistoryDays: \(days)}\n")
            #expect(found.count == 1 && found[0].path == "dataPlane.rift.jobHistoryDays" && found[0].rule == "must be between 1 and 3650 days", "got \(found)")
        }
        // A spec recorded in the fleet state before the scheduler settings existed.
        let recorded = try JSONDecoder().decode(RiftSpec.self, from: Data(#"{"enabled": true, "region": "eu-west-1"}"#.utf8))
        #expect(recorded == RiftSpec(enabled: true, region: "eu-west-1"))
        #expect(recorded.jobHistoryDays == 30 && recorded.maxAttempts == 3)
    }

    @Test func aServingRateLimitParsesDefaultsItsBurstAndNamesEachMistake() throws {
        let base = try example("acme-eu.yaml")
        #expect(try TenantSpecParser.parse(yaml: base).dataPlane.rateLimit == nil, "no limit unless the spec sets one")
        let set = try TenantSpecParser.parse(yaml: base + "\ndataPlane:\n  rateLimit: {requestsPerSecond: 200}\n")
        #expect(set.dataPlane.rateLimit == RateLimit(requestsPerSecond: 200, burst: 200))
        let bursty = try TenantSpecParser.parse(yaml: base + "\ndataPlane:\n  rateLimit: {requestsPerSecond: 50, burst: 500}\n")
        #expect(bursty.dataPlane.rateLimit == RateLimit(requestsPerSecond: 50, burst: 500))
        let cases: [(String, String, String)] = [
            ("{burst: 10}", "dataPlane.rateLimit.requestsPerSecond", "is required when dataPlane.rateLimit is set"),
            ("{requestsPerSecond: 0}", "dataPlane.rateLimit.requestsPerSecond", "must be between 1 and 1000000 requests per second"),
            ("{requestsPerSecond: 10, burst: 0}", "dataPlane.rateLimit.burst", "must be between 1 and 1000000 requests"),
            ("{requestsPerSecond: fast}", "dataPlane.rateLimit.requestsPerSecond", "must be a whole number"),
            ("{requestsPerSecond: 10, burts: 5}", "dataPlane.rateLimit.burts", "did you mean 'burst'?"),
        ]
        for (value, path, rule) in cases {
            let found = issues(base + "\ndataPlane:\n  rateLimit: \(value)\n")
            #expect(found.count == 1 && found[0].path == path && found[0].rule.contains(rule), "\(value): got \(found)")
        }
    }

    @Test func eventLoopsAndMaxConnectionsAreOptionalAndBounded() throws {
        let base = try example("acme-eu.yaml")
        let plain = try TenantSpecParser.parse(yaml: base).dataPlane
        #expect(plain.eventLoops == nil && plain.maxConnections == nil, "the runtime's defaults unless the spec says otherwise")
        let set = try TenantSpecParser.parse(yaml: base + "\ndataPlane:\n  eventLoops: 1\n  maxConnections: 2000\n").dataPlane
        #expect(set.eventLoops == 1 && set.maxConnections == 2000)
        let cases: [(String, String, String)] = [
            ("eventLoops", "0", "must be between 1 and 64 threads"), ("eventLoops", "65", "must be between 1 and 64 threads"),
            ("eventLoops", "two", "must be a whole number"), ("maxConnections", "0", "must be between 1 and 1000000 connections"),
            ("maxConnections", "1000001", "must be between 1 and 1000000 connections"),
        ]
        for (field, value, rule) in cases {
            let found = issues(base + "\ndataPlane:\n  \(field): \(value)\n")
            #expect(found.count == 1 && found[0].path == "dataPlane.\(field)" && found[0].rule.contains(rule), "\(field) \(value): got \(found)")
        }
    }

    @Test func roleOrderingFollowsInclusion() {
        #expect(WorkspaceRole.owner > .editor)
        #expect(WorkspaceRole.consumer > .viewer)
        #expect(WorkspaceRole.operator >= .consumer)
    }
}
