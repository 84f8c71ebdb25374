import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A reply of the Redis protocol (RESP2).
enum RESPValue: Equatable {
    case simple(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8]?)
    case array([RESPValue]?)
}

/// One blocking connection to a Redis server speaking RESP2, binary-safe. Callers serialize use
/// (the store holds it behind a lock); pipelined commands are sent in one write.
final class RedisConnection {
    enum Failure: OnlineStoreUnavailable, CustomStringConvertible {
        case connect(String)
        case io(String)
        case protocolError(String)
        case server(String)
        var description: String {
            switch self {
            case .connect(let m): "cannot connect to redis: \(m)"
            case .io(let m): "redis connection failed: \(m)"
            case .protocolError(let m): "unexpected redis reply: \(m)"
            case .server(let m): "redis error: \(m)"
            }
        }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0

    /// Connects over TCP with a timeout on every read and write.
    init(host: String, port: Int, timeoutSeconds: Int = 5) throws {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw Failure.connect("cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        let socketFD = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard socketFD >= 0 else { throw Failure.connect(String(cString: strerror(errno))) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(socketFD, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socketFD, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var noDelay: Int32 = 1
        setsockopt(socketFD, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        guard Glibc.connect(socketFD, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let message = String(cString: strerror(errno))
            close(socketFD)
            throw Failure.connect("\(host):\(port): \(message)")
        }
        fd = socketFD
    }

    deinit { close(fd) }

    /// Sends commands in one write and reads one reply per command.
    func pipeline(_ commands: [[[UInt8]]]) throws -> [RESPValue] {
        var out: [UInt8] = []
        for command in commands {
            out += Array("*\(command.count)\r\n".utf8)
            for argument in command {
                out += Array("$\(argument.count)\r\n".utf8)
                out += argument
                out += [13, 10]
            }
        }
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { send(fd, $0.baseAddress! + sent, out.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure.io(String(cString: strerror(errno))) }
            sent += n
        }
        return try commands.map { _ in try reply() }
    }

    /// One command; a server error becomes `Failure.server`.
    func command(_ arguments: [[UInt8]]) throws -> RESPValue {
        let value = try pipeline([arguments])[0]
        if case .error(let message) = value { throw Failure.server(message) }
        return value
    }

    private func byte() throws -> UInt8 {
        if position == buffer.count {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { throw Failure.io(n == 0 ? "closed by the server" : String(cString: strerror(errno))) }
            buffer = Array(chunk[0..<n])
            position = 0
        }
        defer { position += 1 }
        return buffer[position]
    }

    private func line() throws -> String {
        var bytes: [UInt8] = []
        while true {
            let b = try byte()
            if b == 13 {
                _ = try byte()
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.append(b)
        }
    }

    private func reply() throws -> RESPValue {
        let type = try byte()
        let text = try line()
        switch type {
        case UInt8(ascii: "+"): return .simple(text)
        case UInt8(ascii: "-"): return .error(text)
        case UInt8(ascii: ":"):
            guard let value = Int64(text) else { throw Failure.protocolError("integer \(text)") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = Int(text) else { throw Failure.protocolError("bulk length \(text)") }
            if length < 0 { return .bulk(nil) }
            var data: [UInt8] = []
            data.reserveCapacity(length)
            for _ in 0..<length { data.append(try byte()) }
            _ = try byte()
            _ = try byte()
            return .bulk(data)
        case UInt8(ascii: "*"):
            guard let count = Int(text) else { throw Failure.protocolError("array length \(text)") }
            if count < 0 { return .array(nil) }
            return .array(try (0..<count).map { _ in try reply() })
        default:
            throw Failure.protocolError("type byte \(type)")
        }
    }
}
