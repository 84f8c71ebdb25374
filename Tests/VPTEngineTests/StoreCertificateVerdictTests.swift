import Foundation
import Testing

@testable import VPTEngine

/// `store.online` for a store reached over TLS: a warning before the server's certificate expires.
@Suite struct StoreCertificateVerdictTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let observed = "redis store in us-east-1 opened and read (1 sampled) in 2.0 ms"

    @Test func withoutTLSTheReadAloneDecides() {
        let verdict = StoreChecks.certificateVerdict(observed: observed, expiry: nil, now: now)
        #expect(verdict.status == .ok && verdict.observed == observed)
    }

    @Test func aCertificateValidForLongerThanTwoWeeksIsOk() {
        let verdict = StoreChecks.certificateVerdict(observed: observed, expiry: now.addingTimeInterval(30 * 86_400), now: now)
        #expect(verdict.status == .ok)
        #expect(verdict.observed == observed + " over TLS; the server's certificate is valid for 30 more days")
    }

    @Test func aCertificateExpiringWithinTwoWeeksWarnsAndSaysWhoRenewsIt() {
        let soon = StoreChecks.certificateVerdict(observed: observed, expiry: now.addingTimeInterval(5 * 86_400 + 3_600), now: now)
        #expect(soon.status == .warn)
        #expect(soon.observed.hasSuffix("over TLS; the server's certificate expires in 5.0 days"))
        #expect(soon.remedy.contains("renew the Redis server's certificate"))
        let edge = StoreChecks.certificateVerdict(observed: observed, expiry: now.addingTimeInterval(13.9 * 86_400), now: now)
        #expect(edge.status == .warn)
        let expired = StoreChecks.certificateVerdict(observed: observed, expiry: now.addingTimeInterval(-60), now: now)
        #expect(expired.status == .warn && expired.observed.hasSuffix("the server's certificate has expired"))
    }
}
