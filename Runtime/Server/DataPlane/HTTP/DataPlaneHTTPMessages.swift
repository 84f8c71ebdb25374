import Foundation
import NIOCore
import NIOHTTP1

/// A whole HTTP request as the data plane's server hands it to its routes: the body is read in
/// full (up to `JSONBody.maxRequestBytes`) before the route runs.
public struct DataPlaneRequest: Sendable {
    public var method: HTTPMethod
    /// The path without its query string.
    public var path: String
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer = ByteBuffer()) {
        self.method = method
        self.path = Self.path(of: uri)
        self.headers = headers
        self.body = body
    }

    /// A request target without its query string.
    /// Searched as UTF-8 bytes: a `Character` search segments graphemes, a cost on every request.
    static func path(of uri: String) -> String {
        guard let query = uri.utf8.firstIndex(of: UInt8(ascii: "?")) else { return uri }
        return String(uri[..<query])
    }

    /// The request body as a JSON object; 400 when it is not one.
    public func jsonObject() throws -> [String: JSONValue] {
        try JSONBody.object(bytes: body)
    }
}

/// A route's answer. The server adds `content-length`, `date`, `server` and, when the connection
/// is to close, `connection: close`.
public struct DataPlaneResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus = .ok, contentType: String? = nil, body: ByteBuffer = ByteBuffer(), headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.headers = headers
        if let contentType { self.headers.replaceOrAdd(name: "content-type", value: contentType) }
        self.body = body
    }

    public static func json(bytes: [UInt8], status: HTTPResponseStatus = .ok) -> DataPlaneResponse {
        DataPlaneResponse(status: status, contentType: "application/json", body: ByteBuffer(bytes: bytes))
    }

    /// A JSON document written by `JSONWriter` (keys sorted).
    public static func json(_ object: Any, status: HTTPResponseStatus = .ok) -> DataPlaneResponse {
        json(bytes: JSONWriter.encode(object), status: status)
    }

    public static func encodable(_ value: some Encodable, status: HTTPResponseStatus = .ok) throws -> DataPlaneResponse {
        json(bytes: Array(try JSONBody.encoder.encode(value)), status: status)
    }

    public static func text(_ text: String, contentType: String = "text/plain; charset=utf-8", status: HTTPResponseStatus = .ok) -> DataPlaneResponse {
        DataPlaneResponse(status: status, contentType: contentType, body: ByteBuffer(string: text))
    }

    /// The documented error body `{"error", "message", "code"}` with the error's status.
    public static func error(_ error: APIError) -> DataPlaneResponse {
        var response = json(
            ["error": error.message, "message": error.message, "code": APIError.grpcCode(error.status)], status: HTTPResponseStatus(statusCode: error.status.code))
        if let seconds = error.retryAfterSeconds { response.headers.add(name: "retry-after", value: String(seconds)) }
        return response
    }
}
