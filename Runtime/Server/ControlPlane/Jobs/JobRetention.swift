import Foundation
import VPTContract

/// How long the job history keeps finished jobs. Without a limit an hourly view adds 8,760 jobs a
/// year, every one read into memory at start and scanned on each health check. While a view is
/// scheduled, the finished jobs its materialization status is computed from stay whatever their
/// age: a failed window that no later job materialized (a gap), the newest materialized window
/// ("materialized through"), and a success that redid a failure still in the history.
enum JobRetention {
    /// Whether `success` is a later job of the same view that covered `failed`'s window.
    static func redoes(_ success: MaterializationJob, _ failed: MaterializationJob) -> Bool {
        success.state == .success && success.workspace == failed.workspace && success.featureView == failed.featureView
            && success.windowStart <= failed.windowStart && success.windowEnd >= failed.windowEnd && success.createdAt > failed.createdAt
    }

    /// Whether a later successful job of the same view covered `failed`'s window.
    static func isRedone(_ failed: MaterializationJob, among jobs: [MaterializationJob]) -> Bool {
        jobs.contains { redoes($0, failed) }
    }

    /// The finished jobs that ended before `now - keep` and are not kept for the status.
    /// `scheduledViews` holds `WORKSPACE/VIEW` of the views the scheduler still tracks.
    static func expired(_ jobs: some Sequence<MaterializationJob>, scheduledViews: Set<String>, keep: TimeInterval, now: Date)
        -> [MaterializationJob]
    {
        let cutoff = now.addingTimeInterval(-keep)
        let byView = Dictionary(grouping: jobs) { "\($0.workspace)/\($0.featureView)" }
        var expired: [MaterializationJob] = []
        for (view, viewJobs) in byView {
            var old = viewJobs.filter { $0.state.isFinal && ($0.finishedAt ?? $0.createdAt) < cutoff }
            // A view that left its repository has no status: its whole history may go.
            if scheduledViews.contains(view) {
                let newest = viewJobs.filter { $0.state == .success }.max { ($0.windowEnd, $0.id) < ($1.windowEnd, $1.id) }?.id
                old.removeAll { $0.id == newest || ($0.state == .failed && !isRedone($0, among: viewJobs)) }
                // A success that redid a failure still in the history keeps that failure resolved.
                let leaving = Set(old.map(\.id))
                let staying = viewJobs.filter { $0.state == .failed && !leaving.contains($0.id) }
                old.removeAll { success in staying.contains { redoes(success, $0) } }
            }
            expired += old
        }
        return expired.sorted { $0.id < $1.id }
    }
}
