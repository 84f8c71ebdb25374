import Crypto
import Foundation
import VPTContract

/// The local target's KMS: versioned AES-256 keys per account and region, with key material
/// wrapped under the fleet master key, envelope ciphertexts that name key and version, and
/// scheduled deletion with a 7 to 30 day window.
public struct LocalKMS: Sendable {
    /// `$VPT_HOME/accounts`.
    public let accountsRoot: URL
    /// Raw bytes (SymmetricKey is not Sendable in this swift-crypto); wrapped into a key per use.
    private let masterKeyBytes: [UInt8]
    private var masterKey: SymmetricKey { SymmetricKey(data: masterKeyBytes) }

    public init(accountsRoot: URL, masterKey: SymmetricKey) {
        self.accountsRoot = accountsRoot
        self.masterKeyBytes = masterKey.withUnsafeBytes { Array($0) }
    }

    /// Opens the KMS of a fleet home, reading its master key.
    public init(home: URL) throws {
        self.init(accountsRoot: home.appendingPathComponent("accounts"), masterKey: try FleetMasterKey.load(home: home))
    }

    func keyFile(_ ref: KMSKeyRef) -> URL {
        accountsRoot.appendingPathComponent("\(ref.account)/\(ref.region)/kms/keys/\(ref.keyId).json")
    }

    func aliasFile(account: String, region: String, alias: String) -> URL {
        let name = alias.replacingOccurrences(of: "/", with: "%2F")
        return accountsRoot.appendingPathComponent("\(account)/\(region)/kms/aliases/\(name).json")
    }

    /// Creates a key with the given id, or returns it unchanged if it already exists (idempotent, so a
    /// crashed provisioning run that re-creates the same key id gets the same key).
    public func createKey(
        _ ref: KMSKeyRef, description: String, rotationDays: Int, grantees: [String], now: Date = Date()
    ) throws -> KMSKey {
        if let existing = try describe(ref) { return existing }
        let key = KMSKey(
            ref: ref, description: description, state: .enabled, createdAt: now, rotationDays: rotationDays,
            grantees: grantees.sorted(), primaryVersion: 1, versions: [try newVersion(ref, 1, now)], deletionDate: nil)
        FaultInjection.hit("kms.before-key-write")
        try SecureFiles.writeJSON(key, to: keyFile(ref))
        return try require(ref)  // as stored (dates at second precision), so repeated calls compare equal
    }

    /// The stored key, or nil.
    public func describe(_ ref: KMSKeyRef) throws -> KMSKey? {
        try SecureFiles.readJSON(KMSKey.self, from: keyFile(ref))
    }

    func require(_ ref: KMSKeyRef) throws -> KMSKey {
        guard let key = try describe(ref) else { throw KMSError.notFound(ref.arn) }
        return key
    }

    /// Points `alias/NAME` at a key.
    public func setAlias(_ alias: String, to ref: KMSKeyRef) throws {
        try SecureFiles.writeJSON(ref, to: aliasFile(account: ref.account, region: ref.region, alias: alias))
    }

    /// Resolves `alias/NAME` in an account and region.
    public func resolveAlias(_ alias: String, account: String, region: String) throws -> KMSKeyRef? {
        try SecureFiles.readJSON(KMSKeyRef.self, from: aliasFile(account: account, region: region, alias: alias))
    }

    public func deleteAlias(_ alias: String, account: String, region: String) throws {
        try? FileManager.default.removeItem(at: aliasFile(account: account, region: region, alias: alias))
    }

    /// Replaces the list of principals allowed to use the key (the key policy's grants).
    public func setGrantees(_ ref: KMSKeyRef, _ grantees: [String]) throws {
        var key = try require(ref)
        key.grantees = Array(Set(grantees)).sorted()
        try SecureFiles.writeJSON(key, to: keyFile(ref))
    }

    /// Adds a key version and makes it primary; older versions keep decrypting.
    @discardableResult
    public func rotate(_ ref: KMSKeyRef, now: Date = Date()) throws -> UInt32 {
        var key = try require(ref)
        let next = (key.versions.map(\.version).max() ?? 0) + 1
        key.versions.append(try newVersion(ref, next, now))
        key.primaryVersion = next
        try SecureFiles.writeJSON(key, to: keyFile(ref))
        return next
    }

    /// Encrypts with the primary version; `context` is bound as associated data.
    public func encrypt(_ ref: KMSKeyRef, _ plaintext: [UInt8], context: [String: String], caller: String) throws -> [UInt8] {
        let key = try usable(ref, caller: caller)
        let material = try unwrap(key, version: key.primaryVersion)
        let nonce = AES.GCM.Nonce()
        var envelope = EnvelopeCiphertext(keyId: ref.keyId, keyVersion: key.primaryVersion, nonce: Array(nonce), sealed: [])
        let aad = envelope.header + EnvelopeCiphertext.canonicalContext(context)
        let box = try AES.GCM.seal(plaintext, using: material, nonce: nonce, authenticating: aad)
        envelope.sealed = Array(box.ciphertext) + Array(box.tag)
        return envelope.bytes
    }

