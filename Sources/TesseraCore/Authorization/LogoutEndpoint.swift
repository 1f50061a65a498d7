import Foundation

/// RP-Initiated Logout (OpenID Connect RP-Initiated Logout 1.0) at `/logout`: whether to ask the user,
/// sign out, and where to send the browser afterwards. The server renders the pages and ends the session.
///
/// - An `id_token_hint` must be an ID token this server issued (signature and issuer; expiry ignored, §2).
///   `client_id`, when sent with it, must be its audience.
/// - A `post_logout_redirect_uri` must be registered for the client (exact match), or the request is refused.
/// - The browser is redirected there **only with a valid `id_token_hint`** (§3: without one the OP "MUST NOT
///   perform post-logout redirection unless [it] has other means of confirming the legitimacy of the
///   post-logout redirection target"). Without it the user sees the signed-out page: with open registration a
///   registered URI is any URI an anonymous registrant chose, so `client_id` alone would be an open redirect.
/// - A signed-in user is asked first unless the hint names them (a plain link must not sign anyone out, §2).
public struct LogoutEndpoint: Sendable {
    public let clients: any ClientStore
    /// Verifies an `id_token_hint`; `nil` when it is not an ID token from this server.
    public let verifyHint: @Sendable (String) async -> IDTokenHint?

    public init(clients: any ClientStore, verifyHint: @escaping @Sendable (String) async -> IDTokenHint?) {
        self.clients = clients
        self.verifyHint = verifyHint
    }

    /// `/logout` with the OpenID Provider's own token verification.
    public init(services: GrantServices, clients: any ClientStore) {
        let tokens = OpenIDTokens(services: services)
        self.init(clients: clients, verifyHint: { await tokens.verifyIDTokenHint($0) })
    }

    /// The parameters of a logout request (§2).
    public struct Request: Sendable {
        public var idTokenHint: String?
        public var clientID: String?
        public var postLogoutRedirectURI: String?
        public var state: String?
        /// The user confirmed on Tessera's own sign-out page (a form post with the session's CSRF token).
        public var confirmedByUser: Bool

        public init(idTokenHint: String? = nil, clientID: String? = nil, postLogoutRedirectURI: String? = nil, state: String? = nil,
                    confirmedByUser: Bool = false) {
            self.idTokenHint = idTokenHint
            self.clientID = clientID
            self.postLogoutRedirectURI = postLogoutRedirectURI
            self.state = state
            self.confirmedByUser = confirmedByUser
        }
    }

    public enum Decision: Sendable, Equatable {
        /// Refuse with this message (an error page; nothing ends).
        case refuse(String)
        /// Ask the signed-in user to confirm (nothing ends yet).
        case confirm
        /// End the session, then redirect to `redirect` (with `state`) or, when `nil`, show the signed-out page.
        case signOut(redirect: String?)
    }

    /// Decides a logout request from a browser whose session belongs to `signedInUserID` (`nil`: not signed in).
    public func decide(_ request: Request, signedInUserID: String?) async throws -> Decision {
        var hint: IDTokenHint?
        if let raw = request.idTokenHint {
            hint = await verifyHint(raw)
            guard hint != nil else { return .refuse("The id_token_hint is not a valid ID token from this server.") }
        }
        // The client: from the hint's audience, or client_id (which must agree with it).
        let clientID = request.clientID ?? hint?.aud.first
        if let hinted = hint?.aud, let sent = request.clientID, !hinted.contains(sent) {
            return .refuse("client_id does not match the id_token_hint.")
        }
        var redirect: String?
        if let uri = request.postLogoutRedirectURI {
            guard let clientID, let client = try await clients.client(id: clientID), client.redirectURIs.contains(uri) else {
                return .refuse("The post_logout_redirect_uri is not registered for this client.")
            }
            // §3: only an ID token issued to the client confirms that the redirect is the client's wish.
            if hint != nil {
                redirect = uri
                if let state = request.state {
                    redirect! += (uri.contains("?") ? "&" : "?") + "state=" + AuthorizationRedirect.percentEncode(state)
                }
            }
        }
        let confirmed = request.confirmedByUser || (hint != nil && (signedInUserID == nil || signedInUserID == hint?.sub))
        if !confirmed, signedInUserID != nil { return .confirm }
        return .signOut(redirect: redirect)
    }
}
