/// How many feature-serving requests one service account may make: a token bucket that refills at
/// `requestsPerSecond` and holds at most `burst`. The tenant spec sets a default for every service
/// account (`dataPlane.rateLimit`); the control plane can set one per service account, which the
/// data plane receives with its snapshot.
public struct RateLimit: Codable, Sendable, Equatable, Hashable {
    public var requestsPerSecond: Int
    public var burst: Int

    /// The accepted ranges, shared by the spec validator and the control plane's API.
    public static let requestsPerSecondRange = 1...1_000_000
    public static let burstRange = 1...1_000_000

    /// `burst` defaults to one second's worth of requests.
    public init(requestsPerSecond: Int, burst: Int? = nil) {
        self.requestsPerSecond = requestsPerSecond
        self.burst = burst ?? requestsPerSecond
    }

    /// A field outside its range.
    public struct Violation: Sendable, Equatable {
        public let field: String
        public let value: Int
        public let range: ClosedRange<Int>
    }

    /// The fields outside their ranges. A burst equal to the rate (its default) is in range exactly
    /// when the rate is, so it is reported once, under the rate.
    public var violations: [Violation] {
        var found: [Violation] = []
        if !Self.requestsPerSecondRange.contains(requestsPerSecond) {
            found.append(Violation(field: "requestsPerSecond", value: requestsPerSecond, range: Self.requestsPerSecondRange))
        }
        if burst != requestsPerSecond, !Self.burstRange.contains(burst) {
            found.append(Violation(field: "burst", value: burst, range: Self.burstRange))
        }
        return found
    }

    /// What is wrong with this limit, as `field: rule` messages under `prefix`; empty when valid.
    public func problems(at prefix: String) -> [String] {
        violations.map { "\(prefix)\($0.field): \($0.value) must be between \($0.range.lowerBound) and \($0.range.upperBound)" }
    }
}
