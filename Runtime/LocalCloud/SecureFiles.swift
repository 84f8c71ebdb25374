import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// File operations with the modes tenant isolation needs: directories 0700, files 0600, and
/// atomic replacement (temp file, fsync, rename) so a crash never leaves a half-written file.
public enum SecureFiles {
    /// Suffix marker of temporary files; anything carrying it after a crash is garbage.
    public static let temporaryMarker = ".tmp-"

    public enum Failure: Error, CustomStringConvertible {
        case io(path: String, operation: String, errno: Int32)
        public var description: String {
            switch self {
            case .io(let path, let operation, let code):
                "cannot \(operation) \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Creates `url` and any missing parents with mode 0700, and tightens `url` itself to 0700.
    /// Directories that already existed above `url` are left exactly as they were.
    public static func makeDirectory(_ url: URL) throws {
        try createMissing(url)
        if chmod(url.path, 0o700) != 0 { throw Failure.io(path: url.path, operation: "chmod", errno: errno) }
    }

    private static func createMissing(_ url: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw Failure.io(path: url.path, operation: "use as a directory", errno: ENOTDIR) }
            return
        }
        try createMissing(url.deletingLastPathComponent())
        if mkdir(url.path, 0o700) != 0, errno != EEXIST {
            throw Failure.io(path: url.path, operation: "create directory", errno: errno)
        }
        _ = chmod(url.path, 0o700)  // mkdir applies the umask
    }

    /// Writes `data` to `url` atomically with mode 0600; the parent directory is created 0700.
    public static func write(_ data: Data, to url: URL) throws {
        try makeDirectory(url.deletingLastPathComponent())
        let temporary = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent)\(temporaryMarker)\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw Failure.io(path: temporary.path, operation: "create", errno: errno) }
        var failure: Int32 = 0
        data.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += written
            }
        }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure != 0 {
            unlink(temporary.path)
            throw Failure.io(path: url.path, operation: "write", errno: failure)
        }
        FaultInjection.hit("file.before-rename")
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            unlink(temporary.path)
            throw Failure.io(path: url.path, operation: "rename into place", errno: code)
        }
        syncDirectory(url.deletingLastPathComponent())
    }

    /// Writes `data` only if `url` does not exist yet, atomically (link(2) never replaces), and returns
    /// the content that won: ours, or what a concurrent process wrote first.
    public static func createIfAbsent(_ data: Data, at url: URL) throws -> Data {
        if let existing = FileManager.default.contents(atPath: url.path) { return existing }
        let staging = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent)\(temporaryMarker)\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try write(data, to: staging)
        defer { unlink(staging.path) }
        if link(staging.path, url.path) != 0, errno != EEXIST {
            throw Failure.io(path: url.path, operation: "create", errno: errno)
        }
        syncDirectory(url.deletingLastPathComponent())
        return FileManager.default.contents(atPath: url.path) ?? data
    }

    /// Encodes `value` as sorted, pretty JSON and writes it atomically.
    public static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        try write(try JSONCoding.encoder.encode(value), to: url)
    }

    /// Reads and decodes JSON, or nil when the file does not exist.
    public static func readJSON<T: Decodable>(_ type: T.Type, from url: URL) throws -> T? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        return try JSONCoding.decoder.decode(type, from: data)
    }

    /// Removes temporary files left by writers that died below `root`; a file whose writer (the pid in
    /// its name) is still alive is left alone. Returns how many were removed.
    @discardableResult
    public static func removeStaleTemporaryFiles(under root: URL, recursive: Bool = true) -> Int {
        let names: [String]
        if recursive {
            guard let walker = FileManager.default.enumerator(atPath: root.path) else { return 0 }
            names = walker.compactMap { $0 as? String }
        } else {
            names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        }
        var removed = 0
        for relative in names {
            let name = (relative as NSString).lastPathComponent
            guard name.hasPrefix("."), let marker = name.range(of: temporaryMarker) else { continue }
            let pid = Int32(name[marker.upperBound...].prefix { $0.isNumber }) ?? 0
            if pid > 0, pid != getpid(), kill(pid, 0) == 0 { continue }
            if unlink(root.appendingPathComponent(relative).path) == 0 { removed += 1 }
        }
        return removed
    }

    /// Paths of temporary files below `root` (for checks that nothing was left behind).
    public static func temporaryFiles(under root: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: root.path) else { return [] }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            if name.hasPrefix("."), name.contains(temporaryMarker) { found.append(relative) }
        }
        return found
    }

    /// Permission bits of a path, or nil if it does not exist.
    public static func mode(of url: URL) -> mode_t? {
        var info = stat()
        guard stat(url.path, &info) == 0 else { return nil }
        return info.st_mode & 0o777
    }

    private static func syncDirectory(_ url: URL) {
        let fd = open(url.path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }
}

/// The JSON settings every file of the local target uses, so files are stable and diffable.
public enum JSONCoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
