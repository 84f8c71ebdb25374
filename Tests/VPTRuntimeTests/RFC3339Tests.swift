import Foundation
import Testing
@testable import VPTRuntime

/// Ingest reads event times with its own RFC 3339 parser; it must agree with Foundation's
/// ISO-8601 reading wherever both apply, keep microseconds, and refuse what is not a time.
@Suite struct RFC3339Tests {
    @Test func agreesWithFoundationOnWholeAndMillisecondTimesInEveryOffset() throws {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            // 1600-01-01 to 2400-01-01, leap days and century years included.
            let seconds = Int64.random(in: -11_676_096_000...13_569_465_600, using: &generator)
            let millis = Int64.random(in: 0..<1000, using: &generator)
            let offsetMinutes = [0, 60, -300, 330, 345, -570, 840, -720].randomElement(using: &generator)!
            let zone = TimeZone(secondsFromGMT: offsetMinutes * 60)!
            plain.timeZone = zone
            fractional.timeZone = zone
            let date = Date(timeIntervalSince1970: Double(seconds) + Double(millis) / 1000)
            let whole = plain.string(from: Date(timeIntervalSince1970: Double(seconds)))
            #expect(RFC3339.micros(whole) == seconds * 1_000_000, "\(whole)")
            let withFraction = fractional.string(from: date)
            let expected = Int64((try #require(fractional.date(from: withFraction)).timeIntervalSince1970 * 1000).rounded()) * 1000
            #expect(RFC3339.micros(withFraction) == expected, "\(withFraction)")
        }
    }

    @Test func keepsMicrosecondsAndReadsTheFormsRFC3339Allows() {
        #expect(RFC3339.micros("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.micros("2026-11-28T07:00:00.123456Z") == 1_795_849_200_123_456)
        #expect(RFC3339.micros("2026-11-28T07:00:00.1234567891Z") == 1_795_849_200_123_456, "digits past microseconds are dropped")
        #expect(RFC3339.micros("2026-11-28t08:30:00.5+01:30") == 1_795_849_200_500_000)
        #expect(RFC3339.micros("2026-11-28 07:00:00z") == 1_795_849_200_000_000)
        #expect(RFC3339.micros("1969-12-31T23:59:59.999999Z") == -1)
        #expect(RFC3339.micros("2024-02-29T00:00:00Z") == 1_709_164_800_000_000)
    }

    @Test(arguments: [
        "", "2026-11-28", "2026-11-28T07:00:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
        "2026-11-31T00:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T07:60:00Z", "2026-11-28T07:00:60Z", "2026-11-28T07:00:00.Z",
        "2026-11-28T07:00:00+1:00", "2026-11-28T07:00:00+01:00x", "2026-11-28X07:00:00Z", "２026-11-28T07:00:00Z", "1700000000000000",
    ])
    func refusesWhatIsNotAnRFC3339Time(_ text: String) {
        #expect(RFC3339.micros(text) == nil, "\(text)")
    }
}
