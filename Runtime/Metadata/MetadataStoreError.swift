/// Why encrypted metadata could not be read or written; never contains plaintext or key material.
public enum MetadataStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case keyUnavailable(String)
    case undecryptable(kind: String, workspace: String, name: String)

    public var description: String {
        switch self {
        case .keyUnavailable(let reason):
            "the tenant's metadata cannot be unlocked because its CMK is unavailable (\(reason)); restore or re-enable the key"
        case .undecryptable(let kind, let workspace, let name):
            "metadata \(kind) '\(name)' in workspace '\(workspace)' failed authentication: it was altered or moved"
        }
    }
}
