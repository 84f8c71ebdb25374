import Foundation
import Testing
import VPTState
import VPTTestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A refused lock must leave every other descriptor of the process alone. It once closed its
/// descriptor, threw, and then its deinit truncated and closed the same number again; by then
/// another thread could own that number (an SQLite database), which was truncated or lost its file.
@Suite(.offCooperativePool) struct TenantLockTests {
    /// Files written and read back on other threads while refused locks come and go: each must keep
    /// its bytes and its descriptor.
    @Test func aRefusedLockTouchesNoOtherDescriptor() throws {
        let home = temporaryDirectory()
        let held = try TenantLock(home: home, tenant: "acme", purpose: "holder")
        let files = home.appendingPathComponent("files")
        try FileManager.default.createDirectory(at: files, withIntermediateDirectories: true)
        let payload = [UInt8](repeating: 0x5a, count: 4096)
        let damage = LockedCounter()
        let refusals = LockedCounter()
        let deadline = Date().addingTimeInterval(2.5)
        DispatchQueue.concurrentPerform(iterations: 4) { worker in
            var round = 0
            while Date() < deadline {
                round += 1
                if worker == 0 {
                    do {
                        _ = try TenantLock(home: home, tenant: "acme", purpose: "contender \(worker)")
                        damage.add()  // granted while held: as wrong as a damaged file
                    } catch is TenantLock.Held { refusals.add() } catch { damage.add() }
                    continue
                }
                let path = files.appendingPathComponent("w\(worker)-\(round % 8)").path
                let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                guard fd >= 0 else {
                    damage.add()
                    continue
                }
                let written = payload.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
                usleep(100)  // held open a while, as a database file is
                var info = stat()
                let intact = written == payload.count && fstat(fd, &info) == 0 && info.st_size == payload.count
                if !intact || close(fd) != 0 { damage.add() }
            }
        }
        #expect(refusals.value > 0)
        #expect(damage.value == 0, "\(damage.value) files lost bytes or their descriptor while \(refusals.value) locks were refused")
        withExtendedLifetime(held) {}
    }
}
