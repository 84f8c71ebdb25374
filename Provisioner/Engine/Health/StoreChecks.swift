import Foundation
import VPTContract
import VPTLocalCloud
import VPTOnlineStore
import X509

/// The tenant's online store, opened the way its data plane opens it, and the disk its stores use.
enum StoreChecks {
    static let all = [online, disk]

    /// A read-only session from the cross-account role, with the data plane's credential.
    static func session(_ config: RuntimeConfig) throws -> (SessionCredential, LocalSTS) {
        let sts = LocalSTS(iam: LocalIAM(accountsRoot: URL(fileURLWithPath: config.accountsRoot)))
        guard let caller = try SecureFiles.readJSON(AccessKeyCredential.self, from: URL(fileURLWithPath: config.crossAccount.callerCredentialFile)) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: config.crossAccount.callerCredentialFile])
        }
        let session = try sts.assumeRole(
            roleArn: config.crossAccount.roleArn, externalId: config.crossAccount.externalId, sessionName: "\(config.tenant)-health",
            durationSeconds: LocalSTS.minimumSessionSeconds, caller: caller)
        return (session, sts)
    }

    /// Up to `limit` stored values, read with the tenant's own credential. The SQLite file must
    /// exist already: opening a missing one would create it and hide its loss. Redis samples from the
    /// tenant's sample set (its ACL user may not list keys).
    static func sample(_ config: RuntimeConfig, limit: Int) throws -> [StoredFeatures] {
        try sampleAndCertificate(config, limit: limit).rows
    }

    /// `sample`, and when the store's TLS server certificate stops being valid (nil for a store
    /// without TLS).
    static func sampleAndCertificate(_ config: RuntimeConfig, limit: Int) throws -> (rows: [StoredFeatures], certificateExpiry: Date?) {
        let (session, sts) = try session(config)
        switch config.onlineStore.kind {
        case "sqlite":
            guard FileManager.default.fileExists(atPath: config.onlineStore.location) else { throw StoreProblem.missing(config.onlineStore.location) }
            let store = try SQLiteOnlineStore(config: config.onlineStore, allowedRegions: config.allowedRegions, session: session, sts: sts, write: false)
            return (try store.sample(limit: limit), nil)
        case "redis":
            let store = try RedisOnlineStore(config: config.onlineStore, allowedRegions: config.allowedRegions, session: session, sts: sts, write: false)
            return (try store.sample(limit: limit), try store.serverCertificateExpiry())
        default:
            throw OnlineStoreError.unsupported(config.onlineStore.kind)
        }
    }

    enum StoreProblem: Error, CustomStringConvertible {
        case missing(String)
        var description: String {
            switch self {
            case .missing(let path): "the store file \(path) does not exist"
            }
        }
    }

    static let online = HealthCheck(
        id: "store.online", title: "Online store reachable with the tenant's credential",
        threshold: "a session from the cross-account role opens the store and reads from it", onTimeout: .fail,
        remedyOnTimeout: "the online store did not answer in time (is redis-server up?)"
    ) { probe in
        guard let config = probe.config else {
            return probe.configMissing
        }
        let began = Date()
        do {
            let (rows, expiry) = try sampleAndCertificate(config, limit: 1)
            let ms = String(format: "%.1f", Date().timeIntervalSince(began) * 1000)
            let observed = "\(config.onlineStore.kind) store in \(config.onlineStore.region) opened and read (\(rows.count) sampled) in \(ms) ms"
            return certificateVerdict(observed: observed, expiry: expiry, clientExpiry: try clientCertificateExpiry(config.onlineStore), now: Date())
        } catch let problem as StoreProblem where !probe.runtimeEnabled {
            return Verdict(status: .unknown, observed: "\(problem): the data plane creates it when it first starts, and this fleet's runtime is off",
                           remedy: "nothing to do on a configuration-only fleet")
        } catch let problem as StoreProblem {
            return Verdict(status: .fail, observed: "\(problem)", remedy: "restore the file from backup, or re-run `vpt provision tenant \(probe.name)` to create an empty store")
        } catch {
            return Verdict(
                status: .fail, observed: "\(config.onlineStore.kind) store: \(error)",
                remedy: config.onlineStore.kind == "redis" ? "start the Redis server (infra/redis.sh) and check the endpoint" : "check the store file's owner and mode, and the cross-account role")
        }
    }

    /// A store reached over TLS warns before its server's certificate, or the tenant's client
    /// certificate, expires: after that, every new connection fails and the tenant stops serving.
    /// Both are the customer's to renew.
    static func certificateVerdict(observed: String, expiry: Date?, clientExpiry: Date? = nil, now: Date) -> Verdict {
        guard let expiry else { return .ok(observed) }
        var text = observed + " over TLS"
        var remedies: [String] = []
        for (whose, date, remedy) in [
            ("the server's certificate", Optional(expiry), "have the customer renew the Redis server's certificate (under a CA the store's caFile holds) before it expires"),
            ("the tenant's client certificate", clientExpiry, "have the customer issue the tenant a new client certificate and key before it expires, written over the files clientCertFile and clientKeyFile name; then `vpt keys rotate TENANT --credentials` makes the data plane present them"),
        ] {
            guard let date else { continue }
            let days = date.timeIntervalSince(now) / 86_400
            if days >= KeyChecks.expiryWarnDays {
                text += String(format: "; \(whose) is valid for %.0f more days", days)
            } else {
                text += days <= 0 ? "; \(whose) has expired" : String(format: "; \(whose) expires in %.1f days", days)
                remedies.append(remedy)
            }
        }
        return remedies.isEmpty ? .ok(text) : Verdict(status: .warn, observed: text, remedy: remedies.joined(separator: "; "))
    }

    /// When the tenant's Redis client certificate (the leaf in `clientCertFile`) stops being valid;
    /// nil when the store names none.
    static func clientCertificateExpiry(_ store: StoreConfig) throws -> Date? {
        guard let file = store.clientCertFile else { return nil }
        let text = try String(contentsOfFile: file, encoding: .utf8)
        guard let end = text.range(of: "-----END CERTIFICATE-----") else { throw CertificateFileProblem.noCertificate(file) }
        return try Certificate(pemEncoded: String(text[..<end.upperBound])).notValidAfter
    }

    enum CertificateFileProblem: Error, CustomStringConvertible {
        case noCertificate(String)
        var description: String {
            switch self {
            case .noCertificate(let file): "the client certificate file \(file) holds no PEM certificate"
            }
        }
    }

    static let freeWarn = 0.10
    static let freeFail = 0.03

    static let disk = HealthCheck(
        id: "store.disk", title: "Disk use of the tenant's stores",
        threshold: "the filesystem keeps ≥ \(Int(freeWarn * 100))% free (fail below \(Int(freeFail * 100))%)", onTimeout: .unknown,
        remedyOnTimeout: "measuring the store folders took too long"
    ) { probe in
        guard let config = probe.config else {
            return probe.configMissing
        }
        var parts: [String] = []
        if config.onlineStore.kind == "sqlite" {
            parts.append("online \(bytes(size(URL(fileURLWithPath: config.onlineStore.location).deletingLastPathComponent())))")
        } else {
            parts.append("online: \(config.onlineStore.kind), not on this disk")
        }
        parts.append("offline \(bytes(size(URL(fileURLWithPath: config.offlineStore.location))))")
        parts.append("control plane \(bytes(size(URL(fileURLWithPath: config.controlPlane.dataDirectory))))")
        var stats = statvfs()
        guard statvfs(probe.paths.home.path, &stats) == 0, stats.f_blocks > 0 else {
            return Verdict(status: .unknown, observed: parts.joined(separator: ", ") + "; free space unknown", remedy: "check the fleet's filesystem")
        }
        let free = Double(stats.f_bavail) / Double(stats.f_blocks)
        let observed = parts.joined(separator: ", ") + String(format: "; %.0f%% of the disk free", free * 100)
        if free < freeFail { return Verdict(status: .fail, observed: observed, remedy: "free disk space now: writes will fail") }
        if free < freeWarn { return Verdict(status: .warn, observed: observed, remedy: "free disk space or move the fleet home to a larger disk") }
        return .ok(observed)
    }

    /// Bytes under a folder (or of a file).
    static func size(_ url: URL) -> Int64 {
        var total: Int64 = 0
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return 0 }
        guard isDirectory.boolValue else { return (try? fm.attributesOfItem(atPath: url.path)[.size] as? Int64) ?? 0 }
        let walker = fm.enumerator(at: url, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])
        while let item = walker?.nextObject() as? URL {
            let values = try? item.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey])
            if values?.isRegularFile == true { total += Int64(values?.fileSize ?? 0) }
        }
        return total
    }

    static func bytes(_ n: Int64) -> String {
        ByteCountFormatter.string(fromByteCount: n, countStyle: .binary)
    }
}
