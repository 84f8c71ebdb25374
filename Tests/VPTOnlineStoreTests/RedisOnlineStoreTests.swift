import Foundation

#if canImport(Glibc)
    import Glibc
#endif
import Testing
import VPTContract
import VPTEngine
import VPTLocalCloud

@testable import VPTOnlineStore
import VPTTestSupport

/// Against a real redis-server started by infra/redis.sh on a loopback port of its own.
@Suite struct RedisOnlineStoreTests {
    /// Starts redis-server, runs `body`, stops it.
    func withRedis(_ body: (LocalRedis) async throws -> Void) async throws {
        let redis = try LocalRedis.start()
        defer { redis.stop() }
        try await body(redis)
    }

    /// Tenants on `redis`, each logging in as its own ACL user.
    func provision(_ names: [String], redis: LocalRedis, label: String = #function) async throws -> [TenantFixture] {
        try await TenantFixture.provision(names, example: "globex-us", label: label) { yaml, tenant in
            try redis.point(yaml, at: tenant).replacingOccurrences(of: "    cidr: 10.42.0.0/20\n", with: "")
        }
    }

    /// A connection as the server's admin, to look at it from outside any tenant.
    func adminConnection(_ redis: LocalRedis) throws -> RedisConnection {
        let admin = StoreConfig(
            kind: "redis", account: "1", region: "r", location: "redis://admin@127.0.0.1:\(redis.port)/0", resource: "x", namespace: "",
            passwordFile: redis.directory.appendingPathComponent("admin.password").path)
        return try RedisConnection(endpoint: try RedisEndpoint(config: admin))
    }

    /// `config` opened with tenant `t`'s session.
    func open(_ config: StoreConfig, as t: TenantFixture, write: Bool = false) throws -> RedisOnlineStore {
        try RedisOnlineStore(config: config, allowedRegions: t.config.allowedRegions, session: t.session, sts: t.sts, write: write)
    }

    /// Why `config` does not open for `t` ("opened" when it does).
    func refusal(_ config: StoreConfig, as t: TenantFixture) -> String {
        do {
            _ = try open(config, as: t)
            return "opened"
        } catch { return "\(error)" }
    }

    func record(_ user: Int64, amount: Double, event: Int64, write: Int64) -> OnlineRecord {
        OnlineRecord(
            workspace: "prod", featureView: "user_txn", joinKeys: [("user_id", .int64(user))],
            features: [("amount", .float64(amount)), ("label", .string("x\u{0}y"))], eventTimeMicros: event, writeTimeMicros: write)
    }

