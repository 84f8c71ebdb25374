import NIOCore
import Testing
@testable import VPTOnlineStore

/// Replies arrive from the network in arbitrary pieces; the parser must only ever hand out whole ones.
@Suite struct RESPParserTests {
    static let stream: [UInt8] = Array("+OK\r\n:42\r\n$-1\r\n*-1\r\n-ERR wrong type\r\n$5\r\nhe\r\no\r\n*3\r\n$1\r\na\r\n$-1\r\n*1\r\n:7\r\n".utf8)
    static let expected: [RESPValue] = [
        .simple("OK"), .integer(42), .bulk(nil), .array(nil), .error("ERR wrong type"), .bulk(Array("he\r\no".utf8)),
        .array([.bulk(Array("a".utf8)), .bulk(nil), .array([.integer(7)])]),
    ]

    @Test(arguments: [1, 2, 3, 7, 64])
    func repliesSplitAnywhereComeOutWholeAndInOrder(chunk: Int) throws {
        var buffer = ByteBuffer()
        var replies: [RESPValue] = []
        for start in stride(from: 0, to: Self.stream.count, by: chunk) {
            buffer.writeBytes(Self.stream[start..<min(start + chunk, Self.stream.count)])
            while let reply = try RESPParser.parse(&buffer) { replies.append(reply) }
        }
        #expect(replies == Self.expected)
        #expect(buffer.readableBytes == 0)
    }

    @Test func anIncompleteReplyLeavesTheBufferAsItWas() throws {
        let partial = Array("*2\r\n$3\r\nabc\r\n$4\r\nab".utf8)
        var buffer = ByteBuffer(bytes: partial)
        #expect(try RESPParser.parse(&buffer) == nil)
        #expect(Array(buffer.readableBytesView) == partial)
        buffer.writeBytes(Array("cd\r\n".utf8))
        #expect(try RESPParser.parse(&buffer) == .array([.bulk(Array("abc".utf8)), .bulk(Array("abcd".utf8))]))
    }

    @Test func malformedRepliesAreErrors() {
        for bad in ["?x\r\n", "$-2\r\n", ":12a\r\n", "*x\r\n", String(repeating: "*1\r\n", count: 12) + ":1\r\n"] {
            var buffer = ByteBuffer(string: bad)
            #expect(throws: RedisConnection.Failure.self, "\(bad.debugDescription)") { try RESPParser.parse(&buffer) }
        }
    }

    @Test func commandsAreArraysOfBulkStrings() {
        var buffer = ByteBuffer()
        RESPParser.write([Array("MGET".utf8), [0, 13, 10, 255]], to: &buffer)
        #expect(Array(buffer.readableBytesView) == Array("*2\r\n$4\r\nMGET\r\n$4\r\n".utf8) + [0, 13, 10, 255] + [13, 10])
    }
}
