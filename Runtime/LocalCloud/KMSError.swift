/// Why the local KMS refused a request; messages never contain key material or plaintext.
public enum KMSError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound(String)
    case disabled(String, KMSKeyState)
    case accessDenied(principal: String, key: String)
    case invalidCiphertext(String)
    case deletionWindow(Int)
    case notPendingDeletion(String)
    case masterKeyMissing(String)

    public var description: String {
        switch self {
        case .notFound(let key): "KMS key \(key) does not exist"
        case .disabled(let key, let state):
            "KMS key \(key) is \(state.rawValue); enable it (or cancel its deletion) before using it"
        case .accessDenied(let principal, let key): "\(principal) is not allowed to use KMS key \(key)"
        case .invalidCiphertext(let reason): "the ciphertext cannot be decrypted: \(reason)"
        case .deletionWindow(let days): "a deletion window of \(days) days is outside 7...30"
        case .notPendingDeletion(let key): "KMS key \(key) is not pending deletion"
        case .masterKeyMissing(let path): "the fleet master key \(path) is missing; run `vpt init`"
        }
    }
}
