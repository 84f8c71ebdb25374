import Foundation
import Testing

@testable import VPTEngine

/// The freshness verdict over the scheduler's per-view status: caught up, behind, failed, a
/// backfill under way, and nothing due yet.
@Suite struct MaterializationCheckTests {
    let iso = ISO8601DateFormatter()

    func view(_ name: String, through: String?, due: String = "2026-11-27T12:00:00Z", failed: Int = 0, pending: Int = 0) -> [String: Any] {
        var view: [String: Any] = [
            "workspace": "prod", "featureView": name, "scheduleSeconds": 3600, "dueThrough": due, "failed": failed, "pending": pending,
            "running": 0,
        ]
        if let through { view["materializedThrough"] = through }
        return view
    }

    @Test func verdicts() {
        #expect(MaterializationCheck.verdict([view("a", through: "2026-11-27T12:00:00Z")], tenant: "t").status == .ok)
        // Two periods behind is normal (the newest has closed and is running); three is a warning, seven a failure.
        #expect(MaterializationCheck.verdict([view("a", through: "2026-11-27T10:00:00Z")], tenant: "t").status == .ok)
        let behind = MaterializationCheck.verdict([view("a", through: "2026-11-27T09:00:00Z")], tenant: "t")
        #expect(behind.status == .warn && behind.observed == "prod/a: 3 periods behind")
        let stalled = MaterializationCheck.verdict([view("a", through: "2026-11-27T05:00:00Z", pending: 2), view("b", through: "2026-11-27T12:00:00Z")], tenant: "t")
        #expect(stalled.status == .fail && stalled.observed == "prod/a: 7 periods behind (2 jobs waiting or running)")
        let failed = MaterializationCheck.verdict([view("a", through: "2026-11-27T12:00:00Z", failed: 1)], tenant: "t")
        #expect(failed.status == .warn && failed.observed == "prod/a: 1 failed job" && failed.remedy.contains("vpt jobs list t"))
        let backfill = MaterializationCheck.verdict([view("a", through: nil, pending: 3)], tenant: "t")
        #expect(backfill.status == .warn && backfill.observed.contains("backfill under way"))
        // No period has closed yet: nothing is due.
        #expect(MaterializationCheck.verdict([view("a", through: nil)], tenant: "t").status == .ok)
        #expect(MaterializationCheck.verdict([], tenant: "t").status == .ok)
    }
}
