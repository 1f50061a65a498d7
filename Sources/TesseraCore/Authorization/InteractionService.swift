public import Foundation

/// One pending authorization request from `/authorize` to the response (node-oidc-provider's `Interaction`).
///
/// `/authorize` validates the request once (``start(_:session:)``). When the user must sign in, the validated
/// request is stored server-side as an interaction of kind ``InteractionKind/authorization`` under an opaque,
/// single-use, short-lived id (only its SHA-256 digest at rest); the login page, the MFA step and an upstream
/// sign-in carry only that id, and ``resume(interactionID:session:)`` picks the stored request up again — the
/// browser never re-sends it and nothing is validated twice. Consent is a second interaction
/// (``InteractionKind/consent``, bound to the session and user) that ``completeConsent(interactionID:session:allow:)``
/// completes. Every decision — `prompt` (OIDC Core §3.1.2.1), `max_age`, `idp_hint`, remembered consent — is
/// made here; routes only turn an ``InteractionDecision`` into a page or a redirect.
public struct InteractionService: Sendable {
    let endpoint: AuthorizationEndpoint
    let interactions: any InteractionStore
    let clients: any ClientStore
    let clock: any TimeSource
    /// The configured upstream identity providers' ids: an `idp_hint` naming one skips the login page.
    public var upstreamProviders: Set<String>

    /// How long a user has to sign in (login page, MFA step, upstream sign-in) before the request must be started
    /// again from the application (Keycloak's default login timeout is 30 minutes too).
    public static let signInLifetime: TimeInterval = 1800

    public init(endpoint: AuthorizationEndpoint, interactions: any InteractionStore, clients: any ClientStore, clock: any TimeSource,
                upstreamProviders: Set<String>) {
        self.endpoint = endpoint
        self.interactions = interactions
        self.clients = clients
        self.clock = clock
        self.upstreamProviders = upstreamProviders
    }

    /// A new request at `/authorize` (RFC 6749 §4.1.1): validated here, once.
    public func start(_ parameters: [(String, String)], session: BrowserSession?) async throws -> InteractionDecision {
        let request: AuthorizationRequest
        do {
            request = try await AuthorizationRequest.validate(parameters, clients: clients)
        } catch let failure as AuthorizationFailure {
            switch failure {
            case .unredirectable(let message):
                return .failure(message)
            case .redirect(let error, let target):
                return .redirect(AuthorizationRedirect.error(error, target: target, issuer: endpoint.services.settings.issuer))
            }
        }
        // `idp_hint=<provider id>` (like Keycloak's `kc_idp_hint`): sign in at that upstream provider directly.
        let hint = request.parameters["idp_hint"].flatMap { upstreamProviders.contains($0) ? $0 : nil }
        return try await decide(request, session: session, signInStartedAt: nil, upstreamHint: hint)
    }

    /// Back at `/authorize` with an interaction id after signing in: consumes the stored request (single use) and
    /// decides it again for the session, now counting a sign-in made since the interaction began as fresh for
    /// `prompt=login` and `max_age`. An unknown, expired or used id is an error page, never a redirect.
    public func resume(interactionID: String, session: BrowserSession?) async throws -> InteractionDecision {
        guard !interactionID.isEmpty,
              let record = try await interactions.consumeInteraction(digest: Secrets.digest(interactionID), kind: .authorization, at: clock.now),
              let request = try await storedRequest(record) else {
            return .failure("This sign-in request is unknown, expired or was already used. Start again from the application.")
        }
        return try await decide(request, session: session, signInStartedAt: record.createdAt, upstreamHint: nil)
    }

    /// What the sign-in pages show about a pending interaction (the client's name, and the redirect URI whose origin
    /// the page's CSP `form-action` allows), read without consuming it; `nil` when it is unknown or expired.
    public func signInContext(interactionID: String) async throws -> SignInContext? {
        guard !interactionID.isEmpty,
              let record = try await interactions.interaction(digest: Secrets.digest(interactionID), kind: .authorization, at: clock.now),
              let request = try await storedRequest(record) else { return nil }
        return SignInContext(clientName: request.client.name, redirectURI: request.redirectURI)
    }

    /// The user answered the consent page: consumes the interaction (single use) and, when it belongs to this
    /// session and its signed-in user, completes exactly the stored request with exactly the stored scopes
    /// (RFC 9700 §4.13). One client lookup, no re-validation of browser-supplied parameters.
    public func completeConsent(interactionID: String, session: BrowserSession, allow: Bool) async throws -> ConsentCompletion {
        let invalid = ConsentCompletion.invalid("This consent request is unknown, expired or was already answered. Start again from the application.")
        guard !interactionID.isEmpty,
              let record = try await interactions.consumeInteraction(digest: Secrets.digest(interactionID), kind: .consent, at: clock.now),
              record.sessionDigest == session.idDigest, let subject = record.subject,
              let user = try await endpoint.signedInUser(session), user.id == subject, let authTime = session.authTime,
              let pending = PendingAuthorization.decode(record.payload), let scopes = pending.grantedScopes,
              let client = try await clients.client(id: record.clientID),
              let request = pending.request(client: client) else { return invalid }
        guard allow else { return .redirect(endpoint.deny(request, user: user)) }
        return .redirect(try await endpoint.approve(request, user: user, authTime: authTime, scopes: scopes,
                                                    authenticationMethods: session.authenticationMethods, identityProvider: session.identityProvider))
    }

