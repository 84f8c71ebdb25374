import Foundation
import Synchronization
import Testing
@testable import VPTEngine

/// The health report's one fetch of a data plane's `/metrics`, shared by the checks that read it.
@Suite struct FetchOnceTests {
    struct Refused: Error, Equatable {}

    final class Count: Sendable {
        let value = Mutex(0)
    }

    @Test func concurrentReadersShareOneFetch() async throws {
        let once = FetchOnce<String>()
        let fetches = Count()
        let values = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try once.value {
                        fetches.value.withLock { $0 += 1 }
                        Thread.sleep(forTimeInterval: 0.05)
                        return "metrics"
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(values == Array(repeating: "metrics", count: 8))
        #expect(fetches.value.withLock { $0 } == 1)
    }

    @Test func aFailedFetchIsReportedToEveryReaderAndNotRetried() {
        let once = FetchOnce<String>()
        var fetches = 0
        #expect(throws: Refused()) { try once.value { fetches += 1; throw Refused() } }
        #expect(throws: Refused()) { try once.value { fetches += 1; return "late" } }
        #expect(fetches == 1, "every check of one report judges the same answer")
    }
}
