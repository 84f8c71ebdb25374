import Crypto
import Foundation
import VPTContract
import VPTLocalCloud
import VPTMetadata

#if canImport(Glibc)
    import Glibc
#endif

/// How far a view's scheduled jobs reach, and for which definition of the view: a changed
/// definition (SQL, schedule, start, features, aggregations, source) is backfilled again.
struct ViewWatermark: Codable, Equatable {
    var fingerprint: String
    var scheduledThrough: Date
}

/// The Rift scheduler: creates jobs from each batch feature view's schedule (a backfill from its
/// featureStartTime first), runs at most `maxConcurrentJobs` runner processes, retries failed attempts
/// with doubling backoff, and keeps every job and attempt as metadata. Jobs survive a control-plane
/// crash: on start, a job left RUNNING has its orphaned runner stopped and is run again, which is
/// safe because a runner replaces its windows' files and its online upserts are idempotent.
public actor JobScheduler {
    public enum Failure: Error, CustomStringConvertible {
        case notFound(String)
        case invalid(String)
        case conflict(String)
        case disabled

        public var description: String {
            switch self {
            case .notFound(let what): what
            case .invalid(let why): why
            case .conflict(let why): why
            case .disabled: "Rift batch compute is not enabled for this tenant (dataPlane.rift.enabled in the tenant spec)"
            }
        }
    }

    private let store: MetadataStore
    private let state: ControlPlaneState
    private let launcher: RiftLauncher
    public let settings: RiftConfig
    private var jobs: [String: MaterializationJob] = [:]
    /// Runner pids of RUNNING jobs started by this process.
    private var runners: [String: pid_t] = [:]
    private var watermarks: [String: ViewWatermark] = [:]
    private var sequence = 0
    /// When the history was last pruned; pruning runs once a minute at most.
    private var lastPrune: Date?

    public init(store: MetadataStore, state: ControlPlaneState, launcher: RiftLauncher, settings: RiftConfig) throws {
        self.store = store
        self.state = state
        self.launcher = launcher
        self.settings = settings
        let decoder = JSONCoding.decoder
        for record in try store.listAll(kind: "job") {
            let job = try decoder.decode(MaterializationJob.self, from: record.value)
            jobs[job.id] = job
        }
        for record in try store.listAll(kind: "rift_watermark") {
            watermarks["\(record.workspace)/\(record.name)"] = try decoder.decode(ViewWatermark.self, from: record.value)
        }
    }

    // MARK: Persistence

    private func save(_ job: MaterializationJob) throws {
        jobs[job.id] = job
        try store.put(kind: "job", workspace: job.workspace, name: job.id, value: try JSONCoding.encoder.encode(job))
    }

    private func newId(_ now: Date) -> String {
        sequence += 1
        return String(format: "job-%013lld-%04d%@", Int64(now.timeIntervalSince1970 * 1000), sequence % 10_000, RandomSuffix.hex4())
    }

    // MARK: The loop

    /// Jobs that a previous control-plane process left RUNNING: their runner is stopped if it is
    /// still alive, and the attempt counts as lost.
    public func recover(now: Date = Date()) throws {
        for var job in jobs.values where job.state == .running && runners[job.id] == nil {
            if var attempt = job.attempts.last {
                if RiftLauncher.isRunner(attempt.pid, of: job.id) { kill(attempt.pid, SIGKILL) }
                attempt.finishedAt = now
                attempt.outcome = "lost"
                attempt.error = "the control plane restarted while this attempt ran"
                job.attempts[job.attempts.count - 1] = attempt
                launcher.cleanUp(job.id, attempt.number, keepLog: true)
            }
            try settle(&job, failure: "the control plane restarted while the job ran", now: now)
        }
    }

    /// One turn: collect finished runners, create the jobs that schedules call for, start what may start.
    public func tick(now: Date = Date()) async throws {
        let repos = await state.snapshot.repos
        try reap(now: now)
        if lastPrune.map({ abs(now.timeIntervalSince($0)) >= 60 }) ?? true { try pruneHistory(now: now) }
        guard settings.enabled else { return }
        try plan(repos: repos, now: now)
        try startReady(repos: repos, now: now)
    }

    private func reap(now: Date) throws {
        for (id, pid) in runners {
            guard let exit = RiftLauncher.poll(pid), var job = jobs[id], var attempt = job.attempts.last else { continue }
            runners[id] = nil
            attempt.finishedAt = now
            let result = launcher.result(id, attempt.number)
            if job.cancelRequested {
                attempt.outcome = "cancelled"
                job.attempts[job.attempts.count - 1] = attempt
                job.state = .cancelled
                job.finishedAt = now
                launcher.cleanUp(id, attempt.number, keepLog: true)
                try save(job)
            } else if exit == .exited(0), let result {
                attempt.outcome = "success"
                job.attempts[job.attempts.count - 1] = attempt
                job.state = .success
                job.finishedAt = now
                job.rowsWritten = result.rows
                job.onlineUpserts = result.online
                job.error = nil
                launcher.cleanUp(id, attempt.number, keepLog: false)
                try save(job)
            } else {
                attempt.outcome = exit.description
                attempt.error = launcher.lastLogLine(id, attempt.number) ?? "the runner left no message"
                job.attempts[job.attempts.count - 1] = attempt
                launcher.cleanUp(id, attempt.number, keepLog: true)
                try settle(&job, failure: attempt.error!, now: now)
            }
        }
    }

    /// Deletes the finished jobs older than `jobHistoryDays` (see `JobRetention` for what stays),
    /// with the logs their failed attempts left. One deletion at a time: a crash in between
    /// leaves the rest for the next turn.
    func pruneHistory(now: Date) throws {
        lastPrune = now
        let keep = TimeInterval(settings.jobHistoryDays) * 86_400
        for job in JobRetention.expired(jobs.values, scheduledViews: Set(watermarks.keys), keep: keep, now: now) {
            try store.delete(kind: "job", workspace: job.workspace, name: job.id)
            jobs[job.id] = nil
            for attempt in job.attempts { launcher.cleanUp(job.id, attempt.number, keepLog: false) }
        }
    }

    /// After a failed attempt: PENDING again after the backoff, or FAILED when attempts ran out.
    private func settle(_ job: inout MaterializationJob, failure: String, now: Date) throws {
        job.error = failure
        if job.countedAttempts >= job.maxAttempts {
            job.state = .failed
            job.finishedAt = now
        } else {
            job.state = .pending
            job.notBefore = now.addingTimeInterval(JobPlanner.backoff(base: settings.retryBackoffSeconds, failedAttempts: job.countedAttempts))
        }
        try save(job)
    }

    static func fingerprint(_ view: BatchFeatureViewDefinition, _ source: BatchSourceDefinition?) -> String {
        var relevant = view
        // TTL and serving flags change how values are served, not what is materialized.
        relevant.ttlSeconds = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(relevant)) ?? Data()
        let sourceBytes = source.flatMap { try? encoder.encode($0) } ?? Data()
        return SHA256.hash(data: bytes + sourceBytes).map { String(format: "%02x", $0) }.joined().prefix(16).description
    }

    /// Creates the jobs each view's schedule calls for at `now`.
    func plan(repos: [String: FeatureRepo], now: Date) throws {
        var live: Set<String> = []
        for (workspace, repo) in repos {
            for view in repo.batchFeatureViews where view.online || view.offline {
                guard let planner = JobPlanner(view) else { continue }
                let key = "\(workspace)/\(view.name)"
                live.insert(key)
                let fingerprint = Self.fingerprint(view, repo.batchSources.first { $0.name == view.source })
                let boundary = planner.lastBoundary(atOrBefore: now)
                if let mark = watermarks[key], mark.fingerprint == fingerprint {
                    guard mark.scheduledThrough < boundary else { continue }
                    // Normally one period; several after the control plane was down.
                    let periods = Int(boundary.timeIntervalSince(mark.scheduledThrough)) / planner.scheduleSeconds
                    let perJob = periods > 1 ? planner.periodsPerBackfillJob : 1
                    for window in planner.windows(from: mark.scheduledThrough, to: boundary, periodsPerJob: perJob) {
                        try create(workspace, view.name, window, periods > 1 ? .backfill : .schedule, now)
                    }
                } else {
                    if watermarks[key] != nil { try supersede(workspace, view.name, now) }
                    let periods = Int(boundary.timeIntervalSince(planner.anchor)) / planner.scheduleSeconds
                    for window in planner.windows(from: planner.anchor, to: boundary, periodsPerJob: planner.periodsPerBackfillJob) {
                        try create(workspace, view.name, window, periods > 1 ? .backfill : .schedule, now)
                    }
                }
                let mark = ViewWatermark(fingerprint: fingerprint, scheduledThrough: boundary)
                if watermarks[key] != mark {
                    watermarks[key] = mark
                    try store.put(kind: "rift_watermark", workspace: workspace, name: view.name, value: try JSONCoding.encoder.encode(mark))
                }
            }
        }
        // A view that left its repository: its waiting jobs go, and a return starts over.
        for key in watermarks.keys where !live.contains(key) {
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            try supersede(parts[0], parts[1], now, reason: "the feature view was removed from the repository")
            watermarks[key] = nil
            try store.delete(kind: "rift_watermark", workspace: parts[0], name: parts[1])
        }
    }

    /// Cancels the view's PENDING jobs (its definition changed or it was removed).
    private func supersede(_ workspace: String, _ view: String, _ now: Date, reason: String = "the feature view's definition changed") throws {
        for var job in jobs.values where job.workspace == workspace && job.featureView == view && job.state == .pending {
            job.state = .cancelled
            job.finishedAt = now
            job.error = "superseded: \(reason)"
            try save(job)
        }
    }

    @discardableResult
    private func create(_ workspace: String, _ view: String, _ window: (start: Date, end: Date), _ trigger: JobTrigger, _ now: Date) throws
        -> MaterializationJob
    {
        let job = MaterializationJob(
            id: newId(now), workspace: workspace, featureView: view, windowStart: window.start, windowEnd: window.end, trigger: trigger,
            maxAttempts: settings.maxAttempts, createdAt: now)
        try save(job)
        return job
    }

    /// Starts PENDING jobs whose time has come, oldest window first, while runner slots are free;
    /// never two runners on overlapping windows of one view.
    private func startReady(repos: [String: FeatureRepo], now: Date) throws {
        let ready = jobs.values.filter { $0.state == .pending && $0.notBefore <= now }
            .sorted { ($0.windowStart, $0.createdAt, $0.id) < ($1.windowStart, $1.createdAt, $1.id) }
        var running = jobs.values.filter { $0.state == .running }
        for var job in ready {
            guard runners.count < settings.maxConcurrentJobs else { return }
            if running.contains(where: { $0.overlaps(job) }) { continue }
            let repo = repos[job.workspace]
            guard let view = repo?.batchFeatureViews.first(where: { $0.name == job.featureView }),
                let source = repo?.batchSources.first(where: { $0.name == view.source }), let planner = JobPlanner(view)
            else {
                job.state = .cancelled
                job.finishedAt = now
                job.error = "superseded: the feature view is no longer in the repository"
                try save(job)
                continue
            }
            let number = job.attempts.count + 1
            let request = RiftJobRequest(
                jobId: job.id, attempt: number, workspace: job.workspace, view: view, joinKeys: repo!.joinKeys(of: view.servingView), source: source,
                windowStart: job.windowStart, windowEnd: job.windowEnd, scheduleSeconds: planner.scheduleSeconds, featureStartTime: planner.anchor)
            do {
                let pid = try launcher.start(request)
                runners[job.id] = pid
                job.attempts.append(JobAttempt(number: number, pid: pid, startedAt: now))
                job.state = .running
                try save(job)
                running.append(job)
            } catch {
                var attempt = JobAttempt(number: number, pid: 0, startedAt: now)
                attempt.finishedAt = now
                attempt.outcome = "not started"
                attempt.error = "\(error)"
                job.attempts.append(attempt)
                try settle(&job, failure: "\(error)", now: now)
            }
        }
    }

    // MARK: Operations (API and CLI)

    /// Jobs of a workspace, newest first.
    public func list(workspace: String, featureView: String? = nil, state: JobState? = nil, limit: Int = 100) -> [MaterializationJob] {
        let selected = jobs.values.filter {
            $0.workspace == workspace && (featureView == nil || $0.featureView == featureView) && (state == nil || $0.state == state)
        }
        return Array(selected.sorted { ($0.createdAt, $0.windowStart, $0.id) > ($1.createdAt, $1.windowStart, $1.id) }.prefix(limit))
    }

    /// Every workspace's jobs, newest first (the web UI's recent jobs).
    public func recent(limit: Int) -> [MaterializationJob] {
        Array(jobs.values.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }.prefix(limit))
    }

    public func job(workspace: String, id: String) throws -> MaterializationJob {
        guard let job = jobs[id], job.workspace == workspace else { throw Failure.notFound("job '\(id)' is not in workspace '\(workspace)'") }
        return job
    }

    /// Jobs for an operator's window of a view (the newest closed period when no window is given),
    /// cut like a backfill. Both ends must be period boundaries, inside [featureStartTime, now].
    public func trigger(workspace: String, featureView: String, start: Date?, end: Date?, now: Date = Date()) async throws -> [MaterializationJob] {
        guard settings.enabled else { throw Failure.disabled }
        guard let repo = await state.snapshotRepo(workspace), let view = repo.batchFeatureViews.first(where: { $0.name == featureView }) else {
            throw Failure.notFound("featureView: '\(featureView)' is not a batch feature view of workspace '\(workspace)'")
        }
        guard let planner = JobPlanner(view) else { throw Failure.invalid("featureView: '\(featureView)' has no valid schedule") }
        let latest = planner.lastBoundary(atOrBefore: now)
        let to = end ?? latest
        let from = start ?? to.addingTimeInterval(-Double(planner.scheduleSeconds))
        let iso = ISO8601DateFormatter()
        for (name, date) in [("start", from), ("end", to)] where !planner.isBoundary(date) {
            throw Failure.invalid(
                "\(name): \(iso.string(from: date)) is not a period boundary of '\(featureView)' (every \(view.batchSchedule) from \(view.featureStartTime))")
        }
        guard from < to else { throw Failure.invalid("end: must be after start") }
        guard to <= latest else {
            throw Failure.invalid("end: \(iso.string(from: to)) is after the newest closed period, which ends \(iso.string(from: latest))")
        }
        let windows = planner.windows(from: from, to: to, periodsPerJob: planner.periodsPerBackfillJob)
        guard windows.count <= 10_000 else { throw Failure.invalid("start: the range needs \(windows.count) jobs; at most 10000 per trigger") }
        return try windows.map { try create(workspace, featureView, $0, .manual, now) }
    }

    /// Cancels a job: a PENDING one at once, a RUNNING one by stopping its runner (SIGTERM).
    public func cancel(workspace: String, id: String, now: Date = Date()) throws -> MaterializationJob {
        var job = try job(workspace: workspace, id: id)
        switch job.state {
        case .pending:
            job.state = .cancelled
            job.finishedAt = now
            job.error = "cancelled by an operator"
            try save(job)
        case .running:
            job.cancelRequested = true
            job.error = "cancelled by an operator"
            if let pid = runners[id] { kill(pid, SIGTERM) }
            try save(job)
        case .success, .failed, .cancelled:
            throw Failure.conflict("job '\(id)' is \(job.state.rawValue) already; only PENDING and RUNNING jobs can be cancelled")
        }
        return job
    }

    /// Per batch view of every repository: its schedule, the newest closed period, the newest window
    /// that materialized, and how many jobs wait, run or failed (and have not succeeded since).
    public func materialization(now: Date = Date()) async -> [MaterializationStatus] {
        let repos = await state.snapshot.repos
        var byView: [String: MaterializationStatus] = [:]
        for (workspace, repo) in repos {
            for view in repo.batchFeatureViews where view.online || view.offline {
                guard let planner = JobPlanner(view) else { continue }
                var status = MaterializationStatus(workspace: workspace, featureView: view.name)
                status.scheduleSeconds = planner.scheduleSeconds
                status.dueThrough = planner.lastBoundary(atOrBefore: now)
                byView["\(workspace)/\(view.name)"] = status
            }
        }
        let fingerprints = watermarks.mapValues(\.fingerprint)
        for (key, viewJobs) in Dictionary(grouping: jobs.values, by: { "\($0.workspace)/\($0.featureView)" }) {
            guard var status = byView[key], fingerprints[key] != nil else { continue }
            for job in viewJobs {
                switch job.state {
                case .success:
                    // Gaps show up as failed (or pending) jobs, counted below.
                    status.materializedThrough = max(status.materializedThrough ?? job.windowEnd, job.windowEnd)
                case .pending: status.pending += 1
                case .running: status.running += 1
                case .failed:
                    // A failed window that a later job of the same window materialized is not a failure any more.
                    if !JobRetention.isRedone(job, among: viewJobs) { status.failed += 1 }
                case .cancelled: break
                }
            }
            byView[key] = status
        }
        return byView.values.sorted { ($0.workspace, $0.featureView) < ($1.workspace, $1.featureView) }
    }

    /// The control plane is stopping: runners are stopped and their jobs wait again, without the
    /// interrupted attempt counting against maxAttempts. Every runner gets SIGTERM at once and 5 s
    /// in all to exit, then SIGKILL; the wait sleeps the task, not the thread, so the rest of the
    /// shutdown goes on meanwhile.
    public func shutdown(now: Date = Date()) async throws {
        let stopping = runners
        for pid in stopping.values { kill(pid, SIGTERM) }
        var left = Set(stopping.values)
        let deadline = ContinuousClock.now + .seconds(5)
        while !left.isEmpty {
            left = left.filter { RiftLauncher.poll($0) == nil }
            guard !left.isEmpty else { break }
            if ContinuousClock.now > deadline {
                for pid in left {
                    kill(pid, SIGKILL)
                    var status: Int32 = 0
                    waitpid(pid, &status, 0)
                }
                break
            }
            // A cancelled task still waits for its runners, without spinning.
            do { try await Task.sleep(for: .milliseconds(20)) } catch { usleep(20_000) }
        }
        for (id, _) in stopping {
            runners[id] = nil
            guard var job = jobs[id], var attempt = job.attempts.last else { continue }
            attempt.finishedAt = now
            attempt.outcome = JobAttempt.interrupted
            job.attempts[job.attempts.count - 1] = attempt
            launcher.cleanUp(id, attempt.number, keepLog: false)
            if job.cancelRequested {
                job.state = .cancelled
                job.finishedAt = now
            } else {
                job.state = .pending
                job.notBefore = now
            }
            try save(job)
        }
    }
}

enum RandomSuffix {
    static func hex4() -> String { String(format: "%04x", UInt16.random(in: 0...UInt16.max)) }
}
