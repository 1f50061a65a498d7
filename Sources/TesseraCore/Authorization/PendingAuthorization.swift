import Foundation

/// A validated authorization request waiting for sign-in or consent, as stored in an ``InteractionRecord`` of kind
/// ``InteractionKind/authorization`` or ``InteractionKind/consent``: everything ``AuthorizationRequest`` holds
/// except the client (stored by id), plus, for consent, the scopes the consent page showed. Consent completes exactly this request (RFC 6749 §4.1.1;
/// RFC 9700 §4.13), never one re-read from the browser's form.
public struct PendingAuthorization: Sendable, Codable, Hashable {
    public var redirectURI: String
    public var redirectURIWasSent: Bool
    public var responseType: String
    public var requestedScopes: ScopeSet?
    public var state: String?
    public var nonce: String?
    public var codeChallenge: String?
    public var prompt: [String]
    public var maxAge: Int?
    public var loginHint: String?
    public var resources: [String]
    public var parameters: [String: String]
    /// The scopes shown on the consent page: what an "Allow" grants, exactly (`nil` while waiting for sign-in).
    public var grantedScopes: ScopeSet?

    public init(_ request: AuthorizationRequest, grantedScopes: ScopeSet?) {
        redirectURI = request.redirectURI
        redirectURIWasSent = request.redirectURIWasSent
        responseType = request.responseType.rawValue
        requestedScopes = request.requestedScopes
        state = request.state
        nonce = request.nonce
        codeChallenge = request.codeChallenge
        prompt = request.prompt.map(\.rawValue).sorted()
        maxAge = request.maxAge
        loginHint = request.loginHint
        resources = request.resources
        parameters = request.parameters
        self.grantedScopes = grantedScopes
    }

    /// The request again, for `client` (looked up once by the stored client id); `nil` when the stored
    /// response type is unknown or the redirect URI is no longer registered for the client.
    public func request(client: Client) -> AuthorizationRequest? {
        guard let responseType = ResponseType(rawValue: responseType),
              RedirectURIMatcher.match(redirectURI, registered: client.redirectURIs, isPublicClient: client.isPublic) != nil else { return nil }
        return AuthorizationRequest(client: client, redirectURI: redirectURI, redirectURIWasSent: redirectURIWasSent, responseType: responseType,
                                    requestedScopes: requestedScopes, state: state, nonce: nonce, codeChallenge: codeChallenge,
                                    prompt: Set(prompt.compactMap(Prompt.init(rawValue:))), maxAge: maxAge, loginHint: loginHint,
                                    resources: resources, parameters: parameters)
    }

    /// The JSON stored as the interaction's payload.
    public func encoded() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    public static func decode(_ payload: String) -> PendingAuthorization? {
        try? JSONDecoder().decode(PendingAuthorization.self, from: Data(payload.utf8))
    }
}

/// How a consent answer ended.
public enum ConsentCompletion: Sendable, Equatable {
    /// Redirect the browser to the client (a code, tokens, or `access_denied`).
    case redirect(String)
    /// The interaction is unknown, expired, already answered, or not this browser's and user's: an error
    /// page, never a redirect to the client.
    case invalid(String)
}
