import Foundation

/// Where a materialization job is in its life. PENDING waits for a runner slot (or for its retry
/// time); RUNNING has a runner process; the other three are final.
public enum JobState: String, Codable, Sendable, CaseIterable {
    case pending = "PENDING"
    case running = "RUNNING"
    case success = "SUCCESS"
    case failed = "FAILED"
    case cancelled = "CANCELLED"

    public var isFinal: Bool { self == .success || self == .failed || self == .cancelled }
}

/// Why a job exists: the view's schedule, the backfill from its start time, or an operator.
public enum JobTrigger: String, Codable, Sendable {
    case schedule, backfill, manual
}

/// One run of a runner process for a job.
public struct JobAttempt: Codable, Sendable, Equatable {
    public var number: Int
    public var pid: Int32
    public var startedAt: Date
    public var finishedAt: Date?
    /// `success`, `exit N`, `signal N`, `lost` (the control plane crashed meanwhile), `interrupted`
    /// (it stopped gracefully; not counted) or `cancelled`.
    public var outcome: String?
    /// The runner's last error line, if it failed.
    public var error: String?

    public static let interrupted = "interrupted"

    public init(number: Int, pid: Int32, startedAt: Date) {
        self.number = number
        self.pid = pid
        self.startedAt = startedAt
    }
}

/// A Rift materialization job: one batch feature view over one time window [windowStart, windowEnd),
/// aligned to the view's schedule. Kept as control-plane metadata (encrypted like the rest).
public struct MaterializationJob: Codable, Sendable, Equatable {
    public var id: String
    public var workspace: String
    public var featureView: String
    public var windowStart: Date
    public var windowEnd: Date
    public var trigger: JobTrigger
    public var state: JobState
    public var maxAttempts: Int
    public var attempts: [JobAttempt]
    public var createdAt: Date
    /// When a PENDING job may start (later than now while it backs off after a failed attempt).
    public var notBefore: Date
    public var finishedAt: Date?
    /// Rows written to the offline store and entities upserted online, after SUCCESS.
    public var rowsWritten: Int?
    public var onlineUpserts: Int?
    public var error: String?
    public var cancelRequested: Bool

    public init(
        id: String, workspace: String, featureView: String, windowStart: Date, windowEnd: Date, trigger: JobTrigger, maxAttempts: Int,
        createdAt: Date
    ) {
        self.id = id
        self.workspace = workspace
        self.featureView = featureView
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.trigger = trigger
        self.state = .pending
        self.maxAttempts = maxAttempts
        self.attempts = []
        self.createdAt = createdAt
        self.notBefore = createdAt
        self.cancelRequested = false
    }

    /// Attempts that count against maxAttempts: all but those a control-plane shutdown interrupted.
    public var countedAttempts: Int { attempts.filter { $0.outcome != JobAttempt.interrupted }.count }

    public func overlaps(_ other: MaterializationJob) -> Bool {
        workspace == other.workspace && featureView == other.featureView && windowStart < other.windowEnd && other.windowStart < windowEnd
    }
}

/// What the scheduler hands the runner launcher: the job and everything from the repository that
/// it needs, but no location and no credential (the launcher takes those from the runtime config).
public struct RiftJobRequest: Codable, Sendable, Equatable {
    public var jobId: String
    public var attempt: Int
    public var workspace: String
    public var view: BatchFeatureViewDefinition
    public var joinKeys: [TypedField]
    public var source: BatchSourceDefinition
    public var windowStart: Date
    public var windowEnd: Date
    public var scheduleSeconds: Int
    public var featureStartTime: Date

    public init(
        jobId: String, attempt: Int, workspace: String, view: BatchFeatureViewDefinition, joinKeys: [TypedField], source: BatchSourceDefinition,
        windowStart: Date, windowEnd: Date, scheduleSeconds: Int, featureStartTime: Date
    ) {
        self.jobId = jobId
        self.attempt = attempt
        self.workspace = workspace
        self.view = view
        self.joinKeys = joinKeys
        self.source = source
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.scheduleSeconds = scheduleSeconds
        self.featureStartTime = featureStartTime
    }
}

/// The runner's result file (counts only: it never holds a feature value).
public struct RiftJobResult: Codable, Sendable, Equatable {
    public var rows: Int
    public var online: Int
    public var files: Int
}

/// A view's materialization at a glance (health checks, the web UI).
public struct MaterializationStatus: Codable, Sendable, Equatable {
    public var workspace: String
    public var featureView: String
    public var scheduleSeconds: Int?
    /// The end of the newest closed period: what a fully caught-up view has materialized.
    public var dueThrough: Date?
    public var materializedThrough: Date?
    public var pending = 0
    public var running = 0
    public var failed = 0

    public init(workspace: String, featureView: String) {
        self.workspace = workspace
        self.featureView = featureView
    }
}
