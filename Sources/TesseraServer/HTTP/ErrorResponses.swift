import Foundation
import Hummingbird
import Logging
import NIOFoundationEssentialsCompat
import TesseraCore

/// Turns every error into an RFC-shaped JSON response (RFC 6749 §5.2) so nothing leaks internals and
/// no bad input becomes a 500.
struct OAuthErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as OAuthError {
            if let underlying = error.underlying {
                context.logger.info("oauth error", metadata: ["oauth.error": .string(error.code.rawValue), "oauth.detail": .string(underlying)])
            }
            return Self.response(for: error)
        } catch let error as StoreError where error.kind == .unavailable {
            context.logger.error("database unavailable", metadata: ["error": .string(error.message)])
            return Self.response(for: OAuthError(.temporarilyUnavailable, "The service is temporarily unavailable; retry shortly."), status: .serviceUnavailable,
                                 extraHeaders: [.retryAfter: "1"])
        } catch let error as any HTTPResponseError {
            let status = error.status
            let code: OAuthError.Code
            let description: String
            switch status {
            case .notFound: (code, description) = (OAuthError.Code(rawValue: "not_found"), "No such endpoint.")
            case .methodNotAllowed: (code, description) = (.invalidRequest, "Method not allowed on this endpoint.")
            case .contentTooLarge: (code, description) = (.invalidRequest, "The request body is too large.")
            case .unsupportedMediaType: (code, description) = (.invalidRequest, "Unsupported content type.")
            default:
                if status.code >= 500 {
                    context.logger.error("internal error", metadata: ["error": .string(String(describing: error))])
                    (code, description) = (.serverError, "The server could not handle the request.")
                } else {
                    (code, description) = (.invalidRequest, "The request could not be processed.")
                }
            }
            return Self.response(for: OAuthError(code, description), status: status.code >= 500 ? .internalServerError : status)
        } catch {
            context.logger.error("unexpected error", metadata: ["error": .string(String(describing: error))])
            return Self.response(for: OAuthError(.serverError, "The server could not handle the request."), status: .internalServerError)
        }
    }

    /// The HTTP status of an OAuth error (STYLE.md): `invalid_client` 401, `insufficient_scope` 403,
    /// `temporarily_unavailable` 503, `server_error` 500, `too_many_requests` 429, everything else 400.
    static func status(of code: OAuthError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidClient, .invalidToken: .unauthorized
        case .insufficientScope: .forbidden
        case .temporarilyUnavailable: .serviceUnavailable
        case .serverError: .internalServerError
        case .tooManyRequests: .tooManyRequests
        default: .badRequest
        }
    }

    static func response(for error: OAuthError, status: HTTPResponse.Status? = nil, extraHeaders: HTTPFields = [:]) -> Response {
        var headers = extraHeaders
        headers[.contentType] = "application/json;charset=UTF-8"
        headers[.cacheControl] = "no-store"
        if error.code == .invalidClient {
            headers[.wwwAuthenticate] = #"Basic realm="tessera", charset="UTF-8""#
        }
        if error.code == .tooManyRequests, headers[.retryAfter] == nil {
            headers[.retryAfter] = "60"  // RFC 6585 §4: tell the client when to retry (limiters' window)
        }
        if error.code == .invalidToken, headers[.wwwAuthenticate] == nil {
            // RFC 6750 §3: a bearer-protected endpoint names the scheme and the error.
            headers[.wwwAuthenticate] = #"Bearer error="invalid_token""#
        }
        let body = JSON.encode(["error": error.code.rawValue, "error_description": error.errorDescription])
        return Response(status: status ?? Self.status(of: error.code), headers: headers, body: .init(byteBuffer: ByteBuffer(data: body)))
    }
}

/// Small JSON helpers with stable key order.
enum JSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encode(_ value: some Encodable) -> Data {
        (try? encoder.encode(value)) ?? Data("{}".utf8)
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok, cacheControl: String = "no-store") -> Response {
        response(data: encode(value), status: status, cacheControl: cacheControl)
    }

    static func response(data: Data, status: HTTPResponse.Status = .ok, cacheControl: String = "no-store") -> Response {
        response(buffer: ByteBuffer(data: data), status: status, cacheControl: cacheControl)
    }

    /// A JSON body already written (see ``JSONObjectWriter``).
    static func response(buffer: ByteBuffer, status: HTTPResponse.Status = .ok, cacheControl: String = "no-store") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json;charset=UTF-8"
        headers[.cacheControl] = cacheControl
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }
}
