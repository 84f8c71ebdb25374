import Foundation
import Testing
import VPTContract
import VPTLocalCloud
import VPTMetadata
import VPTTestSupport

@testable import VPTRuntime

/// The scheduler with real runner processes: small shell scripts that behave like the Rift runner
/// (write the result file and exit 0, fail with a message, hang until killed).
@Suite struct JobSchedulerTests {
    let home = temporaryDirectory()
    let cmk = KMSKeyRef(account: "111122223333", region: "eu-west-1", keyId: "cmk-1")
    let role = "arn:aws:iam::111122223333:role/vpt-acme-control-plane"
    /// A fixed clock (the periods are aligned to it); runner processes still run in real time.
    let now = ISO8601DateFormatter().date(from: "2026-11-27T12:30:00Z")!

    func store() throws -> MetadataStore {
        try FleetMasterKey.create(home: home)
        let kms = try LocalKMS(home: home)
        if (try? kms.describe(cmk)) == nil { _ = try kms.createKey(cmk, description: "t", rotationDays: 365, grantees: [role]) }
        return try MetadataStore(url: home.appendingPathComponent("cp/metadata.sqlite"), tenant: "acme", cmk: cmk, kms: kms, caller: role)
    }

    func repo(start: String = "2026-11-25T00:00:00Z", schedule: String = "1h", sql: String = "SELECT * FROM source") -> FeatureRepo {
        FeatureRepo(
            entities: [EntityDefinition(name: "user", joinKeys: [TypedField(name: "user_id", type: .int64)])],
            batchSources: [
                BatchSourceDefinition(
                    name: "orders", path: "raw/orders", format: "parquet",
                    schema: [TypedField(name: "user_id", type: .int64), TypedField(name: "ts", type: .string)], timestampField: "ts")
            ],
            batchFeatureViews: [
                BatchFeatureViewDefinition(
                    name: "spend", entities: ["user"], source: "orders", sql: sql, timestampField: "ts",
                    features: [TypedField(name: "total", type: .float64)], ttlSeconds: 86_400, batchSchedule: schedule, featureStartTime: start)
            ])
    }

    /// A runner script: `body` runs with $REQ and $RES set from --request and --result.
    func runner(_ body: String) throws -> [String] {
        let script = home.appendingPathComponent("runner-\(UUID().uuidString.prefix(6)).sh")
        try SecureFiles.write(Data("#!/bin/sh\nREQ=\"$2\"\nRES=\"$4\"\n\(body)\n".utf8), to: script)
        return ["/bin/sh", script.path]
    }

    static let succeed = #"echo '{"rows": 7, "online": 3, "files": 1}' > "$RES""#

    func scheduler(_ store: MetadataStore, _ command: [String], _ repo: FeatureRepo? = nil, settings: RiftConfig? = nil) async throws
        -> (JobScheduler, ControlPlaneState)
    {
        let state = try ControlPlaneState(store: store, tenant: "acme", bootstrap: [])
        if let repo { _ = try await state.apply(repo, workspace: "prod", dryRun: false) }
        let scheduler = try JobScheduler(
            store: store, state: state, launcher: RiftLauncher(command: command, workDirectory: home.appendingPathComponent("rift")),
            settings: settings ?? RiftConfig(enabled: true, region: "eu-west-1", maxConcurrentJobs: 2, maxAttempts: 3, retryBackoffSeconds: 5))
        return (scheduler, state)
    }

