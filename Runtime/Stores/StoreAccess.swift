import Foundation
import VPTContract
import VPTLocalCloud

/// The checks every online store runs before it touches anything: the store's kind, its region
/// inside the allowed regions, and a session from the cross-account role that may use it.
enum StoreAccess {
    static func check(
        _ config: StoreConfig, kind: String, allowedRegions: [String], session: SessionCredential, sts: LocalSTS, write: Bool,
        object: String, now: Date
    ) throws {
        guard config.kind == kind else { throw OnlineStoreError.unsupported(config.kind) }
        guard allowedRegions.contains(config.region) else {
            throw OnlineStoreError.outsideResidency(region: config.region, allowed: allowedRegions)
        }
        do {
            _ = try sts.authorize(session, action: write ? "store:write" : "store:read", resource: "\(config.resource)/\(object)", now: now)
        } catch {
            throw OnlineStoreError.accessDenied("\(error)")
        }
    }
}
