import Synchronization
import VPTContract

/// One service account's serving allowance: tokens refill at the limit's rate up to its burst, and
/// each lookup takes one. Shared by all of the account's keys and kept across snapshots, so a new
/// snapshot (a key issued, a role changed) neither refills nor empties it. The limit is passed on
/// each call, so a changed limit applies to the very next request.
final class TokenBucket: Sendable {
    private struct State {
        var tokens: Double
        /// Monotonic nanoseconds of the last refill; nil until the first request, which finds the bucket full.
        var updated: UInt64?
    }

    private let state = Mutex(State(tokens: 0, updated: nil))
    /// Requests refused for want of tokens, for `/metrics`.
    let refused = Atomic<Int>(0)

    /// Takes `cost` tokens at `now` (monotonic nanoseconds). Nil when the request may go ahead;
    /// otherwise how many seconds until `cost` tokens will be there, and nothing is taken.
    func take(_ cost: Int, limit: RateLimit, now: UInt64) -> Double? {
        state.withLock { state in
            let burst = Double(limit.burst), rate = Double(limit.requestsPerSecond)
            if let updated = state.updated {
                let elapsed = now > updated ? Double(now - updated) / 1e9 : 0
                state.tokens = min(burst, state.tokens + elapsed * rate)
            } else {
                state.tokens = burst
            }
            state.updated = now
            guard state.tokens < Double(cost) else {
                state.tokens -= Double(cost)
                return nil
            }
            refused.add(1, ordering: .relaxed)
            return (Double(cost) - state.tokens) / rate
        }
    }
}
