import NIOCore

/// RESP2 replies parsed from a ByteBuffer as bytes arrive: a reply split across reads is left
/// in the buffer until it is whole.
enum RESPParser {
    /// Nesting limit for array replies (MGET replies are one level deep).
    static let maxDepth = 8

    /// The reply at the buffer's reader index, consumed; nil, with the buffer unchanged, when it is
    /// not complete yet.
    static func parse(_ buffer: inout ByteBuffer) throws -> RESPValue? {
        let start = buffer.readerIndex
        do {
            if let value = try value(&buffer, depth: 0) { return value }
        } catch {
            buffer.moveReaderIndex(to: start)
            throw error
        }
        buffer.moveReaderIndex(to: start)
        return nil
    }

    private static func value(_ buffer: inout ByteBuffer, depth: Int) throws -> RESPValue? {
        guard let type = buffer.readInteger(as: UInt8.self), let header = line(&buffer) else { return nil }
        switch type {
        case UInt8(ascii: "+"): return .simple(String(decoding: header, as: UTF8.self))
        case UInt8(ascii: "-"): return .error(String(decoding: header, as: UTF8.self))
        case UInt8(ascii: ":"):
            guard let value = Int64(String(decoding: header, as: UTF8.self)) else { throw RedisConnection.Failure.protocolError("integer reply") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = Int(String(decoding: header, as: UTF8.self)), length >= -1 else {
                throw RedisConnection.Failure.protocolError("bulk length")
            }
            if length == -1 { return .bulk(nil) }
            guard buffer.readableBytes >= length + 2, let bytes = buffer.readBytes(length: length) else { return nil }
            buffer.moveReaderIndex(forwardBy: 2)
            return .bulk(bytes)
        case UInt8(ascii: "*"):
            guard let count = Int(String(decoding: header, as: UTF8.self)), count >= -1 else {
                throw RedisConnection.Failure.protocolError("array length")
            }
            if count == -1 { return .array(nil) }
            guard depth < maxDepth else { throw RedisConnection.Failure.protocolError("arrays nested deeper than \(maxDepth)") }
            var items: [RESPValue] = []
            items.reserveCapacity(min(count, 1024))
            for _ in 0..<count {
                guard let item = try value(&buffer, depth: depth + 1) else { return nil }
                items.append(item)
            }
            return .array(items)
        default:
            throw RedisConnection.Failure.protocolError("type byte \(type)")
        }
    }

    /// The bytes up to the next CRLF, consumed with it; nil when no CRLF has arrived yet.
    private static func line(_ buffer: inout ByteBuffer) -> ByteBufferView? {
        let view = buffer.readableBytesView
        guard let cr = view.firstIndex(of: 13), cr + 1 < view.endIndex else { return nil }
        let text = view[view.startIndex..<cr]
        buffer.moveReaderIndex(forwardBy: cr - view.startIndex + 2)
        return text
    }

    /// A command as a RESP array of bulk strings.
    static func write(_ command: [[UInt8]], to buffer: inout ByteBuffer) {
        buffer.writeString("*\(command.count)\r\n")
        for argument in command {
            buffer.writeString("$\(argument.count)\r\n")
            buffer.writeBytes(argument)
            buffer.writeStaticString("\r\n")
        }
    }
}
