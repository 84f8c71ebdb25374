import Foundation
import VPTContract

/// The time arithmetic of materialization: a batch feature view's periods are
/// [start + k·schedule, start + (k+1)·schedule) from its featureStartTime; a period can be
/// materialized once it has closed. Backfills cover many periods per job (at least a day's worth),
/// so a year of hourly periods is 365 jobs, not 8,760.
public struct JobPlanner: Sendable {
    public let anchor: Date
    public let scheduleSeconds: Int

    public init?(_ view: BatchFeatureViewDefinition) {
        guard let anchor = view.featureStart, let schedule = view.scheduleSeconds else { return nil }
        self.anchor = anchor
        self.scheduleSeconds = schedule
    }

    public init(anchor: Date, scheduleSeconds: Int) {
        self.anchor = anchor
        self.scheduleSeconds = scheduleSeconds
    }

    /// Periods per backfill job: enough to cover a day, at least one.
    public var periodsPerBackfillJob: Int { max(1, 86_400 / scheduleSeconds) }

    /// The end of the newest closed period at `now` (the anchor itself if none has closed).
    public func lastBoundary(atOrBefore now: Date) -> Date {
        let elapsed = now.timeIntervalSince(anchor)
        guard elapsed > 0 else { return anchor }
        let periods = (elapsed / Double(scheduleSeconds)).rounded(.down)
        return anchor.addingTimeInterval(periods * Double(scheduleSeconds))
    }

    /// Whether `date` is a period boundary.
    public func isBoundary(_ date: Date) -> Bool {
        let offset = date.timeIntervalSince(anchor)
        return offset >= 0 && offset.truncatingRemainder(dividingBy: Double(scheduleSeconds)) == 0
    }

    /// [from, to) cut into jobs of `periodsPerJob` periods (the last may be shorter); both ends are boundaries.
    public func windows(from: Date, to: Date, periodsPerJob: Int) -> [(start: Date, end: Date)] {
        let step = Double(scheduleSeconds * max(1, periodsPerJob))
        var windows: [(Date, Date)] = []
        var start = from
        while start < to {
            let end = min(start.addingTimeInterval(step), to)
            windows.append((start, end))
            start = end
        }
        return windows
    }

    /// Wait before attempt `failedAttempts + 1`: `base` doubling after each failure, at most an hour.
    public static func backoff(base: Int, failedAttempts: Int) -> TimeInterval {
        min(3600, Double(base) * pow(2, Double(max(0, failedAttempts - 1))))
    }
}
