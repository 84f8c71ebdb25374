/// An online store that cannot serve right now (not reachable, login or access refused): callers
/// answer 503, not 500. `OnlineStoreError` and the Redis connection's failures conform.
public protocol OnlineStoreUnavailable: Error {}

/// Why an online store refused to open or to answer; never contains feature values or secrets.
public enum OnlineStoreError: OnlineStoreUnavailable, Equatable, Sendable, CustomStringConvertible {
    case outsideResidency(region: String, allowed: [String])
    case accessDenied(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .outsideResidency(let region, let allowed):
            "the online store is in \(region), outside residency.allowedRegions [\(allowed.joined(separator: ", "))]; refusing to open it"
        case .accessDenied(let reason): "the online store cannot be opened: \(reason)"
        case .unsupported(let kind): "online store kind '\(kind)' is not supported by this adapter"
        }
    }
}
