import Foundation

/// What the client asks the authorization endpoint to return (RFC 6749 §3.1.1, OIDC Core §3).
public enum ResponseType: String, Sendable, CaseIterable {
    /// Authorization code (RFC 6749 §4.1), returned in the query.
    case code
    /// Implicit access token (RFC 6749 §4.2), returned in the fragment.
    case token
    /// OpenID Connect implicit flow (OIDC Core §3.2): an ID token and an access token, in the fragment.
    case idTokenToken = "id_token token"

    /// Parses `response_type`; the order of space-separated values does not matter (RFC 6749 §3.1.1).
    public init?(parameter: String) {
        let parts = Set(parameter.split(separator: " ").map(String.init))
        switch parts {
        case ["code"]: self = .code
        case ["token"]: self = .token
        case ["id_token", "token"]: self = .idTokenToken
        default: return nil
        }
    }

    /// Implicit responses put their parameters in the fragment (RFC 6749 §4.2.2).
    public var usesFragment: Bool { self != .code }
    /// The grant type a client needs for this response type.
    public var grantType: GrantType { self == .code ? .authorizationCode : .implicit }
}

/// OIDC `prompt` values (OIDC Core §3.1.2.1).
public enum Prompt: String, Sendable, Hashable {
    case none, login, consent
}

/// A validated authorization request: client and redirect URI are known good, so from here on every
/// error can be sent back to the client by redirect.
public struct AuthorizationRequest: Sendable {
    public let client: Client
    /// The redirect URI as sent (or the only registered one when omitted).
    public let redirectURI: String
    /// Whether `redirect_uri` was present (then it must be repeated at `/token`, RFC 6749 §4.1.3).
    public let redirectURIWasSent: Bool
    public let responseType: ResponseType
    /// The requested scopes; `nil` when `scope` was omitted.
    public let requestedScopes: ScopeSet?
    public let state: String?
    public let nonce: String?
    public let codeChallenge: String?
    public let prompt: Set<Prompt>
    public let maxAge: Int?
    public let loginHint: String?
    /// The `resource` values (RFC 8707 §2), validated against the client's registered resources and
    /// deduplicated; empty when none were sent (the configured default audience applies).
    public let resources: [String]
    /// The parameters as received (empty values dropped; `resource`, which may repeat, is in `resources`).
    public let parameters: [String: String]

    /// Whether this is an OpenID Connect request.
    public var isOpenID: Bool { requestedScopes?.contains("openid") == true }

    /// Every parameter of the request: `parameters` sorted by name, then one `resource` pair per resource (what
    /// a stored interaction must give back, ``PendingAuthorization``).
    public var carriedParameters: [(String, String)] {
        parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } + resources.map { ("resource", $0) }
    }
}

/// Why an authorization request failed.
public enum AuthorizationFailure: Error, Sendable {
    /// The client or redirect URI cannot be trusted: show an error page, never redirect (RFC 6749 §4.1.2.1).
    case unredirectable(String)
    /// Redirect the error to the client (RFC 6749 §4.1.2.1, §4.2.2.1).
    case redirect(OAuthError, AuthorizationRequestTarget)
}

/// Where and how an authorization response is delivered.
public struct AuthorizationRequestTarget: Sendable {
    public let redirectURI: String
    public let state: String?
    public let useFragment: Bool
    public init(redirectURI: String, state: String?, useFragment: Bool) {
        self.redirectURI = redirectURI
        self.state = state
        self.useFragment = useFragment
    }
}

extension AuthorizationRequest {
    /// Where responses to this request go.
    public var target: AuthorizationRequestTarget {
        AuthorizationRequestTarget(redirectURI: redirectURI, state: state, useFragment: responseType.usesFragment)
    }

