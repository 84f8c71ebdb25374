import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import VPTLocalCloud
import VPTMetadata

/// Crypto-shredding in the running control plane: when the tenant's CMK is disabled (the customer
/// pulled it, `vpt keys revoke --cmk`), the unwrapped data keys are dropped from memory and every
/// request that would need metadata is answered 503 with the reason, including the data plane's
/// snapshot poll, which suspends serving. When the key is enabled again the data keys are unwrapped
/// anew and service resumes. The key's state is read every half second.
public final class CMKGuard: @unchecked Sendable {
    private let lock = NSLock()
    private var reason: String?

    public init() {}

    public var unavailable: String? { lock.withLock { reason } }

    func set(_ new: String?) { lock.withLock { reason = new } }
}

/// Watches the CMK's state and locks or unlocks the metadata store.
public struct CMKWatcher: Service {
    let guardState: CMKGuard
    let store: MetadataStore
    let kms: LocalKMS
    let cmk: KMSKeyRef
    let tenant: String
    let logger: Logger

    public init(guardState: CMKGuard, store: MetadataStore, kms: LocalKMS, cmk: KMSKeyRef, tenant: String, logger: Logger) {
        self.guardState = guardState
        self.store = store
        self.kms = kms
        self.cmk = cmk
        self.tenant = tenant
        self.logger = logger
    }

    /// One look at the key; public for tests.
    public func check() {
        let state = (try? kms.describe(cmk))?.state
        let locked = guardState.unavailable != nil
        if state != .enabled, !locked {
            store.lock()
            let how = state.map { "is \($0.rawValue)" } ?? "is gone"
            guardState.set(
                "tenant '\(tenant)': its customer master key \(cmk.arn) \(how), so its metadata cannot be decrypted; "
                    + "serving resumes when the key is enabled again (vpt keys enable \(tenant) --cmk)")
            logger.warning("CMK unavailable: metadata locked", metadata: ["cmk": "\(cmk.arn)"])
        } else if state == .enabled, locked {
            do {
                try store.reload()
                guardState.set(nil)
                logger.notice("CMK enabled again: metadata unlocked")
            } catch {
                logger.error("CMK enabled but data keys could not be unwrapped", metadata: ["error": "\(error)"])
            }
        }
    }

    public func run() async throws {
        // Shutdown cancels the sleep; that is the normal end, not an error.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                check()
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}

/// Answers 503 with the CMK's state for every route but health and metrics while it is unavailable.
struct CMKGuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let guardState: CMKGuard

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let reason = guardState.unavailable, !["/healthz", "/readyz", "/metrics"].contains(request.uri.path) {
            throw APIError.unavailable(reason)
        }
        return try await next(request, context)
    }
}
