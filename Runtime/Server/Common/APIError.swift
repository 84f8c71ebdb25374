import Foundation
import Hummingbird

/// Errors of the runtime APIs, mapped in one place to the documented status and body
/// `{"error": …, "message": …, "code": …}` (as the Tecton HTTP API answers).
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// Whole seconds for a `Retry-After` header (a 429 says when the client may try again).
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, retryAfterSeconds: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfterSeconds = retryAfterSeconds
    }

    public static func badRequest(_ m: String) -> APIError { APIError(.badRequest, m) }
    public static func unauthorized(_ m: String = "a valid API key is required: Authorization: Tecton-key <key>") -> APIError { APIError(.unauthorized, m) }
    public static func forbidden(_ m: String) -> APIError { APIError(.forbidden, m) }
    public static func notFound(_ m: String) -> APIError { APIError(.notFound, m) }
    public static func unavailable(_ m: String) -> APIError { APIError(.serviceUnavailable, m) }
    /// 429; `retryAfter` seconds are rounded up, to at least 1, for the header.
    public static func tooManyRequests(_ m: String, retryAfter: Double) -> APIError {
        APIError(.tooManyRequests, m, retryAfterSeconds: max(1, Int(retryAfter.rounded(.up))))
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: [String: Any] = ["error": message, "message": message, "code": Self.grpcCode(status)]
        var response = JSONBody.response(body, status: status)
        if let retryAfterSeconds { response.headers[.retryAfter] = String(retryAfterSeconds) }
        return response
    }

    /// The gRPC-style code name Tecton puts in `code`.
    static func grpcCode(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "INVALID_ARGUMENT"
        case 401: "UNAUTHENTICATED"
        case 403: "PERMISSION_DENIED"
        case 404: "NOT_FOUND"
        case 405: "UNIMPLEMENTED"
        case 409: "ALREADY_EXISTS"
        case 413: "INVALID_ARGUMENT"
        case 429: "RESOURCE_EXHAUSTED"
        case 503: "UNAVAILABLE"
        default: "INTERNAL"
        }
    }
}

/// JSON request and response bodies.
public enum JSONBody {
    /// Largest request body the runtime reads.
    public static let maxRequestBytes = 4 << 20

    public static func response(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: JSONWriter.encode(object))))
    }

    /// Sorted keys and ISO 8601 dates, for every `Encodable` answer.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static func encodable(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }

    /// The request body as a JSON object; 400 when it is not one.
    public static func object(_ request: Request) async throws -> [String: JSONValue] {
        var request = request
        return try object(bytes: try await request.collectBody(upTo: maxRequestBytes))
    }

    /// `buffer` as a JSON object; 400 when it is not one.
    public static func object(bytes buffer: ByteBuffer) throws -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONReader.parse(buffer.readableBytesView)
        } catch {
            throw APIError.badRequest("the request body is not valid JSON: \(error)")
        }
        guard let object = value.objectValue else { throw APIError.badRequest("the request body must be a JSON object") }
        return object
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ request: Request, decoder: JSONDecoder = JSONDecoder()) async throws -> T {
        var request = request
        let buffer = try await request.collectBody(upTo: maxRequestBytes)
        do {
            return try decoder.decode(type, from: Data(buffer.readableBytesView))
        } catch let DecodingError.keyNotFound(key, context) {
            throw APIError.badRequest("missing field '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context), let DecodingError.dataCorrupted(context) {
            throw APIError.badRequest("invalid field '\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)")
        } catch {
            throw APIError.badRequest("the request body is not valid JSON")
        }
    }
}

/// JSON scalars as Foundation parses them on Linux: `true`/`false` are `__NSCFBoolean`, numbers
/// `NSNumber`, and an `NSNumber` 0 or 1 also casts to `Bool`, so booleans are told apart by type.
enum JSONScalar {
    static func isBool(_ value: Any) -> Bool {
        value is Bool && (type(of: value) == Bool.self || String(describing: type(of: value)).contains("Boolean"))
    }
}
