import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore

/// OpenID Connect: `/userinfo` (OIDC Core §5.3), `/.well-known/openid-configuration` (OIDC Discovery §4)
/// and RP-initiated logout at `/logout` (OIDC RP-Initiated Logout 1.0).
struct OpenIDRoutes {
    let runtime: TesseraRuntime
    var tokens: OpenIDTokens { OpenIDTokens(services: runtime.services) }
    var sessions: SessionManager { SessionManager(runtime: runtime) }

    func register(on router: Router<TesseraRequestContext>) {
        // The lifecycle endpoints are listed as in the RFC 8414 document (same code, same values).
        let discovery = JSON.encode(MergedMetadata(OpenIDConfiguration(runtime: runtime),
                                                   LifecycleEndpointMetadata(issuer: runtime.configuration.effectiveIssuer)))
        router.get(".well-known/openid-configuration") { _, _ in
            JSON.response(data: discovery, cacheControl: "public, max-age=300")
        }
        let userInfoEndpoint = UserInfoEndpoint(services: runtime.services)
        router.get("userinfo") { request, _ in try await userInfo(request, endpoint: userInfoEndpoint) }
        router.post("userinfo") { request, _ in try await userInfo(request, endpoint: userInfoEndpoint) }
        router.get("logout") { request, _ in
            try await logout(request, parameters: (try AuthorizationRoutes.query(request)) ?? [], viaForm: false)
        }
        router.post("logout") { request, _ in
            var request = request
            let form = try await AuthorizationRoutes.form(&request, runtime: runtime) ?? []
            return try await logout(request, parameters: form, viaForm: true)
        }
    }

    // MARK: /userinfo

    /// Reads the bearer token (RFC 6750 §2.1) and translates the core's ``UserInfoEndpoint`` decision:
    /// `invalid_token` 401 and `insufficient_scope` 403 with `WWW-Authenticate` (RFC 6750 §3); key or
    /// store failures propagate to the error middleware (500/503).
    func userInfo(_ request: Request, endpoint: UserInfoEndpoint) async throws -> Response {
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

    // MARK: /logout

    /// Translates HTTP for the core's ``LogoutEndpoint`` decision: an error page, the confirmation form, or
    /// the end of the session followed by the signed-out page or (only with a valid `id_token_hint`) a redirect.
    func logout(_ request: Request, parameters: [(String, String)], viaForm: Bool) async throws -> Response {
        let values = AuthorizationRoutes.dictionary(parameters)
        let session = try await sessions.current(request)
        let logout = LogoutEndpoint.Request(idTokenHint: values["id_token_hint"], clientID: values["client_id"],
                                            postLogoutRedirectURI: values["post_logout_redirect_uri"], state: values["state"],
                                            confirmedByUser: viaForm && SessionManager.csrfMatches(session, values["csrf_token"]))
        switch try await LogoutEndpoint(services: runtime.services).decide(logout, signedInUserID: session?.userID) {
        case .refuse(let message):
            return Pages.error(message)
        case .confirm:
            let ensured = try await sessions.ensure(request)
            let kept = parameters.filter { $0.0 != "csrf_token" }.map { ["name": $0.0, "value": $0.1] }
            return Pages.response("logout", title: "Sign out", ["csrf": ensured.session.csrfToken, "params": kept],
                                  cookies: ensured.cookie.map { [$0] } ?? [])
        case .signOut(let redirect):
            let cleared = try await sessions.end(session)
            if let redirect { return Pages.redirect(redirect, cookies: [cleared]) }
            return Pages.response("message", title: "Signed out", ["heading": "Signed out", "message": "You are signed out."], cookies: [cleared])
        }
    }
}

/// OpenID Provider metadata (OIDC Discovery §3): only what is implemented.
struct OpenIDConfiguration: Encodable {
    let issuer: String
    let authorizationEndpoint: String
    let tokenEndpoint: String
    let userinfoEndpoint: String
    let jwksURI: String
    let endSessionEndpoint: String
    let scopesSupported = ["openid", "profile", "email"]
    let responseTypesSupported = ResponseType.allCases.map(\.rawValue)
    let responseModesSupported = ["query", "fragment"]
    let grantTypesSupported: [String]
    let subjectTypesSupported = ["public"]
    /// RS256 for every client unless it registered ES256 (`id_token_signed_response_alg`).
    let idTokenSigningAlgValuesSupported = ["RS256", "ES256"]
    let tokenEndpointAuthMethodsSupported = ClientAuthMethod.allCases.map(\.rawValue)
    let claimsSupported = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "c_hash", "azp", "amr", "idp", "name", "preferred_username", "email"]
    let codeChallengeMethodsSupported = [PKCE.method]
    let promptValuesSupported = ["none", "login", "consent"]
    let authorizationResponseIssParameterSupported = true
    let claimsParameterSupported = false
    let requestParameterSupported = false
    let requestURIParameterSupported = false

    init(runtime: TesseraRuntime) {
        let issuer = runtime.configuration.effectiveIssuer
        self.issuer = issuer
        authorizationEndpoint = issuer + "/authorize"
        tokenEndpoint = issuer + "/token"
        userinfoEndpoint = issuer + "/userinfo"
        jwksURI = issuer + "/jwks.json"
        endSessionEndpoint = issuer + "/logout"
        grantTypesSupported = (runtime.tokenEndpoint.grants.grantTypes + [.implicit]).map(\.rawValue).sorted()
    }

    enum CodingKeys: String, CodingKey {
        case issuer
        case authorizationEndpoint = "authorization_endpoint"
        case tokenEndpoint = "token_endpoint"
        case userinfoEndpoint = "userinfo_endpoint"
        case jwksURI = "jwks_uri"
        case endSessionEndpoint = "end_session_endpoint"
        case scopesSupported = "scopes_supported"
        case responseTypesSupported = "response_types_supported"
        case responseModesSupported = "response_modes_supported"
        case grantTypesSupported = "grant_types_supported"
        case subjectTypesSupported = "subject_types_supported"
        case idTokenSigningAlgValuesSupported = "id_token_signing_alg_values_supported"
        case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
        case claimsSupported = "claims_supported"
        case codeChallengeMethodsSupported = "code_challenge_methods_supported"
        case promptValuesSupported = "prompt_values_supported"
        case authorizationResponseIssParameterSupported = "authorization_response_iss_parameter_supported"
        case claimsParameterSupported = "claims_parameter_supported"
        case requestParameterSupported = "request_parameter_supported"
        case requestURIParameterSupported = "request_uri_parameter_supported"
    }
}
