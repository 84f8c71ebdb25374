import Foundation
import NIOCore
import VPTContract
import VPTLocalCloud
import VPTOnlineStore

/// Who the data plane is in the customer account: the access key it presented, the external ID
/// it used and when its session expires. Never the secrets themselves.
public struct CredentialIdentity: Codable, Sendable, Equatable {
    public var accessKeyId: String
    public var externalIdSHA256: String
    public var sessionExpiresAt: Date
}

/// The online store behind the data plane, opened with a session from the cross-account role,
/// and replaceable while serving: a credential rotation opens the store with the new session and
/// switches in one step, so no request sees a half-changed credential.
public final class SwitchableStore: OnlineStore, @unchecked Sendable {
    private let lock = NSLock()
    private var current: any OnlineStore
    private var currentIdentity: CredentialIdentity

    public init(_ store: any OnlineStore, identity: CredentialIdentity) {
        current = store
        currentIdentity = identity
    }

    public var identity: CredentialIdentity { lock.withLock { currentIdentity } }

    public func replace(_ store: any OnlineStore, identity: CredentialIdentity) {
        lock.withLock {
            current = store
            currentIdentity = identity
        }
    }

    public func write(_ records: [OnlineRecord]) throws -> Int { try lock.withLock { current }.write(records) }

    public func read(workspace: String, featureView: String, entityKeys: [[FeatureValue]]) throws -> [StoredFeatures?] {
        try lock.withLock { current }.read(workspace: workspace, featureView: featureView, entityKeys: entityKeys)
    }

    public func readEncoded(workspace: String, featureView: String, entityKeys: [[FeatureValue]], on loop: any EventLoop) -> EventLoopFuture<[[UInt8]?]> {
        lock.withLock { current }.readEncoded(workspace: workspace, featureView: featureView, entityKeys: entityKeys, on: loop)
    }

    /// Assumes the cross-account role with the credential file and external ID of `config`, checks
    /// residency and the offline store, and opens the online store.
    public static func open(_ config: RuntimeConfig) throws -> (any OnlineStore, CredentialIdentity) {
        let sts = LocalSTS(iam: LocalIAM(accountsRoot: URL(fileURLWithPath: config.accountsRoot)))
        guard let caller = try SecureFiles.readJSON(AccessKeyCredential.self, from: URL(fileURLWithPath: config.crossAccount.callerCredentialFile)) else {
            throw RuntimeServices.StartupError.missingFile(config.crossAccount.callerCredentialFile)
        }
        let session = try sts.assumeRole(
            roleArn: config.crossAccount.roleArn, externalId: config.crossAccount.externalId, sessionName: "\(config.tenant)-data-plane",
            durationSeconds: config.crossAccount.sessionSeconds, caller: caller)
        let store: any OnlineStore
        switch config.onlineStore.kind {
        case "sqlite":
            store = try SQLiteOnlineStore(config: config.onlineStore, allowedRegions: config.allowedRegions, session: session, sts: sts, write: true)
        case "redis":
            store = try RedisOnlineStore(config: config.onlineStore, allowedRegions: config.allowedRegions, session: session, sts: sts, write: true)
        default:
            throw OnlineStoreError.unsupported(config.onlineStore.kind)
        }
        guard config.allowedRegions.contains(config.offlineStore.region) else {
            throw OnlineStoreError.outsideResidency(region: config.offlineStore.region, allowed: config.allowedRegions)
        }
        _ = try sts.authorize(session, action: "store:write", resource: "\(config.offlineStore.resource)/ingest")
        return (
            store,
            CredentialIdentity(
                accessKeyId: caller.accessKeyId, externalIdSHA256: Hex.sha256(config.crossAccount.externalId), sessionExpiresAt: session.expiration)
        )
    }
}
