import Foundation
import VPTContract
import VPTLocalCloud
import VPTOnlineStore

/// Residency: where the tenant's data and compute are, and that no feature value leaked into the
/// control plane (which holds metadata only, encrypted).
enum ResidencyChecks {
    static let all = [locations, controlPlaneScan]

    static let locations = HealthCheck(
        id: "residency.locations", title: "Stores and compute inside the allowed regions",
        threshold: "every store, cache, compute and key region in residency.allowedRegions", onTimeout: .unknown,
        remedyOnTimeout: "reading the tenant's configuration took too long"
    ) { probe in
        guard let config = probe.config else {
            return probe.configMissing
        }
        var places: [(String, String)] = [
            ("online store", config.onlineStore.region), ("offline store", config.offlineStore.region),
            ("data plane and serving cache", config.dataPlane.region),
        ]
        if config.dataPlane.rift.enabled { places.append(("rift", config.dataPlane.rift.region)) }
        if let key = KMSKeyRef(arn: config.controlPlane.cmkArn) { places.append(("CMK", key.region)) }
        for compute in probe.spec?.customerAccount.computeProviders ?? [] { places.append(("compute \(compute.name)", compute.region)) }
        // Files must sit in the region folder their store claims (accounts/ACCOUNT/REGION/...).
        let root = config.accountsRoot.hasSuffix("/") ? config.accountsRoot : config.accountsRoot + "/"
        for (what, store) in [("online store file", config.onlineStore), ("offline store folder", config.offlineStore)]
        where store.location.hasPrefix(root) {
            let parts = store.location.dropFirst(root.count).split(separator: "/")
            if parts.count > 1 { places.append((what, String(parts[1]))) }
        }
        let outside = places.filter { !config.allowedRegions.contains($0.1) }
        guard outside.isEmpty else {
            return Verdict(
                status: .fail, observed: outside.map { "\($0.0) in \($0.1)" }.joined(separator: ", ") + " (allowed: \(config.allowedRegions.joined(separator: ", ")))",
                remedy: "move the named data into an allowed region and fix the spec; the data plane refuses to open such stores")
        }
        return .ok("\(places.count) locations in \(Set(places.map(\.1)).sorted().joined(separator: ", "))")
    }

    static let sampleSize = 200
    static let minimumValueLength = 6

    /// Samples feature values from the online store and looks for their bytes in every file of the
    /// control plane. Only text values (alone or in arrays) of at least 6 characters are sought: short and
    /// numeric values occur by chance.
    static let controlPlaneScan = HealthCheck(
        id: "residency.control-plane-scan", title: "No feature values in the control plane's files",
        threshold: "none of \(sampleSize) sampled feature values found in the control plane's files", onTimeout: .unknown,
        remedyOnTimeout: "scanning the control plane's files took too long"
    ) { probe in
        guard let config = probe.config else {
            return probe.configMissing
        }
        let sampled: [StoredFeatures]
        do {
            sampled = try StoreChecks.sample(config, limit: sampleSize)
        } catch {
            return Verdict(status: .unknown, observed: "could not sample the online store: \(error)", remedy: "see `store.online`")
        }
        var needles: [(feature: String, bytes: [UInt8])] = []
        for stored in sampled {
            for (name, value) in stored.features {
                switch value {
                case .string(let text) where text.utf8.count >= minimumValueLength: needles.append((name, Array(text.utf8)))
                case .array(let items):
                    for case .string(let text) in items where text.utf8.count >= minimumValueLength { needles.append((name, Array(text.utf8))) }
                default: break
                }
            }
        }
        let folder = URL(fileURLWithPath: config.controlPlane.dataDirectory)
        var scanned = 0
        var found: [String] = []
        let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let file = walker?.nextObject() as? URL {
            guard (try? file.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                let data = FileManager.default.contents(atPath: file.path)
            else { continue }
            scanned += 1
            for needle in needles where data.range(of: Data(needle.bytes)) != nil {
                found.append("a value of feature '\(needle.feature)' in \(file.lastPathComponent)")
                break
            }
        }
        guard found.isEmpty else {
            return Verdict(status: .fail, observed: found.prefix(3).joined(separator: "; "),
                           remedy: "feature data leaked into control-plane metadata: find what wrote it, remove it, and treat it as a residency incident")
        }
        return .ok("\(needles.count) values from \(sampled.count) records sought in \(scanned) files: none found")
    }
}
