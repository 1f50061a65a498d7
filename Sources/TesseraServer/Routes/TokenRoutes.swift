import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore

/// `POST /token` (RFC 6749 §3.2): decodes HTTP into a `TokenRequest` and encodes the answer.
/// Every OAuth decision is the core's `TokenEndpoint`.
struct TokenRoutes {
    let endpoint: TokenEndpoint
    let maxBodySize: Int
    let metrics: TesseraMetrics?

    /// Adds `POST /token` to `router` (the `.token` rate-limited group).
    func register(on router: some RouterMethods<TesseraRequestContext>) {
        router.corsPreflight("token", methods: [.post])
        router.post("token") { request, context in
            do {
                return try await token(request, context: context)
            } catch let error as OAuthError {
                metrics?.tokenError(code: error.code.rawValue)
                throw error
            }
        }
    }

    func token(_ request: Request, context: TesseraRequestContext) async throws -> Response {
        var request = request
        let tokenRequest = try await ClientAuthenticatedForm.tokenRequest(
            &request, context: context, maxBodySize: maxBodySize,
            unsupportedScheme: "Unsupported authentication scheme at the token endpoint; use HTTP Basic or client_secret_post.")
        let response = try await endpoint.handle(tokenRequest)
        var http = JSON.response(buffer: response.jsonBuffer)
        http.headers[HTTPField.Name("Pragma")!] = "no-cache"
        return http
    }
}

/// Reads a form-encoded request body within a size limit.
enum FormRequest {
    static func parameters(of request: inout Request, maxSize: Int) async throws -> [(String, String)] {
        guard let contentType = request.headers[.contentType], isFormURLEncoded(contentType) else {
            throw OAuthError.invalidRequest("The request body must be application/x-www-form-urlencoded.")
        }
        let body = try await request.collectBody(upTo: maxSize)
        return try FormBody.parse(body.readableBytesView)
    }

    /// Whether a `Content-Type` names `application/x-www-form-urlencoded`: the media type before any parameters,
    /// surrounding whitespace ignored, compared case-insensitively (RFC 9110 §8.3.1), without allocating.
    static func isFormURLEncoded(_ contentType: String) -> Bool {
        var mediaType = contentType.utf8.prefix { $0 != UInt8(ascii: ";") }
        while let first = mediaType.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { mediaType = mediaType.dropFirst() }
        while let last = mediaType.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { mediaType = mediaType.dropLast() }
        return mediaType.elementsEqual("application/x-www-form-urlencoded".utf8) { byte, expected in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 == expected : byte == expected
        }
    }
}
