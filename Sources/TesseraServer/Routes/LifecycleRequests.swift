import Foundation
import Hummingbird
import TesseraCore
import TesseraJOSE

/// HTTP decoding shared by the client-authenticated endpoints (`/token`, `/revoke`, `/introspect`): one
/// form and HTTP Basic handling, so clients authenticate identically everywhere. Basic credentials the
/// rate limiter already parsed (``TesseraRequestContext/basicAuthorization``) are not parsed again.
enum ClientAuthenticatedForm {
    static func tokenRequest(_ request: inout Request, context: TesseraRequestContext, maxBodySize: Int,
                             unsupportedScheme: String = "Unsupported authentication scheme; use HTTP Basic or client_secret_post.")
        async throws -> TokenRequest
    {
        let parameters = try await FormRequest.parameters(of: &request, maxSize: maxBodySize)
        let basic: (id: String, secret: String)?
        switch context.basicAuthorization ?? BasicAuthorization(header: request.headers[.authorization]) {
        case .absent: basic = nil
        case .credentials(let id, let secret): basic = (id, secret)
        case .otherScheme: throw OAuthError.invalidClient(unsupportedScheme)
        case .malformed: throw BasicCredentials.malformed
        }
        return try TokenRequest(parameters: parameters, basicCredentials: basic)
    }
}

/// `Authorization: Bearer` for the registration and metrics endpoints, read by the shared RFC 6750 §2.1 parser
/// (``BearerCredentials``, the toolkit's too): case-insensitive scheme, `b64token` syntax, one header.
enum BearerHeader {
    /// The token, or `nil` when no Authorization header was sent.
    /// - Throws: `invalid_token` when the header is present but not a well-formed Bearer credential.
    static func token(_ request: Request) throws(OAuthError) -> String? {
        let values = request.headers[values: .authorization]
        guard !values.isEmpty else { return nil }
        switch BearerCredentials.parse(values) {
        case .token(let token) where token.utf8.count <= 4096:
            return String(token)
        case .none:
            throw OAuthError(.invalidToken, "Use an Authorization: Bearer token.")
        case .token, .empty, .malformed, .multipleHeaders:
            throw OAuthError(.invalidToken, "Malformed bearer token.")
        }
    }
}
