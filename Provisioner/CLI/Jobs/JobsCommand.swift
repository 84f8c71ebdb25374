import ArgumentParser
import Foundation
import VPTContract
import VPTEngine

/// `vpt jobs`: a tenant's Rift materialization jobs.
struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "List, show, trigger and cancel a tenant's materialization jobs.",
        subcommands: [JobsListCommand.self, JobsShowCommand.self, JobsTriggerCommand.self, JobsCancelCommand.self])
}

/// Options every job command takes: the tenant and the workspace.
struct JobTarget: ParsableArguments {
    @Argument(help: "Tenant name.") var name: String
    @Option(name: .shortAndLong, help: "Workspace.") var workspace: String
}

extension JobState: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.uppercased()) }
}

enum JobTable {
    static var iso: ISO8601DateFormatter { ISO8601DateFormatter() }

    static func rows(_ jobs: [MaterializationJob]) -> String {
        Console.table(
            ["ID", "FEATURE VIEW", "WINDOW START", "WINDOW END", "TRIGGER", "STATE", "ATTEMPTS", "ROWS", "ERROR"],
            jobs.map {
                [
                    $0.id, $0.featureView, iso.string(from: $0.windowStart), iso.string(from: $0.windowEnd), $0.trigger.rawValue, $0.state.rawValue,
                    "\($0.attempts.count)/\($0.maxAttempts)", $0.rowsWritten.map(String.init) ?? "-", String(($0.error ?? "").prefix(60)),
                ]
            })
    }

    static func detail(_ job: MaterializationJob) -> String {
        var lines = [
            "Job \(job.id): \(job.state.rawValue)", "  feature view  \(job.workspace)/\(job.featureView)",
            "  window        \(iso.string(from: job.windowStart)) – \(iso.string(from: job.windowEnd))",
            "  trigger       \(job.trigger.rawValue), created \(iso.string(from: job.createdAt))",
        ]
        if let rows = job.rowsWritten { lines.append("  written       \(rows) rows offline, \(job.onlineUpserts ?? 0) entities online") }
        if let error = job.error { lines.append("  error         \(error)") }
        for attempt in job.attempts {
            lines.append(
                "  attempt \(attempt.number)     pid \(attempt.pid), started \(iso.string(from: attempt.startedAt)), \(attempt.outcome ?? "running")"
                    + (attempt.error.map { ": \($0)" } ?? ""))
        }
        return lines.joined(separator: "\n")
    }
}

struct JobsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "A workspace's jobs, newest first.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: JobTarget
    @Option(help: "Only this feature view.") var view: String?
    @Option(help: "Only this state: PENDING, RUNNING, SUCCESS, FAILED or CANCELLED.") var state: JobState?
    @Option(help: "At most this many jobs (1–10000).") var limit = 100

    func run() async throws {
        do {
            let jobs = try JobClient(home: global.homeURL).list(
                tenant: target.name, workspace: target.workspace, featureView: view, state: state, limit: limit)
            if global.output == .json { return Console.json(["jobs": jobs]) }
            Console.out(jobs.isEmpty ? "No jobs." : JobTable.rows(jobs))
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

struct JobsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One job with its attempts.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: JobTarget
    @Argument(help: "Job id.") var id: String

    func run() async throws {
        do {
            let job = try JobClient(home: global.homeURL).show(tenant: target.name, workspace: target.workspace, id: id)
            if global.output == .json { return Console.json(job) }
            Console.out(JobTable.detail(job))
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

struct JobsTriggerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger", abstract: "Materialize a window of a batch feature view now.",
        discussion: "Without --start and --end: the newest closed period. Both ends must be period boundaries of the view's schedule.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: JobTarget
    @Option(help: "Batch feature view.") var view: String
    @Option(help: "Window start (ISO 8601, e.g. 2026-11-01T00:00:00Z).") var start: String?
    @Option(help: "Window end (ISO 8601).") var end: String?
    @Flag(help: "Wait until the jobs are final; exit 1 if one did not succeed.") var wait = false
    @Option(help: "With --wait: give up after this many seconds.") var timeout: Double = 3600

    func date(_ text: String?, _ option: String) throws -> Date? {
        guard let text else { return nil }
        guard let date = ISO8601DateFormatter().date(from: text) else {
            throw ValidationError("--\(option): '\(text)' must be ISO 8601 with a zone, like 2026-11-01T00:00:00Z")
        }
        return date
    }

    func run() async throws {
        let start = try date(start, "start")
        let end = try date(end, "end")
        do {
            let client = try JobClient(home: global.homeURL)
            var jobs = try client.trigger(tenant: target.name, workspace: target.workspace, featureView: view, start: start, end: end)
            if wait {
                let deadline = Date().addingTimeInterval(timeout)
                while jobs.contains(where: { !$0.state.isFinal }), Date() < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    jobs = try jobs.map { try client.show(tenant: target.name, workspace: target.workspace, id: $0.id) }
                }
            }
            if global.output == .json { Console.json(["jobs": jobs]) } else { Console.out(JobTable.rows(jobs)) }
            if wait, jobs.contains(where: { $0.state != .success }) { throw ExitCode.failure }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}

struct JobsCancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a PENDING or RUNNING job.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var target: JobTarget
    @Argument(help: "Job id.") var id: String

    func run() async throws {
        do {
            let job = try JobClient(home: global.homeURL).cancel(tenant: target.name, workspace: target.workspace, id: id)
            if global.output == .json { return Console.json(job) }
            Console.out(job.state == .cancelled ? "Job \(job.id) cancelled." : "Job \(job.id): its runner is being stopped.")
        } catch {
            throw Console.fail(error, format: global.output)
        }
    }
}