    // MARK: Deciding

    func decide(_ request: AuthorizationRequest, session: BrowserSession?, signInStartedAt: Date?, upstreamHint: String?) async throws
        -> InteractionDecision
    {
        switch try await endpoint.decide(request, session: session, signInStartedAt: signInStartedAt) {
        case .redirect(let url):
            return .redirect(url)
        case .login:
            let id = try await store(request, kind: .authorization, lifetime: Self.signInLifetime, session: nil, subject: nil, scopes: nil)
            if let upstreamHint { return .upstream(providerID: upstreamHint, interaction: id) }
            return .login(LoginStep(interaction: id, clientName: request.client.name, loginHint: request.loginHint,
                                    redirectURI: request.redirectURI))
        case .consent(let user, let scopes):
            guard let session else { return .failure("Your session expired. Go back to the application and try again.") }
            let id = try await store(request, kind: .consent, lifetime: AuthorizationEndpoint.consentInteractionLifetime,
                                     session: session.idDigest, subject: user.id, scopes: scopes)
            let loopbackOnly = request.client.redirectURIs.allSatisfy { uri in
                URLComponents(string: uri)?.host.map { ["127.0.0.1", "[::1]", "::1", "localhost"].contains($0.lowercased()) } ?? false
            }
            return .consent(ConsentStep(interaction: id, clientName: request.client.name, unverifiedClient: request.client.registeredAnonymously,
                                        user: user, scopes: scopes, redirectURI: request.redirectURI,
                                        loopbackRedirectsOnly: loopbackOnly, clientID: request.client.id))
        }
    }

    /// Stores `request` as a new interaction and returns its opaque id (only the digest is stored).
    func store(_ request: AuthorizationRequest, kind: InteractionKind, lifetime: TimeInterval, session: Data?, subject: String?,
               scopes: ScopeSet?) async throws -> String {
        let id = Secrets.random(bytes: 32)
        let now = clock.now
        try await interactions.insertInteraction(InteractionRecord(
            idDigest: Secrets.digest(id), kind: kind, clientID: request.client.id,
            payload: try PendingAuthorization(request, grantedScopes: scopes).encoded(), sessionDigest: session, subject: subject,
            createdAt: now, expiresAt: now.addingTimeInterval(lifetime)))
        return id
    }

    /// The stored request with its client (one lookup); `nil` when the client is gone or no longer has the redirect URI.
    func storedRequest(_ record: InteractionRecord) async throws -> AuthorizationRequest? {
        guard let pending = PendingAuthorization.decode(record.payload), let client = try await clients.client(id: record.clientID) else {
            return nil
        }
        return pending.request(client: client)
    }
}

/// What `/authorize` does next (``InteractionService``).
public enum InteractionDecision: Sendable {
    /// Show the sign-in page; it returns to `/authorize` with ``LoginStep/interaction``.
    case login(LoginStep)
    /// Sign in at this upstream provider (`idp_hint`), returning with `interaction`.
    case upstream(providerID: String, interaction: String)
    /// Show the consent page for ``ConsentStep/interaction``.
    case consent(ConsentStep)
    /// Redirect the browser to the client: a success response or an error (RFC 6749 §4.1.2, §4.1.2.1).
    case redirect(String)
    /// The client or redirect URI cannot be trusted, or the interaction is gone: an error page, never a redirect.
    case failure(String)
}

/// The sign-in step of a pending authorization request.
public struct LoginStep: Sendable, Equatable {
    /// The opaque interaction id the sign-in carries back to `/authorize`.
    public let interaction: String
    public let clientName: String
    /// `login_hint` (OIDC Core §3.1.2.1), pre-filled as the username.
    public let loginHint: String?
    public let redirectURI: String
}

/// The consent step of a pending authorization request.
public struct ConsentStep: Sendable {
    /// The opaque interaction id the consent form carries (nothing else of the request).
    public let interaction: String
    public let clientName: String
    /// The client registered itself (RFC 7591 open registration): its name is its own claim.
    public let unverifiedClient: Bool
    public let user: User
    public let scopes: ScopeSet
    public let redirectURI: String

    /// The host of a Client ID Metadata Document client's URL: what actually identifies it (its name is its claim).
    public var documentHost: String? {
        ClientIDMetadataDocument.isClientIDURL(clientID, allowLoopbackHTTP: true) ? ClientIDMetadataDocument.host(of: clientID) : nil
    }
    /// Whether every redirect URI of the client is on this device (loopback): a local agent — or anything that can
    /// listen on a local port — receives the code.
    public let loopbackRedirectsOnly: Bool
    public let clientID: String
}

/// What the sign-in pages show about the pending request.
public struct SignInContext: Sendable, Equatable {
    public let clientName: String
    public let redirectURI: String
}