    /// Ticks at `at` until no job runs (runner processes exit in real time).
    func settle(_ scheduler: JobScheduler, at: Date, maxRunning: inout Int) async throws {
        for _ in 0..<400 {
            try await scheduler.tick(now: at)
            let running = await scheduler.list(workspace: "prod", state: .running, limit: 10_000).count
            maxRunning = max(maxRunning, running)
            if running == 0 { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        Issue.record("jobs still running after 10 s")
    }

    @Test func plannerAlignsPeriodsAndCutsBackfills() {
        let iso = ISO8601DateFormatter()
        let planner = JobPlanner(anchor: iso.date(from: "2026-11-25T00:00:00Z")!, scheduleSeconds: 3600)
        #expect(planner.lastBoundary(atOrBefore: now) == iso.date(from: "2026-11-27T12:00:00Z"))
        #expect(planner.lastBoundary(atOrBefore: iso.date(from: "2026-11-20T00:00:00Z")!) == planner.anchor)
        #expect(planner.isBoundary(iso.date(from: "2026-11-26T05:00:00Z")!) && !planner.isBoundary(iso.date(from: "2026-11-26T05:30:00Z")!))
        #expect(!planner.isBoundary(iso.date(from: "2026-11-24T00:00:00Z")!))
        let windows = planner.windows(from: planner.anchor, to: iso.date(from: "2026-11-27T12:00:00Z")!, periodsPerJob: planner.periodsPerBackfillJob)
        #expect(windows.count == 3 && windows.map { $0.end.timeIntervalSince($0.start) } == [86_400, 86_400, 43_200])
        #expect(JobPlanner(anchor: planner.anchor, scheduleSeconds: 7 * 86_400).periodsPerBackfillJob == 1)
        #expect([1, 2, 3, 20].map { JobPlanner.backoff(base: 30, failedAttempts: $0) } == [30, 60, 120, 3600])
    }

    @Test func backfillRunsWithBoundedConcurrencyThenTheScheduleTakesOver() async throws {
        let store = try store()
        let (scheduler, _) = try await scheduler(store, try runner("sleep 0.3\n" + Self.succeed), repo())
        var maxRunning = 0
        try await settle(scheduler, at: now, maxRunning: &maxRunning)
        for _ in 0..<3 { try await settle(scheduler, at: now, maxRunning: &maxRunning) }
        let jobs = await scheduler.list(workspace: "prod")
        // 2 days and 12 hours since the start: three backfill jobs (a day, a day, half a day).
        #expect(jobs.count == 3 && jobs.allSatisfy { $0.trigger == .backfill && $0.state == .success })
        #expect(maxRunning == 2)
        #expect(jobs.allSatisfy { $0.rowsWritten == 7 && $0.onlineUpserts == 3 && $0.attempts.count == 1 })
        // The next hour closes: one scheduled job for it, and nothing again for the same hour.
        let later = now.addingTimeInterval(3600)
        try await settle(scheduler, at: later, maxRunning: &maxRunning)
        try await settle(scheduler, at: later, maxRunning: &maxRunning)
        let scheduled = await scheduler.list(workspace: "prod").filter { $0.trigger == .schedule }
        #expect(scheduled.count == 1 && scheduled[0].state == .success)
        #expect(scheduled[0].windowStart == ISO8601DateFormatter().date(from: "2026-11-27T12:00:00Z"))
        // Job history is metadata: a new scheduler over the same store sees every job.
        let (reopened, _) = try await self.scheduler(store, try runner(Self.succeed))
        #expect(await reopened.list(workspace: "prod").count == 4)
        // Successful attempts leave no files behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.appendingPathComponent("rift").path).isEmpty)
    }

    @Test func failedAttemptsBackOffAndRetryThenFail() async throws {
        let store = try store()
        // Attempt 1 fails, attempt 2 succeeds.
        let flaky = try runner(#"case "$REQ" in *-a1.request.json) echo "rift: IOException: boom on attempt 1" >&2; exit 3;; esac"# + "\n" + Self.succeed)
        let (scheduler, _) = try await scheduler(store, flaky, repo(start: "2026-11-27T10:00:00Z"))
        var maxRunning = 0
        try await settle(scheduler, at: now, maxRunning: &maxRunning)
        var job = try #require(await scheduler.list(workspace: "prod").first)
        #expect(job.state == .pending && job.attempts.count == 1 && job.attempts[0].outcome == "exit 3")
        #expect(job.attempts[0].error?.contains("boom on attempt 1") == true)
        #expect(job.notBefore == now.addingTimeInterval(5))
        // Not before the backoff has passed.
        try await scheduler.tick(now: now.addingTimeInterval(4))
        #expect(try await scheduler.job(workspace: "prod", id: job.id).state == .pending)
        try await settle(scheduler, at: now.addingTimeInterval(5), maxRunning: &maxRunning)
        job = try await scheduler.job(workspace: "prod", id: job.id)
        #expect(job.state == .success && job.attempts.map(\.outcome) == ["exit 3", "success"] && job.error == nil)
        // The failed attempt's log stays for the operator.
        #expect(FileManager.default.fileExists(atPath: home.appendingPathComponent("rift/\(job.id)-a1.log").path))

        // A runner that always fails: FAILED after maxAttempts, with its message.
        let store2 = try JobSchedulerTests().store()
        let (failing, _) = try await JobSchedulerTests().scheduler(
            store2, try runner(#"echo "rift: BinderException: column x not found" >&2; exit 1"#), repo(start: "2026-11-27T10:00:00Z"))
        var t = now
        for _ in 0..<4 {
            try await settle(failing, at: t, maxRunning: &maxRunning)
            t = t.addingTimeInterval(60)
        }
        let failed = try #require(await failing.list(workspace: "prod").first)
        #expect(failed.state == .failed && failed.attempts.count == 3 && failed.error?.contains("column x not found") == true)
        await #expect(throws: JobScheduler.Failure.self) { try await failing.cancel(workspace: "prod", id: failed.id) }
    }

    @Test func aKilledRunnerIsRetriedAndCancelStopsARunningJob() async throws {
        let store = try store()
        // Attempt 1 hangs (and is killed), later attempts succeed.
        let hanging = try runner(#"case "$REQ" in *-a1.request.json) exec sleep 600;; esac"# + "\n" + Self.succeed)
        let (scheduler, _) = try await scheduler(store, hanging, repo(start: "2026-11-27T10:00:00Z"))
        try await scheduler.tick(now: now)
        let job = try #require(await scheduler.list(workspace: "prod", state: .running).first)
        kill(job.attempts[0].pid, SIGKILL)
        var maxRunning = 0
        try await settle(scheduler, at: now, maxRunning: &maxRunning)
        try await settle(scheduler, at: now.addingTimeInterval(10), maxRunning: &maxRunning)
        let retried = try await scheduler.job(workspace: "prod", id: job.id)
        #expect(retried.state == .success && retried.attempts.map(\.outcome) == ["signal 9", "success"])

        // Cancel: a running job's runner is stopped; a pending job ends at once.
        let triggered = try await scheduler.trigger(
            workspace: "prod", featureView: "spend", start: ISO8601DateFormatter().date(from: "2026-11-27T10:00:00Z"), end: nil, now: now)
        #expect(triggered.count == 1 && triggered[0].trigger == .manual)
        let second = try await scheduler.trigger(workspace: "prod", featureView: "spend", start: nil, end: nil, now: now)
        try await scheduler.tick(now: now)
        // Same view, overlapping windows: only one runs.
        #expect(try await scheduler.job(workspace: "prod", id: triggered[0].id).state == .running)
        #expect(try await scheduler.job(workspace: "prod", id: second[0].id).state == .pending)
        _ = try await scheduler.cancel(workspace: "prod", id: second[0].id, now: now)
        #expect(try await scheduler.job(workspace: "prod", id: second[0].id).state == .cancelled)
        let running = try await scheduler.job(workspace: "prod", id: triggered[0].id)
        #expect(running.attempts.count == 1)
        _ = try await scheduler.cancel(workspace: "prod", id: running.id, now: now)
        try await settle(scheduler, at: now, maxRunning: &maxRunning)
        let cancelled = try await scheduler.job(workspace: "prod", id: running.id)
        #expect(cancelled.state == .cancelled && cancelled.attempts.last?.outcome == "cancelled")
    }

    @Test func aRestartedControlPlaneStopsTheOrphanedRunnerAndRunsTheJobAgain() async throws {
        let store = try store()
        // Not `exec`: the runner's command line names its job, as rift-run's Python does. It never
        // ends by itself, and once it is killed, at most a one-second `sleep` outlives it.
        let hanging = try runner("while :; do sleep 1; done")
        let (first, _) = try await scheduler(store, hanging, repo(start: "2026-11-27T11:00:00Z"))
        try await first.tick(now: now)
        let job = try #require(await first.list(workspace: "prod", state: .running).first)
        let orphan = job.attempts[0].pid
        // Until the spawned process has exec'd, its command line is still the test's.
        for _ in 0..<500 where !RiftLauncher.isRunner(orphan, of: job.id) { try await Task.sleep(for: .milliseconds(20)) }
        // Hanging runners must outlast the test: under a loaded full-suite run the cooperative pool
        // was starved for over 30 s between the spawn and this check, and a 30 s runner had already
        // exited (status 0, empty log), twice.
        var status: Int32 = 0
        try #require(
            RiftLauncher.isRunner(orphan, of: job.id),
            "pid \(orphan) is not the runner: arguments \(ProcessTable.arguments(orphan)), waitpid \(waitpid(orphan, &status, WNOHANG)) status \(status)")
        // A new process over the same metadata (the old one "crashed" without a word).
        let (second, _) = try await scheduler(store, try runner(Self.succeed), repo(start: "2026-11-27T11:00:00Z"))
        try await second.recover(now: now)
        #expect(waitpid(orphan, &status, 0) == orphan && (status & 0x7f) == SIGKILL)
        var maxRunning = 0
        try await settle(second, at: now, maxRunning: &maxRunning)
        try await settle(second, at: now.addingTimeInterval(60), maxRunning: &maxRunning)
        let done = try await second.job(workspace: "prod", id: job.id)
        #expect(done.state == .success && done.attempts.map(\.outcome) == ["lost", "success"])
    }

    @Test func shutdownStopsEveryRunnerEvenOneThatIgnoresSIGTERM() async throws {
        let store = try store()
        // Ignores SIGTERM; killed, at most a one-second `sleep` outlives it.
        let stubborn = try runner("trap '' TERM\nwhile :; do sleep 1; done")
        let (scheduler, _) = try await scheduler(store, stubborn, repo())
        try await scheduler.tick(now: now)
        let running = await scheduler.list(workspace: "prod", state: .running)
        try #require(running.count == 2)
        for job in running {
            let pid = job.attempts[0].pid
            for _ in 0..<500 where !RiftLauncher.isRunner(pid, of: job.id) { try await Task.sleep(for: .milliseconds(20)) }
            try #require(RiftLauncher.isRunner(pid, of: job.id))
        }
        try await scheduler.shutdown(now: now)
        for job in running {
            #expect(kill(job.attempts[0].pid, 0) == -1, "runner \(job.attempts[0].pid) is still there")
            let after = try await scheduler.job(workspace: "prod", id: job.id)
            #expect(after.state == .pending && after.attempts.last?.outcome == JobAttempt.interrupted && after.countedAttempts == 0)
        }
    }

    @Test func triggersAreValidatedAndDefinitionChangesSupersedeWaitingJobs() async throws {
        let store = try store()
        let (scheduler, state) = try await scheduler(
            store, try runner("exec sleep 600"), repo(),
            settings: RiftConfig(enabled: true, region: "eu-west-1", maxConcurrentJobs: 1, maxAttempts: 3, retryBackoffSeconds: 5))
        let iso = ISO8601DateFormatter()
        await #expect(throws: JobScheduler.Failure.self) {
            try await scheduler.trigger(workspace: "prod", featureView: "spend", start: iso.date(from: "2026-11-26T10:30:00Z"), end: nil, now: now)
        }
        await #expect(throws: JobScheduler.Failure.self) {
            try await scheduler.trigger(workspace: "prod", featureView: "spend", start: nil, end: iso.date(from: "2026-11-27T14:00:00Z"), now: now)
        }
        await #expect(throws: JobScheduler.Failure.self) {
            try await scheduler.trigger(workspace: "prod", featureView: "nope", start: nil, end: nil, now: now)
        }
        try await scheduler.tick(now: now)
        #expect(await scheduler.list(workspace: "prod", state: .pending).count == 2)
        // A new SQL: the waiting jobs of the old definition are cancelled and a new backfill planned.
        _ = try await state.apply(repo(sql: "SELECT user_id, ts, 1.0 AS total FROM source"), workspace: "prod", dryRun: false)
        try await scheduler.tick(now: now)
        let cancelled = await scheduler.list(workspace: "prod", state: .cancelled)
        #expect(cancelled.count == 2 && cancelled.allSatisfy { $0.error?.hasPrefix("superseded") == true })
        #expect(await scheduler.list(workspace: "prod", state: .pending).count == 3)
        // The running job is left to finish; stop it for the test's sake.
        try await scheduler.shutdown(now: now)
        let interrupted = try #require(await scheduler.list(workspace: "prod").first { $0.attempts.first?.outcome == JobAttempt.interrupted })
        #expect(interrupted.state == .pending && interrupted.countedAttempts == 0)

        // Rift off: no job is planned, and triggers are refused.
        let (off, _) = try await self.scheduler(
            store, try runner(Self.succeed), nil, settings: RiftConfig(enabled: false, region: "eu-west-1"))
        await #expect(throws: JobScheduler.Failure.self) { try await off.trigger(workspace: "prod", featureView: "spend", start: nil, end: nil, now: now) }
    }

    /// Retention: old finished jobs go (with their logs); an unresolved failure and each view's newest
    /// materialized window stay, so the materialization status reads the same before and after.
    @Test func oldFinishedJobsLeaveTheHistoryButGapsAndTheNewestWindowStay() async throws {
        let store = try store()
        let iso = ISO8601DateFormatter()
        var maxRunning = 0
        let (first, _) = try await scheduler(store, try runner(Self.succeed), repo())
        try await settle(first, at: now, maxRunning: &maxRunning)  // the backfill: three windows
        let backfill = await first.list(workspace: "prod")
        #expect(backfill.count == 3 && backfill.allSatisfy { $0.state == .success })

        // Two manual runs fail (one attempt each); the second one's window is then redone.
        let once = RiftConfig(enabled: true, region: "eu-west-1", maxAttempts: 1, retryBackoffSeconds: 5)
        let (failing, _) = try await scheduler(store, try runner(#"echo "rift: boom" >&2; exit 1"#), settings: once)
        let gap = try await failing.trigger(workspace: "prod", featureView: "spend", start: iso.date(from: "2026-11-26T00:00:00Z"), end: iso.date(from: "2026-11-26T01:00:00Z"), now: now)[0]
        let redone = try await failing.trigger(workspace: "prod", featureView: "spend", start: iso.date(from: "2026-11-25T00:00:00Z"), end: iso.date(from: "2026-11-25T01:00:00Z"), now: now)[0]
        try await settle(failing, at: now, maxRunning: &maxRunning)
        let (later, _) = try await scheduler(store, try runner(Self.succeed))
        let redo = try await later.trigger(workspace: "prod", featureView: "spend", start: iso.date(from: "2026-11-25T00:00:00Z"), end: iso.date(from: "2026-11-25T01:00:00Z"), now: now.addingTimeInterval(1))[0]
        try await settle(later, at: now.addingTimeInterval(1), maxRunning: &maxRunning)
        let cancelled = try await later.trigger(workspace: "prod", featureView: "spend", start: iso.date(from: "2026-11-25T02:00:00Z"), end: iso.date(from: "2026-11-25T03:00:00Z"), now: now)[0]
        _ = try await later.cancel(workspace: "prod", id: cancelled.id, now: now)
        #expect(try await later.job(workspace: "prod", id: gap.id).state == .failed)
        #expect(try await later.job(workspace: "prod", id: redo.id).state == .success)
        let log = { (id: String) in self.home.appendingPathComponent("rift/\(id)-a1.log").path }
        #expect(FileManager.default.fileExists(atPath: log(gap.id)) && FileManager.default.fileExists(atPath: log(redone.id)))
        let status = await later.materialization(now: now)
        #expect(status.count == 1 && status[0].failed == 1 && status[0].materializedThrough == iso.date(from: "2026-11-27T12:00:00Z"))

        // Inside the 30 days nothing goes.
        try await later.pruneHistory(now: now.addingTimeInterval(29 * 86_400))
        #expect(await later.list(workspace: "prod").count == 7)
        try await later.pruneHistory(now: now.addingTimeInterval(31 * 86_400))
        let newest = try #require(backfill.max { $0.windowEnd < $1.windowEnd })
        let kept = await later.list(workspace: "prod").map(\.id).sorted()
        #expect(kept == [gap.id, newest.id].sorted())
        #expect(await later.materialization(now: now) == status)
        #expect(FileManager.default.fileExists(atPath: log(gap.id)) && !FileManager.default.fileExists(atPath: log(redone.id)))
        // The deletions are in the metadata, not only in memory.
        let (reopened, _) = try await scheduler(store, try runner(Self.succeed))
        #expect(await reopened.list(workspace: "prod").map(\.id).sorted() == kept)
    }

    @Test func aViewThatLeftItsRepositoryKeepsNothingPastTheLimit() {
        let start = now.addingTimeInterval(-40 * 86_400)
        func job(_ id: String, _ view: String, _ state: JobState, window: Int, finished: Date, created: Date? = nil) -> MaterializationJob {
            var job = MaterializationJob(
                id: id, workspace: "prod", featureView: view, windowStart: start.addingTimeInterval(Double(window) * 3600),
                windowEnd: start.addingTimeInterval(Double(window + 1) * 3600), trigger: .schedule, maxAttempts: 3, createdAt: created ?? start)
            job.state = state
            job.finishedAt = finished
            return job
        }
        let old = now.addingTimeInterval(-31 * 86_400)
        let jobs = [
            job("a1", "kept", .success, window: 1, finished: old), job("a2", "kept", .success, window: 2, finished: old),
            job("a3", "kept", .failed, window: 3, finished: old), job("a4", "kept", .cancelled, window: 4, finished: now),
            job("a5", "kept", .pending, window: 5, finished: old), job("b1", "gone", .success, window: 1, finished: old),
            job("b2", "gone", .failed, window: 2, finished: old),
            // a6 failed after its last retry, a7 (created later) had redone its window before that.
            job("a6", "kept", .failed, window: 0, finished: now), job("a7", "kept", .success, window: 0, finished: old, created: start + 1),
        ]
        let expired = JobRetention.expired(jobs, scheduledViews: ["prod/kept"], keep: 30 * 86_400, now: now)
        // a2 is kept's newest window, a3 its gap, a4 recent, a5 not finished, a7 resolves a6 (which
        // is recent); "gone" is no longer scheduled.
        #expect(expired.map(\.id) == ["a1", "b1", "b2"])
        // Once a6 is old too, both go.
        let muchLater = JobRetention.expired(jobs, scheduledViews: ["prod/kept"], keep: 30 * 86_400, now: now.addingTimeInterval(31 * 86_400))
        #expect(muchLater.map(\.id) == ["a1", "a4", "a6", "a7", "b1", "b2"])
    }
}