    /// Decrypts an envelope made by `encrypt` under any enabled version of the key.
    public func decrypt(_ ref: KMSKeyRef, _ ciphertext: [UInt8], context: [String: String], caller: String) throws -> [UInt8] {
        guard let envelope = EnvelopeCiphertext(bytes: ciphertext) else {
            throw KMSError.invalidCiphertext("not an envelope")
        }
        guard envelope.keyId == ref.keyId else {
            throw KMSError.invalidCiphertext("it was made with key \(envelope.keyId), not \(ref.keyId)")
        }
        let key = try usable(ref, caller: caller)
        let material = try unwrap(key, version: envelope.keyVersion)
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: envelope.nonce), ciphertext: envelope.sealed.dropLast(16),
                tag: envelope.sealed.suffix(16))
            let aad = envelope.header + EnvelopeCiphertext.canonicalContext(context)
            return Array(try AES.GCM.open(box, using: material, authenticating: aad))
        } catch {
            throw KMSError.invalidCiphertext("authentication failed (wrong key version or encryption context)")
        }
    }

    /// A fresh 256-bit data key, returned in plaintext and wrapped under the CMK.
    public func generateDataKey(_ ref: KMSKeyRef, context: [String: String], caller: String) throws -> (
        plaintext: SymmetricKey, wrapped: [UInt8]
    ) {
        let dataKey = SymmetricKey(size: .bits256)
        let wrapped = try dataKey.withUnsafeBytes { try encrypt(ref, Array($0), context: context, caller: caller) }
        return (dataKey, wrapped)
    }

    /// Schedules deletion after `days` (7...30); the key is unusable from now on.
    @discardableResult
    public func scheduleDeletion(_ ref: KMSKeyRef, days: Int, now: Date = Date()) throws -> Date {
        guard (7...30).contains(days) else { throw KMSError.deletionWindow(days) }
        var key = try require(ref)
        if key.state == .pendingDeletion, let date = key.deletionDate { return date }
        key.state = .pendingDeletion
        key.deletionDate = now.addingTimeInterval(TimeInterval(days) * 86400)
        try SecureFiles.writeJSON(key, to: keyFile(ref))
        return key.deletionDate!
    }

    /// Cancels a scheduled deletion; the key comes back disabled, as in AWS.
    public func cancelDeletion(_ ref: KMSKeyRef) throws {
        var key = try require(ref)
        guard key.state == .pendingDeletion else { throw KMSError.notPendingDeletion(ref.arn) }
        key.state = .disabled
        key.deletionDate = nil
        try SecureFiles.writeJSON(key, to: keyFile(ref))
    }

    /// Enables or disables a key (the customer pulling or restoring it).
    public func setEnabled(_ ref: KMSKeyRef, _ enabled: Bool) throws {
        var key = try require(ref)
        guard key.state != .pendingDeletion else { throw KMSError.disabled(ref.arn, key.state) }
        key.state = enabled ? .enabled : .disabled
        try SecureFiles.writeJSON(key, to: keyFile(ref))
    }

    /// Deletes keys whose deletion date has passed; returns their ARNs.
    public func purgeDeletedKeys(account: String, region: String, now: Date = Date()) throws -> [String] {
        let dir = accountsRoot.appendingPathComponent("\(account)/\(region)/kms/keys")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        var purged: [String] = []
        for name in names where name.hasSuffix(".json") {
            let url = dir.appendingPathComponent(name)
            guard let key = try SecureFiles.readJSON(KMSKey.self, from: url), key.state == .pendingDeletion,
                let date = key.deletionDate, date <= now
            else { continue }
            try FileManager.default.removeItem(at: url)
            purged.append(key.ref.arn)
        }
        return purged
    }

    private func usable(_ ref: KMSKeyRef, caller: String) throws -> KMSKey {
        let key = try require(ref)
        guard key.state == .enabled else { throw KMSError.disabled(ref.arn, key.state) }
        guard caller == "arn:aws:iam::\(ref.account):root" || key.grantees.contains(caller) else {
            throw KMSError.accessDenied(principal: caller, key: ref.arn)
        }
        return key
    }

    private func newVersion(_ ref: KMSKeyRef, _ version: UInt32, _ now: Date) throws -> KMSKeyVersion {
        let material = SymmetricKey(size: .bits256)
        let sealed = try material.withUnsafeBytes {
            try AES.GCM.seal(Array($0), using: masterKey, authenticating: Array("\(ref.arn)#\(version)".utf8))
        }
        return KMSKeyVersion(
            version: version, createdAt: now, wrappedMaterial: sealed.combined!.base64EncodedString(), enabled: true)
    }

    private func unwrap(_ key: KMSKey, version: UInt32) throws -> SymmetricKey {
        guard let stored = key.versions.first(where: { $0.version == version }), stored.enabled,
            let combined = Data(base64Encoded: stored.wrappedMaterial)
        else { throw KMSError.invalidCiphertext("key version \(version) of \(key.ref.arn) is not available") }
        let box = try AES.GCM.SealedBox(combined: combined)
        let raw = try AES.GCM.open(box, using: masterKey, authenticating: Array("\(key.ref.arn)#\(version)".utf8))
        return SymmetricKey(data: raw)
    }
}

extension LocalKMS {
    /// Enables or disables one version (never the primary). Ciphertexts under a disabled version
    /// cannot be decrypted; rotation disables a version once nothing refers to it.
    public func setVersionEnabled(_ ref: KMSKeyRef, version: UInt32, enabled: Bool) throws {
        var key = try require(ref)
        guard version != key.primaryVersion || enabled else { throw KMSError.invalidCiphertext("the primary version \(version) cannot be disabled") }
        guard let index = key.versions.firstIndex(where: { $0.version == version }) else {
            throw KMSError.invalidCiphertext("key \(ref.arn) has no version \(version)")
        }
        key.versions[index].enabled = enabled
        try SecureFiles.writeJSON(key, to: keyFile(ref))
    }

    /// Changes how often the key should be rotated.
    public func setRotationDays(_ ref: KMSKeyRef, _ days: Int) throws {
        var key = try require(ref)
        key.rotationDays = days
        try SecureFiles.writeJSON(key, to: keyFile(ref))
    }
}
