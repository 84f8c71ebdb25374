import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The `date` header's value (RFC 9110 IMF-fixdate), formatted at most once a second per
/// connection: a formatter per response would cost more than the rest of the headers.
struct HTTPDateHeader {
    private var second: time_t = -1
    private var cached = ""

    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    mutating func value(now: time_t = time(nil)) -> String {
        if now != second {
            second = now
            cached = Self.format(now)
        }
        return cached
    }

    static func format(_ seconds: time_t) -> String {
        var clock = seconds
        var parts = tm()
        gmtime_r(&clock, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
