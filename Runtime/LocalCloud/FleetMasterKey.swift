import Crypto
import Foundation

/// The fleet master key: 32 random bytes in `$VPT_HOME/kms/master.key` (mode 0600) that wrap all
/// local KMS key material. Created once by `vpt init`; never printed or logged.
public enum FleetMasterKey {
    public static func url(home: URL) -> URL { home.appendingPathComponent("kms/master.key") }

    /// Creates the key if absent; returns true if it was created.
    @discardableResult
    public static func create(home: URL) throws -> Bool {
        let url = url(home: home)
        if FileManager.default.fileExists(atPath: url.path) { return false }
        let key = SymmetricKey(size: .bits256)
        try key.withUnsafeBytes { try SecureFiles.write(Data($0), to: url) }
        return true
    }

    public static func load(home: URL) throws -> SymmetricKey {
        let url = url(home: home)
        guard let data = FileManager.default.contents(atPath: url.path), data.count == 32 else {
            throw KMSError.masterKeyMissing(url.path)
        }
        return SymmetricKey(data: data)
    }
}