    /// Validates a request in the order RFC 6749 §4.1.2.1 demands: client and redirect URI first (errors
    /// shown, not redirected), then everything else (errors redirected).
    public static func validate(_ pairs: [(String, String)], clients: any ClientStore) async throws -> AuthorizationRequest {
        var parameters: [String: String] = [:]
        var repeated: String?
        var requestedResources: [String] = []
        for (name, value) in pairs {
            // RFC 8707 §2: `resource` may be repeated, one per target.
            if name == "resource" {
                requestedResources.append(value)
                continue
            }
            if parameters[name] != nil, repeated == nil { repeated = name }
            if !value.isEmpty { parameters[name] = value }
        }
        guard let clientID = parameters["client_id"] else { throw AuthorizationFailure.unredirectable("The request has no client_id.") }
        guard repeated != "client_id", repeated != "redirect_uri" else {
            throw AuthorizationFailure.unredirectable("The client_id or redirect_uri parameter is repeated.")
        }
        let found: Client?
        do {
            found = try await clients.client(id: clientID)
        } catch let error as OAuthError where error.code == .invalidClient {
            // A refused Client ID Metadata Document: shown to the user, never a redirect to an unvetted URI.
            throw AuthorizationFailure.unredirectable(error.errorDescription)
        }
        guard let client = found else {
            throw AuthorizationFailure.unredirectable("Unknown client.")
        }
        let redirectURI: String
        if let sent = parameters["redirect_uri"] {
            guard RedirectURIMatcher.match(sent, registered: client.redirectURIs, isPublicClient: client.isPublic) != nil else {
                throw AuthorizationFailure.unredirectable("The redirect_uri is not registered for this client.")
            }
            redirectURI = sent
        } else {
            // RFC 6749 §3.1.2.3: may be omitted only when exactly one is registered.
            guard client.redirectURIs.count == 1 else {
                throw AuthorizationFailure.unredirectable("The redirect_uri parameter is required for this client.")
            }
            redirectURI = client.redirectURIs[0]
        }

        // From here on errors go back to the client.
        let responseTypeValue = parameters["response_type"]
        let responseType = responseTypeValue.flatMap(ResponseType.init(parameter:))
        let state = parameters["state"]
        let target = AuthorizationRequestTarget(redirectURI: redirectURI, state: state,
                                                useFragment: responseType?.usesFragment ?? (responseTypeValue?.contains("token") == true))
        func fail(_ error: OAuthError) -> AuthorizationFailure { .redirect(error, target) }

        if let repeated { throw fail(.invalidRequest("Parameter '\(TokenRequest.printable(repeated))' must not be repeated.")) }
        guard let responseTypeValue else { throw fail(.invalidRequest("Missing parameter 'response_type'.")) }
        guard let responseType else {
            throw fail(OAuthError(.unsupportedResponseType, "Response type '\(TokenRequest.printable(responseTypeValue))' is not supported."))
        }
        guard client.grantTypes.contains(responseType.grantType) else {
            throw fail(.unauthorizedClient("This client may not use response_type=\(responseType.rawValue)."))
        }
        if parameters["request"] != nil || parameters["request_uri"] != nil {
            throw fail(OAuthError(.requestNotSupported, "Request objects are not supported."))
        }
        let scopes: ScopeSet?
        do { scopes = try parameters["scope"].map(ScopeSet.init(parsing:)) } catch { throw fail(error) }
        // RFC 8707 §2: each resource an absolute URI without fragment, registered for the client; else invalid_target.
        let resources: [String]
        do { resources = try ResourceIndicators.audience(requested: requestedResources, client: client, defaultAudience: []) } catch { throw fail(error) }

        // PKCE (RFC 7636 §4.3, RFC 9700 §2.1.1): S256 only; required for public clients using the code flow.
        let challenge = parameters["code_challenge"]
        let method = parameters["code_challenge_method"]
        if responseType == .code {
            if let challenge {
                guard (method ?? "plain") == PKCE.method else {
                    throw fail(.invalidRequest("code_challenge_method must be S256; plain is not supported."))
                }
                guard challenge.utf8.count == 43, PKCE.isWellFormed(challenge) else {
                    throw fail(.invalidRequest("code_challenge must be the base64url SHA-256 of the code_verifier (43 characters)."))
                }
            } else {
                if method != nil { throw fail(.invalidRequest("code_challenge_method was sent without code_challenge.")) }
                if client.isPublic { throw fail(.invalidRequest("PKCE is required: send code_challenge with code_challenge_method=S256.")) }
            }
        } else if challenge != nil || method != nil {
            throw fail(.invalidRequest("PKCE applies only to response_type=code."))
        }

        let isOpenID = scopes?.contains("openid") == true
        // OIDC Core §3.2.2.1: nonce is required in the implicit flow.
        if responseType == .idTokenToken {
            guard isOpenID else { throw fail(.invalidScope("response_type 'id_token token' requires the openid scope.")) }
            guard parameters["nonce"] != nil else { throw fail(.invalidRequest("The implicit OpenID Connect flow requires a nonce.")) }
        }

        var prompt = Set<Prompt>()
        for value in (parameters["prompt"] ?? "").split(separator: " ") {
            guard let p = Prompt(rawValue: String(value)) else { throw fail(.invalidRequest("Unsupported prompt value.")) }
            prompt.insert(p)
        }
        if prompt.contains(.none), prompt.count > 1 { throw fail(.invalidRequest("prompt=none cannot be combined with other values.")) }

        var maxAge: Int?
        if let raw = parameters["max_age"] {
            guard let value = Int(raw), value >= 0 else { throw fail(.invalidRequest("max_age must be a non-negative integer.")) }
            maxAge = value
        }

        return AuthorizationRequest(client: client, redirectURI: redirectURI, redirectURIWasSent: parameters["redirect_uri"] != nil,
                                    responseType: responseType, requestedScopes: scopes, state: state, nonce: parameters["nonce"],
                                    codeChallenge: responseType == .code ? challenge : nil, prompt: prompt, maxAge: maxAge,
                                    loginHint: parameters["login_hint"], resources: resources, parameters: parameters)
    }
}

/// Builds redirect URIs carrying authorization responses.
public enum AuthorizationRedirect {
    /// `redirectURI` with `parameters` added to its query (RFC 6749 §4.1.2, keeping any existing query) or
    /// set as its fragment (§4.2.2).
    public static func url(_ target: AuthorizationRequestTarget, parameters: [(String, String)]) -> String {
        let encoded = parameters.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
        if target.useFragment { return target.redirectURI + "#" + encoded }
        return target.redirectURI + (target.redirectURI.contains("?") ? "&" : "?") + encoded
    }

    /// An error response, with `state` and `iss` (RFC 6749 §4.1.2.1, RFC 9207 §2).
    public static func error(_ error: OAuthError, target: AuthorizationRequestTarget, issuer: String) -> String {
        var parameters = [("error", error.code.rawValue), ("error_description", error.errorDescription)]
        if let state = target.state { parameters.append(("state", state)) }
        parameters.append(("iss", issuer))
        return url(target, parameters: parameters)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    public static func percentEncode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}
