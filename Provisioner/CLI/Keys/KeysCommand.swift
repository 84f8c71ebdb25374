import ArgumentParser
import Foundation
import VPTEngine
import VPTLocalCloud

/// `vpt keys`: a tenant's CMK and API keys.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Status, rotation, revocation and audit of a tenant's keys.",
        subcommands: [KeysStatusCommand.self, KeysRotateCommand.self, KeysRevokeCommand.self, KeysEnableCommand.self, KeysAuditCommand.self])
}

/// A duration such as `24h`, `30m`, `90s`, `7d` or plain seconds.
struct Duration: ExpressibleByArgument {
    var seconds: TimeInterval
    init?(argument: String) {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        if let unit = argument.last, let factor = units[unit], let value = Double(argument.dropLast()), value >= 0 {
            seconds = value * factor
        } else if let value = Double(argument), value >= 0 {
            seconds = value
        } else {
            return nil
        }
    }
}

struct KeysStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "CMK versions and data keys, API keys, credentials (never a secret).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String

    func run() async throws {
        let report: KeyStatusReport
        do {
            report = try KeyService(home: global.homeURL).status(tenant: name)
        } catch {
            throw Console.fail(error, format: global.output)
        }
        if global.output == .json { return Console.json(report) }
        let c = report.cmk
        Console.out("Tenant '\(report.tenant)'")
        Console.out("CMK \(c.arn) (\(c.managedBy)-managed, \(c.state))")
        Console.out("  age \(c.ageDays) days of \(c.rotationDays)\(c.rotationDue ? ": rotation due" : "")\(c.rotationInProgress ? "; a rotation was interrupted: re-run `vpt keys rotate \(report.tenant) --cmk`" : "")")
        let iso = ISO8601DateFormatter()
        Console.out(
            Console.table(
                ["  VERSION", "CREATED", "ENABLED", "PRIMARY", "DATA KEYS"],
                c.versions.map { ["  \($0.version)", iso.string(from: $0.createdAt), $0.enabled ? "yes" : "no", $0.primary ? "yes" : "", String($0.dataKeys)] }))
        Console.out("Data keys: \(report.dataKeys.count) for \(report.metadataRecords) metadata records")
        Console.out(
            Console.table(
                ["  DATA KEY", "CMK VERSION", "ACTIVE", "RECORDS"],
                report.dataKeys.map { ["  \($0.id)", String($0.cmkVersion), $0.active ? "yes" : "", String($0.records)] }))
        if let keys = report.apiKeys {
            Console.out("API keys: \(keys.count)")
            Console.out(
                Console.table(
                    ["  ID", "SERVICE ACCOUNT", "STATE", "CREATED", "EXPIRES", "LAST USED"],
                    keys.map { ["  \($0.id)", $0.serviceAccount, $0.state, $0.createdAt, $0.expiresAt ?? "never", $0.lastUsedAt ?? "-"] }))
        } else {
            Console.out("API keys: unknown (\(report.apiKeysProblem ?? "control plane not reachable"))")
        }
        for credential in report.credentials {
            Console.out("Credential: \(credential.name) \(credential.id), \(credential.ageDays.map { "\($0) days old" } ?? "age unknown"); \(credential.detail)")
        }
        Console.out(report.certificates.isEmpty ? "Certificates: none issued" : "Certificates:")
        for c in report.certificates {
            Console.out("  \(c.name)  serial \(c.serial)  expires \(iso.string(from: c.notValidAfter)) (in \(String(format: "%.0f", c.daysLeft)) days)")
        }
    }
}

