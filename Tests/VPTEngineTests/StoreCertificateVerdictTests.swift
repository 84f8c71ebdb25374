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
        let mutual = StoreChecks.certificateVerdict(
            observed: observed, expiry: now.addingTimeInterval(30 * 86_400), clientExpiry: now.addingTimeInterval(90 * 86_400), now: now)
        #expect(mutual.status == .ok)
        #expect(mutual.observed.hasSuffix("the server's certificate is valid for 30 more days; the tenant's client certificate is valid for 90 more days"))
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

    /// A client certificate close to its end warns on its own, with its own remedy.
    @Test func anExpiringClientCertificateWarnsAndSaysWhatToRenew() {
        let verdict = StoreChecks.certificateVerdict(
            observed: observed, expiry: now.addingTimeInterval(30 * 86_400), clientExpiry: now.addingTimeInterval(2 * 86_400), now: now)
        #expect(verdict.status == .warn)
        #expect(verdict.observed.hasSuffix("the server's certificate is valid for 30 more days; the tenant's client certificate expires in 2.0 days"))
        #expect(verdict.remedy.contains("issue the tenant a new client certificate and key") && !verdict.remedy.contains("server's certificate"))
        #expect(verdict.remedy.contains("`vpt keys rotate TENANT --credentials`"))
        let both = StoreChecks.certificateVerdict(observed: observed, expiry: now.addingTimeInterval(-1), clientExpiry: now.addingTimeInterval(-1), now: now)
        #expect(both.observed.hasSuffix("the server's certificate has expired; the tenant's client certificate has expired"))
        #expect(both.remedy.contains("server's certificate") && both.remedy.contains("client certificate"))
    }
}
