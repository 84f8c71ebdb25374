import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking HTTP/1.1 client for the tenant processes on loopback, over a plain socket with a
/// deadline on every step. Foundation's URLSession on Linux queues parallel requests for up to a
/// second each, and health checks run many at once; a frozen (SIGSTOP) peer accepts the connection
/// but never answers, which the deadline turns into a timeout.
enum LoopbackHTTP {
    enum Failure: Error, CustomStringConvertible {
        case connect(String, Int32)
        case timedOut(TimeInterval)
        case malformed(String)
        var description: String {
            switch self {
            case .connect(let address, let code): "cannot connect to \(address): \(String(cString: strerror(code)))"
            case .timedOut(let seconds): "no answer within \(String(format: "%g", seconds)) s"
            case .malformed(let what): "malformed HTTP response: \(what)"
            }
        }
    }

    static func send(
        _ method: String, host: String, port: Int, path: String, headers: [String: String], body: Data?, timeout: TimeInterval
    ) throws -> (status: Int, body: Data) {
        let deadline = Date().addingTimeInterval(timeout)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.connect("\(host):\(port)", errno) }
        defer { close(fd) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw Failure.connect(host, EINVAL) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 {
            guard errno == EINPROGRESS else { throw Failure.connect("\(host):\(port)", errno) }
            try wait(fd, for: Int16(POLLOUT), until: deadline, timeout: timeout)
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { throw Failure.connect("\(host):\(port)", error) }
        }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nContent-Length: \(body?.count ?? 0)\r\n"
        if body != nil { head += "Content-Type: application/json\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        var request = Data((head + "\r\n").utf8)
        if let body { request.append(body) }
        var sent = 0
        while sent < request.count {
            try wait(fd, for: Int16(POLLOUT), until: deadline, timeout: timeout)
            let n = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, request.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw Failure.connect("\(host):\(port)", errno)
            }
            sent += n
        }
        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            try wait(fd, for: Int16(POLLIN), until: deadline, timeout: timeout)
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw Failure.connect("\(host):\(port)", errno)
            }
            if n == 0 { break }
            response.append(contentsOf: buffer[0..<n])
            if let parsed = try parse(response) { return parsed }
        }
        guard let parsed = try parse(response, atEnd: true) else { throw Failure.malformed("connection closed early") }
        return parsed
    }

    private static func wait(_ fd: Int32, for events: Int16, until deadline: Date, timeout: TimeInterval) throws {
        while true {
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw Failure.timedOut(timeout) }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let ready = poll(&entry, 1, Int32(max(1, remaining * 1000)))
            if ready > 0 { return }
            if ready < 0, errno != EINTR { throw Failure.connect("poll", errno) }
        }
    }

    /// The status and body once the response is complete (Content-Length, chunked, or end of stream).
    static func parse(_ data: Data, atEnd: Bool = false) throws -> (status: Int, body: Data)? {
        guard let split = data.range(of: Data("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: data[..<split.lowerBound], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure.malformed(lines[0]) }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let body = data[split.upperBound...]
        if let length = fields["content-length"].flatMap(Int.init) {
            return body.count >= length ? (status, Data(body.prefix(length))) : nil
        }
        if fields["transfer-encoding"]?.lowercased() == "chunked" {
            return try dechunk(Data(body)).map { (status, $0) }
        }
        return atEnd ? (status, Data(body)) : nil
    }

    private static func dechunk(_ data: Data) throws -> Data? {
        var out = Data()
        var index = data.startIndex
        while true {
            guard let lineEnd = data[index...].range(of: Data("\r\n".utf8)) else { return nil }
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw Failure.malformed("chunk size") }
            let start = lineEnd.upperBound
            if size == 0 { return out }
            guard data.distance(from: start, to: data.endIndex) >= size + 2 else { return nil }
            let end = data.index(start, offsetBy: size)
            out.append(data[start..<end])
            index = data.index(end, offsetBy: 2)
        }
    }
}
