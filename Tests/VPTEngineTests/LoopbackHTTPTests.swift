import Foundation
import Testing

@testable import VPTEngine

/// The provisioner's plain-socket HTTP client: response framing, and a deadline against a peer
/// that accepts but never answers (a frozen process).
@Suite struct LoopbackHTTPTests {
    @Test func parsesContentLengthChunkedAndIncompleteResponses() throws {
        let sized = Data("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".utf8)
        #expect(try LoopbackHTTP.parse(sized)?.status == 200)
        #expect(try LoopbackHTTP.parse(sized)?.body == Data("hello".utf8))
        #expect(try LoopbackHTTP.parse(Data("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel".utf8)) == nil)
        let chunked = Data("HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n".utf8)
        #expect(try LoopbackHTTP.parse(chunked)?.status == 404)
        #expect(try LoopbackHTTP.parse(chunked)?.body == Data("abcde".utf8))
        #expect(try LoopbackHTTP.parse(Data("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab".utf8)) == nil)
        #expect(try LoopbackHTTP.parse(Data("HTTP/1.1 204 No Content\r\n\r\n".utf8), atEnd: true)?.status == 204)
        #expect(throws: LoopbackHTTP.Failure.self) { try LoopbackHTTP.parse(Data("garbage\r\n\r\n".utf8)) }
    }

    @Test func aPeerThatNeverAnswersTimesOut() throws {
        // A listening socket nobody accepts from: the kernel completes the connection, no answer comes.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        listen(fd, 8)
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let port = Int(UInt16(bigEndian: bound.sin_port))
        let began = Date()
        #expect(throws: LoopbackHTTP.Failure.self) {
            try LoopbackHTTP.send("GET", host: "127.0.0.1", port: port, path: "/readyz", headers: [:], body: nil, timeout: 0.3)
        }
        #expect(Date().timeIntervalSince(began) < 5, "the deadline must end the call")
        // Nothing listening: refused at once.
        #expect(throws: LoopbackHTTP.Failure.self) {
            try LoopbackHTTP.send("GET", host: "127.0.0.1", port: 1, path: "/", headers: [:], body: nil, timeout: 1)
        }
    }
}
