import Crypto
#if canImport(Glibc)
    import Glibc
#endif
import Foundation
import Testing
import VPTContract

@testable import VPTLocalCloud
import VPTTestSupport

@Suite struct LocalKMSTests {
    let home = temporaryDirectory()
    let ref = KMSKeyRef(account: "111122223333", region: "eu-west-1", keyId: "k-1")
    let root = "arn:aws:iam::111122223333:root"

    func kms() throws -> LocalKMS {
        try FleetMasterKey.create(home: home)
        return try LocalKMS(home: home)
    }

    @Test func roundTripAcrossRotationWithBoundContext() throws {
        let kms = try kms()
        _ = try kms.createKey(ref, description: "t", rotationDays: 365, grantees: [])
        let v1 = try kms.encrypt(ref, Array("hello".utf8), context: ["tenant": "a", "record": "1"], caller: root)
        #expect(EnvelopeCiphertext(bytes: v1)?.keyVersion == 1)
        #expect(try kms.rotate(ref) == 2)
        let v2 = try kms.encrypt(ref, Array("world".utf8), context: ["tenant": "a"], caller: root)
        #expect(EnvelopeCiphertext(bytes: v2)?.keyVersion == 2)
        #expect(try kms.decrypt(ref, v1, context: ["record": "1", "tenant": "a"], caller: root) == Array("hello".utf8))
        #expect(try kms.decrypt(ref, v2, context: ["tenant": "a"], caller: root) == Array("world".utf8))
        // Another tenant's or record's context cannot open it.
        #expect(throws: KMSError.self) { try kms.decrypt(ref, v1, context: ["tenant": "b", "record": "1"], caller: root) }
    }

    @Test func keyMaterialIsWrappedAndFilesArePrivate() throws {
        let kms = try kms()
        _ = try kms.createKey(ref, description: "t", rotationDays: 365, grantees: [])
        let file = kms.keyFile(ref)
        #expect(SecureFiles.mode(of: file) == 0o600)
        #expect(SecureFiles.mode(of: file.deletingLastPathComponent()) == 0o700)
        #expect(SecureFiles.mode(of: FleetMasterKey.url(home: home)) == 0o600)
        // Another master key cannot unwrap the material.
        let other = LocalKMS(accountsRoot: kms.accountsRoot, masterKey: SymmetricKey(size: .bits256))
        #expect(throws: (any Error).self) { try other.encrypt(ref, [1], context: [:], caller: root) }
    }

    @Test func createIsIdempotent() throws {
        let kms = try kms()
        let first = try kms.createKey(ref, description: "t", rotationDays: 365, grantees: [])
        let second = try kms.createKey(ref, description: "other", rotationDays: 90, grantees: [])
        #expect(first == second)
    }

    @Test func grantsAreEnforced() throws {
        let kms = try kms()
        let role = "arn:aws:iam::444455556666:role/dp"
        _ = try kms.createKey(ref, description: "t", rotationDays: 365, grantees: [role])
        _ = try kms.encrypt(ref, [1], context: [:], caller: role)
        #expect(throws: KMSError.accessDenied(principal: "arn:aws:iam::444455556666:role/other", key: ref.arn)) {
            try kms.encrypt(ref, [1], context: [:], caller: "arn:aws:iam::444455556666:role/other")
        }
    }

    @Test func dataKeysUnwrapToTheSameKey() throws {
        let kms = try kms()
        _ = try kms.createKey(ref, description: "t", rotationDays: 365, grantees: [])
        let (plain, wrapped) = try kms.generateDataKey(ref, context: ["tenant": "a"], caller: root)
        let unwrapped = try kms.decrypt(ref, wrapped, context: ["tenant": "a"], caller: root)
        #expect(plain.withUnsafeBytes { Array($0) } == unwrapped)
        #expect(unwrapped.count == 32)
    }

    @Test func scheduledDeletionHonoursTheWindowAndDisablesUse() throws {
        let kms = try kms()
        _ = try kms.createKey(ref, description: "t", rotationDays: 365, grantees: [])
        #expect(throws: KMSError.deletionWindow(6)) { try kms.scheduleDeletion(ref, days: 6) }
        #expect(throws: KMSError.deletionWindow(31)) { try kms.scheduleDeletion(ref, days: 31) }
        let now = Date()
        let date = try kms.scheduleDeletion(ref, days: 7, now: now)
        #expect(date == now.addingTimeInterval(7 * 86400))
        #expect(throws: KMSError.disabled(ref.arn, .pendingDeletion)) { try kms.encrypt(ref, [1], context: [:], caller: root) }
        #expect(try kms.purgeDeletedKeys(account: ref.account, region: ref.region, now: now).isEmpty)
        try kms.cancelDeletion(ref)
        #expect(try kms.describe(ref)?.state == .disabled)
        try kms.setEnabled(ref, true)
        _ = try kms.encrypt(ref, [1], context: [:], caller: root)
        _ = try kms.scheduleDeletion(ref, days: 7, now: now)
        #expect(try kms.purgeDeletedKeys(account: ref.account, region: ref.region, now: date) == [ref.arn])
        #expect(try kms.describe(ref) == nil)
    }

    @Test func missingMasterKeyIsAnActionableError() {
        #expect(throws: KMSError.masterKeyMissing(FleetMasterKey.url(home: home).path)) { try LocalKMS(home: home) }
    }
}

@Suite struct SecureFilesTests {
    @Test func newDirectoriesAre0700AndExistingAncestorsKeepTheirMode() throws {
        let parent = temporaryDirectory()
        chmod(parent.path, 0o755)
        let leaf = parent.appendingPathComponent("a/b/c")
        try SecureFiles.makeDirectory(leaf)
        #expect(SecureFiles.mode(of: parent) == 0o755)
        #expect(SecureFiles.mode(of: parent.appendingPathComponent("a")) == 0o700)
        #expect(SecureFiles.mode(of: leaf) == 0o700)
    }

    @Test func atomicWritesAre0600AndLeaveNoTemporaryFile() throws {
        let dir = temporaryDirectory()
        let file = dir.appendingPathComponent("x/y.json")
        try SecureFiles.write(Data("one".utf8), to: file)
        try SecureFiles.write(Data("two".utf8), to: file)
        #expect(try String(contentsOf: file, encoding: .utf8) == "two")
        #expect(SecureFiles.mode(of: file) == 0o600)
        #expect(SecureFiles.temporaryFiles(under: dir).isEmpty)
    }

    @Test func staleTemporaryFilesOfDeadWritersAreRemovedLiveOnesKept() throws {
        let dir = temporaryDirectory()
        let dead = dir.appendingPathComponent(".a.json\(SecureFiles.temporaryMarker)999999-1")
        let live = dir.appendingPathComponent(".b.json\(SecureFiles.temporaryMarker)1-1")  // pid 1 is alive
        try Data().write(to: dead)
        try Data().write(to: live)
        #expect(SecureFiles.removeStaleTemporaryFiles(under: dir) == 1)
        #expect(SecureFiles.temporaryFiles(under: dir) == [live.lastPathComponent])
    }
}
