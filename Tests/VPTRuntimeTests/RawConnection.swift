import Foundation
import VPTLocalCloud

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking HTTP/1.1 client over a plain loopback socket, for tests that need to control the
/// exact bytes and see when the server closes. A read waits at most 5 seconds unless told otherwise.
final class RawConnection {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    enum Failure: Error, Equatable {
        case connect(Int32)
        case closed
        case timedOut
        case malformed(String)
    }

    private let fd: Int32
    private var pending: [UInt8] = []

    init(port: Int, timeout seconds: Double = 5) throws {
        // `self.fd` is set only once connected: a throwing init of a fully initialized class runs
        // deinit, which would close the number a second time.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        Self.setTimeout(fd, seconds)
        let connected = LoopbackPort.withAddress(port) { connect(fd, $0, $1) }
        guard connected == 0 else {
            let code = errno
            close(fd)
            throw Failure.connect(code)
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// How long a read waits for bytes before it throws `timedOut`.
    func setTimeout(_ seconds: Double) { Self.setTimeout(fd, seconds) }

    private static func setTimeout(_ fd: Int32, _ seconds: Double) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeMutableBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure.closed }
            offset += sent
        }
    }

    /// Reads more bytes; false when the peer closed.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 { throw errno == EAGAIN || errno == EWOULDBLOCK ? Failure.timedOut : Failure.closed }
        if count == 0 { return false }
        pending += chunk[..<count]
        return true
    }

    /// The next response (an interim 1xx one included), whose body is sized by content-length.
    func readResponse() throws -> Response {
        let separator: [UInt8] = Array("\r\n\r\n".utf8)
        var end: Int?
        while end == nil {
            end = pending.indices.dropLast(3).first { Array(pending[$0..<$0 + 4]) == separator }
            if end == nil, try !fill() { throw Failure.closed }
        }
        let head = String(decoding: pending[..<end!], as: UTF8.self).components(separatedBy: "\r\n")
        pending.removeFirst(end! + 4)
        let statusLine = head[0].split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure.malformed(head[0]) }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw Failure.malformed(line) }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = status < 200 ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        while pending.count < length {
            if try !fill() { throw Failure.closed }
        }
        let body = String(decoding: pending[..<length], as: UTF8.self)
        pending.removeFirst(length)
        return Response(status: status, headers: headers, body: body)
    }

    /// Whether the server closed the connection (with nothing more to read).
    func peerClosed() throws -> Bool {
        guard pending.isEmpty else { return false }
        return try !fill()
    }
}