struct KeysRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract:
            "Rotate a tenant's CMK (--cmk), every CMK that is due (--due), a service account's API key (--api-key), the cross-account credentials (--credentials) or the TLS certificates (--certs).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name (not with --due).") var name: String?
    @Flag(help: "Add a CMK version and re-wrap every data key under it.") var cmk = false
    @Flag(help: "With --cmk: also re-encrypt every metadata record under a new data key.") var reencrypt = false
    @Flag(help: "Rotate every tenant's CMK older than its rotationDays, and finish interrupted rotations (for cron).") var due = false
    @Option(name: .customLong("api-key"), help: "Service account whose API key to rotate.") var apiKey: String?
    @Flag(help: "Replace the data plane's access key and the cross-account external ID; the data plane switches without a failed request.")
    var credentials = false
    @Flag(help: "Reissue the planes' TLS certificates; servers present them on the next connection, none is dropped.") var certs = false
    @Option(help: "How long the old API keys keep working (24h, 30m, 90s, 7d).") var grace: Duration = Duration(argument: "24h")!

    func validate() throws {
        let modes = [cmk, due, apiKey != nil, credentials, certs].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("choose one of --cmk, --due, --api-key SERVICE_ACCOUNT, --credentials, --certs") }
        guard due == (name == nil) else { throw ValidationError(due ? "--due rotates every tenant: give no name" : "name the tenant") }
        guard !reencrypt || cmk else { throw ValidationError("--reencrypt goes with --cmk") }
    }

    func run() async throws {
        do {
            let keys = try KeyService(home: global.homeURL)
            if certs {
                let report = try keys.rotateCertificates(tenant: name!)
                if global.output == .json { return Console.json(report) }
                let iso = ISO8601DateFormatter()
                Console.out("Tenant '\(report.tenant)': certificates reissued in \(String(format: "%.2f", report.seconds)) s; new connections get them, open ones keep theirs.")
                for c in report.certificates { Console.out("  \(c.name)  serial \(c.serial)  valid until \(iso.string(from: c.notValidAfter))") }
                return
            }
            if credentials {
                let report = try keys.rotateCredentials(tenant: name!)
                if global.output == .json { return Console.json(report) }
                Console.out(
                    "Tenant '\(report.tenant)': data plane access key \(report.accessKeyId)\(report.externalIdRotated ? " and a new external ID" : "") in force; "
                        + "retired \(report.previousAccessKeyIds.joined(separator: ", "))"
                        + (report.dataPlaneSwitched ? "; the running data plane switched" : "; no data plane running (it uses them when started)")
                        + String(format: " in %.2f s", report.seconds))
                return
            }
            if let apiKey {
                let report = try keys.rotateAPIKey(tenant: name!, serviceAccount: apiKey, grace: grace.seconds)
                if global.output == .json { return Console.json(report) }
                Console.out("New API key for '\(apiKey)' (shown once; store it now):")
                Console.out("  \(report.key)")
                Console.out("  id \(report.id)")
                let ends = ISO8601DateFormatter().string(from: report.graceEndsAt)
                Console.out(report.retired.isEmpty ? "  no older key to retire" : "  older keys \(report.retired.joined(separator: ", ")) keep working until \(ends)")
                return
            }
            let reports = due ? try keys.rotateDue() : [try keys.rotateCMK(tenant: name!, reencrypt: reencrypt)]
            if global.output == .json { return Console.json(reports) }
            if reports.isEmpty { Console.out("No CMK is due for rotation.") }
            for r in reports {
                var line = "Tenant '\(r.tenant)': CMK version \(r.previousVersion) -> \(r.newVersion)\(r.resumed ? " (resumed an interrupted rotation)" : ""); "
                line += "\(r.dataKeysRewrapped) data keys re-wrapped"
                if let records = r.recordsReencrypted { line += ", \(records) records re-encrypted" }
                if !r.versionsDisabled.isEmpty { line += "; versions \(r.versionsDisabled.map(String.init).joined(separator: ", ")) disabled" }
                Console.out(line + String(format: " in %.2f s", r.seconds))
            }
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

struct KeysRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "End an API key at once (--api-key ID), or disable the tenant's CMK (--cmk: the customer pulling the key).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String
    @Option(name: .customLong("api-key"), help: "API key id.") var apiKey: String?
    @Flag(help: "Disable the CMK: the tenant stops serving its encrypted metadata until `vpt keys enable --cmk`.") var cmk = false

    func validate() throws {
        guard (apiKey != nil) != cmk else { throw ValidationError("choose one of --api-key ID or --cmk") }
    }

    func run() async throws {
        do {
            let keys = try KeyService(home: global.homeURL)
            if let apiKey {
                try keys.revokeAPIKey(tenant: name, id: apiKey)
                Console.out("API key \(apiKey) revoked; the feature server rejects it within 2 seconds.")
            } else {
                try keys.revokeCMK(tenant: name)
                Console.out("CMK of '\(name)' disabled: its runtime stops serving within a second. `vpt keys enable \(name) --cmk` restores it.")
            }
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

struct KeysEnableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "enable", abstract: "Enable the tenant's CMK again (--cmk).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String
    @Flag(help: "Enable the CMK.") var cmk = false

    func validate() throws {
        guard cmk else { throw ValidationError("--cmk is required") }
    }

    func run() async throws {
        do {
            try KeyService(home: global.homeURL).enableCMK(tenant: name)
            Console.out("CMK of '\(name)' enabled: its runtime serves again within a second.")
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

struct KeysAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "The tenant's key audit log (append-only, hash-chained).")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "Tenant name.") var name: String

    struct Report: Encodable {
        var tenant: String
        var chainIntact: Bool
        var brokenAtLine: Int?
        var entries: [AuditEntry]
    }

    func run() async throws {
        let log: (entries: [AuditEntry], brokenAt: Int?)
        do {
            log = try KeyService(home: global.homeURL).audit(tenant: name)
        } catch {
            throw Console.fail(error, format: global.output)
        }
        if global.output == .json {
            Console.json(Report(tenant: name, chainIntact: log.brokenAt == nil, brokenAtLine: log.brokenAt, entries: log.entries))
        } else {
            let iso = ISO8601DateFormatter()
            Console.out(Console.table(["WHEN", "ACTOR", "ACTION", "TARGET", "DETAIL"], log.entries.map { [iso.string(from: $0.at), $0.actor, $0.action, $0.target, $0.detail] }))
            Console.out(log.brokenAt.map { "The hash chain breaks at line \($0): the log was edited or truncated." } ?? "\(log.entries.count) entries; hash chain intact.")
        }
        if log.brokenAt != nil { throw ExitCode.failure }
    }
}
