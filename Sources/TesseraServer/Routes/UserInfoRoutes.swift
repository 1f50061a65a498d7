import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore

/// `GET`/`POST /userinfo` (OIDC Core §5.3): reads the bearer token and translates the core's
/// ``UserInfoEndpoint`` decision.
struct UserInfoRoutes {
    let endpoint: UserInfoEndpoint

    func register(on router: some RouterMethods<TesseraRequestContext>) {
        router.corsPreflight("userinfo", methods: [.get, .post])
        router.get("userinfo") { request, _ in try await userInfo(request) }
        router.post("userinfo") { request, _ in try await userInfo(request) }
    }

    /// Reads the bearer token (RFC 6750 §2.1) and translates the decision: `invalid_token` 401 and
    /// `insufficient_scope` 403 with `WWW-Authenticate` (RFC 6750 §3); key or store failures propagate to the
    /// error middleware (500/503).
    func userInfo(_ request: Request) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            return Self.bearerError(nil, status: .unauthorized)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return Self.bearerError(OAuthError(.invalidRequest, "Use the Bearer scheme."), status: .badRequest)
        }
        do {
            return JSON.response(try await endpoint.handle(accessToken: String(parts[1]).trimmingCharacters(in: .whitespaces)))
        } catch let error as OAuthError where error.code == .invalidToken || error.code == .insufficientScope {
            return Self.bearerError(error, status: error.code == .invalidToken ? .unauthorized : .forbidden)
        }
    }

    /// RFC 6750 §3: the error goes in `WWW-Authenticate`.
    static func bearerError(_ error: OAuthError?, status: HTTPResponse.Status) -> Response {
        var response: Response
        if let error {
            response = JSON.response(["error": error.code.rawValue, "error_description": error.errorDescription], status: status)
            response.headers[.wwwAuthenticate] = #"Bearer realm="tessera", error="\#(error.code.rawValue)""#
        } else {
            response = JSON.response(["error": "invalid_request", "error_description": "A bearer access token is required."], status: status)
            response.headers[.wwwAuthenticate] = #"Bearer realm="tessera""#
        }
        return response
    }
}
