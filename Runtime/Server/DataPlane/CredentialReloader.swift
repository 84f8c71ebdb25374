import Foundation
import VPTContract

/// `POST /internal/v1/credentials/reload`: reads the runtime config and the credential file again,
/// assumes the cross-account role with them and switches the store to the new session. If any
/// step fails the old session keeps serving and the caller gets the error.
public struct CredentialReloader: Sendable {
    public let store: SwitchableStore
    public let configPath: String?

    public init(store: SwitchableStore, configPath: String?) {
        self.store = store
        self.configPath = configPath
    }

    public func reload() throws -> CredentialIdentity {
        guard let configPath else { throw APIError.notFound("this data plane was started without a config path") }
        do {
            let config = try RuntimeServices.loadConfig(configPath)
            let (opened, identity) = try SwitchableStore.open(config)
            store.replace(opened, identity: identity)
            return identity
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.conflict, "the new credentials do not work, the old ones stay in use: \(error)")
        }
    }
}