    @Test func newestEventWinsAtomicallyInRedis() async throws {
        try await withRedis { redis in
            let t = try await provision(["globex"], redis: redis)[0]
            let store = try RedisOnlineStore(config: t.config.onlineStore, allowedRegions: t.config.allowedRegions, session: t.session, sts: t.sts, write: true)
            #expect(try store.write([record(1, amount: 1, event: -100, write: 1), record(2, amount: 9, event: 5, write: 5)]) == 2)
            #expect(try store.write([record(1, amount: 2, event: 200, write: 2)]) == 1)
            #expect(try store.serverCertificateExpiry() == nil)  // plain TCP
            #expect(try store.write([record(1, amount: 3, event: 150, write: 3)]) == 0)  // late
            #expect(try store.write([record(1, amount: 4, event: 200, write: 1)]) == 0)  // same event, older write
            #expect(try store.write([record(1, amount: 5, event: 200, write: 9)]) == 1)
            let got = try store.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)], [.int64(3)], [.int64(2)]])
            #expect(got[0]?.features.map(\.value) == [.float64(5), .string("x\u{0}y")])
            #expect(got[1] == nil)
            #expect(got[2]?.eventTimeMicros == 5)
            // Keys live under the tenant's namespace: the two records, and the sample set that audits
            // read (the tenant's own user cannot list keys).
            let raw = try adminConnection(redis)
            guard case .array(let keys?) = try raw.command([Array("KEYS".utf8), Array("*".utf8)]) else { throw CocoaError(.coderInvalidValue) }
            let names = keys.compactMap { if case .bulk(let k?) = $0 { return k } else { return nil } }
            #expect(names.count == 3)
            #expect(names.filter { $0.starts(with: Array("vpt:globex:prod:user_txn:".utf8)) }.count == 2)
            #expect(names.contains(Array("vpt:globex:#sample".utf8)))
            let sampled = try store.sample(limit: 10)
            #expect(sampled.map(\.eventTimeMicros).sorted() == [5, 200])
            #expect(try store.sample(limit: 1).count == 1)
        }
    }

    /// The serving path's pipelined reads: many concurrent reads answered right and in order, a
    /// failure when Redis goes away, and reads working again once it is back.
    @Test func pipelinedReadsUnderConcurrencyAndAcrossARedisRestart() async throws {
        let redis = try LocalRedis.start()
        defer { redis.stop() }
        let t = try await provision(["pipelined"], redis: redis)[0]
        let store = try RedisOnlineStore(config: t.config.onlineStore, allowedRegions: t.config.allowedRegions, session: t.session, sts: t.sts, write: true)
        _ = try store.write((1...300).map { record(Int64($0), amount: Double($0) / 4, event: 10, write: 1) })
        let answers = try await withThrowingTaskGroup(of: (Int, Double?).self) { group in
            for user in 1...400 {
                group.addTask {
                    let got = try await store.readEncoded(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(Int64(user))]])
                    guard case .float64(let amount)? = try got[0].map(StoredFeatures.init(encoded:))?.features.first?.value else { return (user, nil) }
                    return (user, amount)
                }
            }
            return try await group.reduce(into: [Int: Double?]()) { $0[$1.0] = .some($1.1) }
        }
        #expect(answers.count == 400)
        #expect((1...300).allSatisfy { answers[$0]! == Double($0) / 4 })
        #expect((301...400).allSatisfy { answers[$0]! == nil })

        redis.stop()
        await #expect(throws: (any Error).self) {
            try await store.readEncoded(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])
        }
        try redis.start()  // the ACL users survive the restart; the new connection logs in again
        var again: [[UInt8]?] = []
        for _ in 0..<20 {
            if let got = try? await store.readEncoded(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(2)]]) {
                again = got
                break
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let value = try #require(again.first ?? nil)
        #expect(try StoredFeatures(encoded: value).features.first?.value == .float64(0.5))
    }

    @Test func credentialsAndResidencyAreCheckedBeforeConnecting() async throws {
        try await withRedis { redis in
            let tenants = try await provision(["tenant-a", "tenant-b"], redis: redis)
            let (a, b) = (tenants[0], tenants[1])
            #expect(throws: OnlineStoreError.self) {
                try RedisOnlineStore(config: b.config.onlineStore, allowedRegions: b.config.allowedRegions, session: a.session, sts: a.sts, write: false)
            }
            var outside = a.config.onlineStore
            outside.region = "eu-west-1"
            #expect(throws: OnlineStoreError.outsideResidency(region: "eu-west-1", allowed: ["us-east-1", "us-west-2"])) {
                try RedisOnlineStore(config: outside, allowedRegions: a.config.allowedRegions, session: a.session, sts: a.sts, write: false)
            }
            _ = try RedisOnlineStore(config: b.config.onlineStore, allowedRegions: b.config.allowedRegions, session: b.session, sts: b.sts, write: false)
        }
    }

    @Test func concurrentWritersThroughThePoolKeepTheNewestEvent() async throws {
        try await withRedis { redis in
            let t = try await provision(["globex"], redis: redis)[0]
            let store = try RedisOnlineStore(config: t.config.onlineStore, allowedRegions: t.config.allowedRegions, session: t.session, sts: t.sts, write: true)
            let failures = LockedCounter()
            DispatchQueue.concurrentPerform(iterations: 16) { worker in
                for i in 0..<40 {
                    let event = Int64(i * 16 + worker)
                    do {
                        _ = try store.write([record(1, amount: Double(event), event: event, write: event)])
                        _ = try store.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])
                    } catch { failures.add() }
                }
            }
            #expect(failures.value == 0)
            let final = try store.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])[0]
            #expect(final?.eventTimeMicros == Int64(16 * 40 - 1))
            #expect(final?.features.first?.value == .float64(Double(16 * 40 - 1)))
        }
    }

    /// Redis itself keeps tenants apart on a shared server: a config pointed at another tenant's
    /// namespace (the session check passes; it names this tenant's own store) is refused by the ACL
    /// on the serving path, the write path and the pool, and the ACL user cannot list keys.
    @Test func aTenantsRedisUserReachesOnlyItsOwnKeys() async throws {
        try await withRedis { redis in
            let tenants = try await provision(["tenant-a", "tenant-b"], redis: redis)
            let (a, b) = (tenants[0], tenants[1])
            let bStore = try RedisOnlineStore(config: b.config.onlineStore, allowedRegions: b.config.allowedRegions, session: b.session, sts: b.sts, write: true)
            #expect(try bStore.write([record(1, amount: 7, event: 1, write: 1)]) == 1)

            var tampered = a.config.onlineStore
            tampered.namespace = b.config.onlineStore.namespace
            let aStore = try RedisOnlineStore(config: tampered, allowedRegions: a.config.allowedRegions, session: a.session, sts: a.sts, write: true)
            #expect(throws: RedisConnection.Failure.self) { try aStore.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]]) }
            await #expect(throws: RedisConnection.Failure.self) {
                try await aStore.readEncoded(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])
            }
            #expect(throws: RedisConnection.Failure.self) { try aStore.write([record(1, amount: 666, event: 99, write: 99)]) }
            #expect(try bStore.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])[0]?.features.first?.value == .float64(7))

            let raw = try RedisConnection(endpoint: try RedisEndpoint(config: a.config.onlineStore))  // logged in as tenant-a
            #expect(throws: RedisConnection.Failure.self) { try raw.command([Array("SCAN".utf8), Array("0".utf8)]) }
            #expect(throws: RedisConnection.Failure.self) { try raw.command([Array("KEYS".utf8), Array("*".utf8)]) }
        }
    }

    /// rediss://: the store writes, reads, serves and samples over TLS, and the server's certificate
    /// is checked: against the caFile, for the name dialled. Each refusal says what to change.
    @Test func overTLSTheServersCertificateIsChecked() async throws {
        let redis = try LocalRedis.start(tls: true)
        defer { redis.stop() }
        let t = try await provision(["secure"], redis: redis)[0]
        #expect(t.config.onlineStore.location.hasPrefix("rediss://secure@localhost:"))
        #expect(t.config.onlineStore.caFile == redis.caFile)
        func refusal(_ config: StoreConfig) -> String { self.refusal(config, as: t) }

        let store = try open(t.config.onlineStore, as: t, write: true)
        #expect(try store.write([record(1, amount: 2.5, event: 10, write: 1), record(2, amount: 4, event: 10, write: 1)]) == 2)
        #expect(try store.write([record(1, amount: 1, event: 5, write: 2)]) == 0)  // late, over TLS too
        #expect(try store.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])[0]?.features.first?.value == .float64(2.5))
        let served = try await store.readEncoded(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(2)], [.int64(3)]])
        #expect(try served[0].map(StoredFeatures.init(encoded:))?.features.first?.value == .float64(4))
        #expect(served[1] == nil)
        #expect(try store.sample(limit: 10).count == 2)
        // The server's certificate lasts 30 days (infra/redis.sh): audits read when it expires.
        let expiry = try #require(try store.serverCertificateExpiry())
        #expect(abs(expiry.timeIntervalSinceNow - 30 * 86_400) < 86_400, "\(expiry)")

        // The system's trust roots do not know this server's CA.
        var systemRoots = t.config.onlineStore
        systemRoots.caFile = nil
        let untrusted = refusal(systemRoots)
        #expect(untrusted.contains("the TLS handshake with localhost:\(redis.port) failed"), "\(untrusted)")
        #expect(untrusted.contains("check the server's certificate against the store's caFile"))
        // A CA that did not sign the server's certificate: the tenant's own CA from its TLS folder.
        var otherCA = t.config.onlineStore
        otherCA.caFile = try #require(t.config.tls?.caFile)
        #expect(refusal(otherCA).contains("the TLS handshake with localhost"))
        var notPEM = t.config.onlineStore
        notPEM.caFile = try #require(t.config.onlineStore.passwordFile)
        #expect(refusal(notPEM).contains("cannot be read as PEM certificates"))
        // The certificate names localhost; an IP address cannot be checked against it.
        var byAddress = t.config.onlineStore
        byAddress.location = byAddress.location.replacingOccurrences(of: "@localhost:", with: "@127.0.0.1:")
        #expect(refusal(byAddress).contains("not by the IP address 127.0.0.1"))
        // Plain TCP to the TLS port: the login goes unanswered; a caFile asks for TLS.
        var plain = t.config.onlineStore
        plain.location = plain.location.replacingOccurrences(of: "rediss://", with: "redis://")
        #expect(refusal(plain).contains("the redis caFile is only used with a rediss:// (TLS) endpoint"))
        plain.caFile = nil
        let unanswered = refusal(plain)
        #expect(unanswered.contains("closed the connection before the login was answered"), "\(unanswered)")
        #expect(unanswered.contains("does the server expect TLS (rediss://)?"))
        let password = try String(contentsOfFile: try #require(t.config.onlineStore.passwordFile), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(![untrusted, unanswered].contains { $0.contains(password) })
    }

    /// A server that verifies its clients (`tls-auth-clients yes`): the store presents the tenant's
    /// client certificate and works as over plain TLS; without a certificate the server drops the
    /// connection and the refusal says to name one; a key others can read, a key that is not the
    /// certificate's, or one file without the other is refused before any connection, naming the field.
    @Test func aServerThatVerifiesClientsGetsTheTenantsCertificate() async throws {
        let redis = try LocalRedis.start(verifyClients: true)
        defer { redis.stop() }
        let t = try await provision(["mutual"], redis: redis)[0]
        let client = redis.clientCertificate("mutual")
        #expect(t.config.onlineStore.clientCertFile == client.certFile && t.config.onlineStore.clientKeyFile == client.keyFile)
        func refusal(_ config: StoreConfig) -> String { self.refusal(config, as: t) }

        let store = try open(t.config.onlineStore, as: t, write: true)
        #expect(try store.write([record(1, amount: 2.5, event: 10, write: 1)]) == 1)
        let served = try await store.readEncoded(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])
        #expect(try served[0].map(StoredFeatures.init(encoded:))?.features.first?.value == .float64(2.5))

        var anonymous = t.config.onlineStore
        anonymous.clientCertFile = nil
        anonymous.clientKeyFile = nil
        let dropped = refusal(anonymous)
        #expect(dropped.contains("clientCertFile"), "\(dropped)")
        var keyOnly = t.config.onlineStore
        keyOnly.clientCertFile = nil
        #expect(refusal(keyOnly).contains("the redis clientCertFile and clientKeyFile go together"))
        // Another key: the tenant's own data-plane client key from its TLS folder.
        var otherKey = t.config.onlineStore
        let foreign = temporaryDirectory().appendingPathComponent("other-key.pem")
        try FileManager.default.copyItem(atPath: try #require(t.config.tls?.clientKeyFile), toPath: foreign.path)
        chmod(foreign.path, 0o600)
        otherKey.clientKeyFile = foreign.path
        #expect(refusal(otherKey).contains("is not the key of the certificate in \(client.certFile)"))
        chmod(client.keyFile, 0o644)
        defer { chmod(client.keyFile, 0o600) }
        let exposed = refusal(t.config.onlineStore)
        #expect(exposed == "the online store cannot be opened: the redis clientKeyFile \(client.keyFile) must be readable by its owner only (mode 0600); it is 644")
        let key = try String(contentsOfFile: client.keyFile, encoding: .utf8)
        #expect(![dropped, exposed].contains { $0.contains(key) })
        chmod(client.keyFile, 0o600)

        // A store opened again reads the files as they are now (what `keys rotate --credentials`
        // does after the customer renews them); one already open keeps the identity it loaded.
        // Shown with a pair from a CA the server does not trust, written over the tenant's files.
        let stranger = temporaryDirectory()
        _ = try commandOutput([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=stranger",
            "-keyout", stranger.appendingPathComponent("key.pem").path, "-out", stranger.appendingPathComponent("cert.pem").path,
        ])
        try Data(contentsOf: stranger.appendingPathComponent("cert.pem")).write(to: URL(fileURLWithPath: client.certFile))
        try Data(contentsOf: stranger.appendingPathComponent("key.pem")).write(to: URL(fileURLWithPath: client.keyFile))
        let reopened = refusal(t.config.onlineStore)
        #expect(reopened.contains("closed the connection before the login was answered"), "\(reopened)")
        #expect(try store.write([record(2, amount: 1, event: 10, write: 1)]) == 1)
    }

    /// A server moving to a certificate from a new CA (docs/keys.md): a store opened with only the
    /// old CA cannot reach it; one opened again (as `keys rotate --credentials` does) with both CAs
    /// in the caFile reads on, with no gap for a caFile that held both before the move.
    @Test func aServerMovesToANewCAWithBothInTheCAFile() async throws {
        let redis = try LocalRedis.start(tls: true)
        defer { redis.stop() }
        let t = try await provision(["moving"], redis: redis)[0]
        let folder = redis.directory.deletingLastPathComponent().appendingPathComponent("new-ca").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for step in [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "30", "-subj", "/CN=new CA",
             "-keyout", "\(folder)/ca-key.pem", "-out", "\(folder)/ca.pem"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "\(folder)/server-key.pem", "-out", "\(folder)/server.csr"],
            ["x509", "-req", "-in", "\(folder)/server.csr", "-CA", "\(folder)/ca.pem", "-CAkey", "\(folder)/ca-key.pem", "-CAcreateserial",
             "-days", "30", "-extfile", "\(folder)/ext", "-out", "\(folder)/server.pem"],
        ] {
            try "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n".write(toFile: "\(folder)/ext", atomically: true, encoding: .utf8)
            _ = try commandOutput(["openssl"] + step)
        }
        let old = "\(folder)/old.pem"
        try FileManager.default.copyItem(atPath: redis.caFile, toPath: old)
        let bundle = "\(folder)/both.pem"
        try (String(contentsOfFile: old, encoding: .utf8) + String(contentsOfFile: "\(folder)/ca.pem", encoding: .utf8))
            .write(toFile: bundle, atomically: true, encoding: .utf8)
        var both = t.config.onlineStore
        both.caFile = bundle
        // Both CAs in the file while the server still shows the old CA's certificate.
        let before = try open(both, as: t, write: true)
        #expect(try before.write([record(1, amount: 3, event: 1, write: 1)]) == 1)

        // The server moves to the new CA's certificate (its admin tools trust both CAs).
        redis.stop()
        for (name, source) in [("server.pem", "\(folder)/server.pem"), ("server-key.pem", "\(folder)/server-key.pem"), ("ca.pem", bundle)] {
            let target = redis.directory.appendingPathComponent("tls/\(name)").path
            try FileManager.default.removeItem(atPath: target)
            try FileManager.default.copyItem(atPath: source, toPath: target)
        }
        try redis.start()
        var oldOnly = t.config.onlineStore
        oldOnly.caFile = old
        #expect(refusal(oldOnly, as: t).contains("the TLS handshake with localhost"))
        // The store opened before the move reconnects (the restart closed its connections) and reads on;
        // so does one opened after it.
        let reopened = try open(both, as: t)
        for store in [before, reopened] {
            #expect(try store.read(workspace: "prod", featureView: "user_txn", entityKeys: [[.int64(1)]])[0]?.features.first?.value == .float64(3))
        }
    }

    /// A missing, wrong or loosely kept password is refused with a message that says what to change
    /// and never holds a password.
    @Test func theLoginIsCheckedAndItsFailuresNameTheFix() async throws {
        try await withRedis { redis in
            let tenants = try await provision(["tenant-a", "tenant-b"], redis: redis)
            let (a, b) = (tenants[0], tenants[1])
            func refusal(_ config: StoreConfig) -> String { self.refusal(config, as: a) }
            let passwords = try [a, b].map {
                try String(contentsOfFile: try #require($0.config.onlineStore.passwordFile), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            }

            var none = a.config.onlineStore
            none.passwordFile = nil
            #expect(refusal(none).contains("requires a login; set customerAccount.onlineStore.passwordFile"))

            var wrong = a.config.onlineStore
            wrong.passwordFile = b.config.onlineStore.passwordFile
            let wrongMessage = refusal(wrong)
            #expect(wrongMessage.contains("refused the user and password"))
            #expect(wrongMessage.contains("redis://tenant-a@127.0.0.1"))
            #expect(!passwords.contains { wrongMessage.contains($0) })

            let path = try #require(a.config.onlineStore.passwordFile)
            chmod(path, 0o640)
            #expect(refusal(a.config.onlineStore).contains("must be readable by its owner only (mode 0600); it is 640"))
            chmod(path, 0o600)

            var inline = a.config.onlineStore
            inline.location = inline.location.replacingOccurrences(of: "tenant-a@", with: "tenant-a:\(passwords[0])@")
            let inlineMessage = refusal(inline)
            #expect(inlineMessage.contains("must not carry a password"))
            #expect(!inlineMessage.contains(passwords[0]))
            _ = try open(a.config.onlineStore, as: a)
        }
    }
}
