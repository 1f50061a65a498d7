public import Foundation

/// The authorization endpoint's decisions (RFC 6749 §3.1, §4.1.1, §4.2.1; OIDC Core §3.1.2): whether the
/// user must log in or consent, and the response once they have. The server only renders pages and
/// follows the decision.
public struct AuthorizationEndpoint: Sendable {
    public let services: GrantServices
    let users: any UserStore
    let consents: any ConsentStore
    let codes: any AuthorizationCodeStore
    /// MFA enrolments: the `amr` of implicit ID tokens (whether the session's sign-in included the second factor).
    let mfaEnrollments: any MFAStore

    public init(services: GrantServices, users: any UserStore, consents: any ConsentStore, codes: any AuthorizationCodeStore,
                mfaEnrollments: any MFAStore) {
        self.services = services
        self.users = users
        self.consents = consents
        self.codes = codes
        self.mfaEnrollments = mfaEnrollments
    }

    /// Authorization code lifetime (RFC 6749 §4.1.2 recommends at most 10 minutes; Tessera defaults to 60 s).
    var codeLifetime: TimeInterval { services.settings.authorizationCodeLifetime }
    var idTokenLifetime: TimeInterval { services.settings.idTokenLifetime }

    /// What to do next with a validated request.
    public enum Decision: Sendable {
        /// Show the login page.
        case login
        /// Show the consent page for these scopes.
        case consent(user: User, scopes: ScopeSet)
        /// Redirect the browser to this URL (a success or an error response).
        case redirect(String)
    }

    /// The signed-in user of a session, when the session is live and the user enabled.
    public func signedInUser(_ session: BrowserSession?) async throws -> User? {
        guard let session, let userID = session.userID, session.expiresAt > services.clock.now else { return nil }
        guard let user = try await users.user(id: userID), !user.disabled else { return nil }
        return user
    }

    /// Decides a request for the browser holding `session`. `signInStartedAt` is when the pending interaction sent the
    /// user to sign in (``InteractionService/resume(interactionID:session:)``): a sign-in at or after it satisfies
    /// `prompt=login` and `max_age` (OIDC Core §3.1.2.1), so neither sends the user back to the login page forever.
    public func decide(_ request: AuthorizationRequest, session: BrowserSession?, signInStartedAt: Date? = nil) async throws -> Decision {
        let now = services.clock.now
        let issuer = services.settings.issuer
        func error(_ e: OAuthError) -> Decision { .redirect(AuthorizationRedirect.error(e, target: request.target, issuer: issuer)) }

        var user = try await signedInUser(session)
        let signedInDuringInteraction = session?.authTime.map { authTime in signInStartedAt.map { authTime >= $0 } ?? false } ?? false
        if let authTime = session?.authTime, let maxAge = request.maxAge, now.timeIntervalSince(authTime) > TimeInterval(maxAge),
           !signedInDuringInteraction {
            user = nil // OIDC Core §3.1.2.1: re-authenticate when the login is older than max_age.
        }
        if request.prompt.contains(.login), !signedInDuringInteraction { user = nil }
        guard let user, let authTime = session?.authTime else {
            if request.prompt.contains(.none) { return error(OAuthError(.loginRequired, "The user is not signed in.")) }
            return .login
        }
        let scopes: ScopeSet
        do {
            scopes = try services.scopePolicy.grant(requested: request.requestedScopes, clientAllowed: request.client.allowedScopes,
                                                    userAllowed: user.allowedScopes)
        } catch let failure {
            return error(failure)
        }
        if try await needsConsent(request, user: user, scopes: scopes) {
            if request.prompt.contains(.none) { return error(OAuthError(.consentRequired, "The user has not consented to this client.")) }
            return .consent(user: user, scopes: scopes)
        }
        return .redirect(try await approve(request, user: user, authTime: authTime, scopes: scopes,
                                           authenticationMethods: session?.authenticationMethods, identityProvider: session?.identityProvider))
    }

    /// Whether the user must be asked: the client requires consent, and there is no remembered consent
    /// covering these scopes, or the client asked again with `prompt=consent`.
    public func needsConsent(_ request: AuthorizationRequest, user: User, scopes: ScopeSet) async throws -> Bool {
        guard request.client.requireConsent else { return false }
        if request.prompt.contains(.consent) { return true }
        guard let existing = try await consents.consent(subject: user.id, clientID: request.client.id) else { return true }
        return !scopes.isSubset(of: existing.scopes)
    }

    /// The scopes the request would be granted for `user`.
    public func grantedScopes(_ request: AuthorizationRequest, user: User) throws(OAuthError) -> ScopeSet {
        try services.scopePolicy.grant(requested: request.requestedScopes, clientAllowed: request.client.allowedScopes, userAllowed: user.allowedScopes)
    }

    /// How long a consent page may be answered (node-oidc-provider's interaction TTL is 10 minutes too).
    public static let consentInteractionLifetime: TimeInterval = 600

    /// The user refused: `access_denied` (RFC 6749 §4.1.2.1).
    public func deny(_ request: AuthorizationRequest, user: User) -> String {
        services.audit.record(AuditEvent(.authorizationDenied, at: services.clock.now, clientID: request.client.id, subject: user.id))
        return AuthorizationRedirect.error(OAuthError(.accessDenied, "The user denied the request."), target: request.target,
                                           issuer: services.settings.issuer)
    }

    /// The user is signed in and consented: remember the consent and build the success response.
    /// `authenticationMethods` and `identityProvider` are how the session signed in (they become `amr` and `idp`).
    public func approve(_ request: AuthorizationRequest, user: User, authTime: Date, scopes: ScopeSet,
                        authenticationMethods: [String]? = nil, identityProvider: String? = nil) async throws -> String {
        let now = services.clock.now
        let issuer = services.settings.issuer
        let existing = try await consents.consent(subject: user.id, clientID: request.client.id)
        try await consents.saveConsent(ConsentRecord(subject: user.id, clientID: request.client.id,
                                                             scopes: scopes.union(existing?.scopes ?? []),
                                                             grantedAt: existing?.grantedAt ?? now, updatedAt: now))
        let newlyGranted = scopes.subtracting(existing?.scopes ?? [])
        if !newlyGranted.isEmpty {
            services.audit.record(AuditEvent(.consentGranted, at: now, clientID: request.client.id, subject: user.id,
                                             detail: ["scope": newlyGranted.description]))
        }
        var parameters: [(String, String)] = []
        switch request.responseType {
        case .code:
            let code = Secrets.random(bytes: 32)
            try await codes.insertAuthorizationCode(AuthorizationCodeRecord(
                codeDigest: Secrets.digest(code), clientID: request.client.id, subject: user.id, redirectURI: request.redirectURI,
                redirectURIWasSent: request.redirectURIWasSent, scopes: scopes, codeChallenge: request.codeChallenge,
                nonce: request.nonce, authTime: authTime, issuedAt: now, expiresAt: now.addingTimeInterval(codeLifetime),
                resources: request.resources, authenticationMethods: authenticationMethods, identityProvider: identityProvider))
            parameters.append(("code", code))
        case .token, .idTokenToken:
            // RFC 6749 §4.2.2: no refresh token in the implicit flow.
            let access = try await services.accessTokens.mint(subject: user.id, clientID: request.client.id, scopes: scopes,
                                                              audience: request.resources.isEmpty ? services.settings.defaultAudience : request.resources,
                                                              now: now, authTime: authTime)
            parameters += [("access_token", access.token), ("token_type", "Bearer"), ("expires_in", String(access.lifetime))]
            if !scopes.isEmpty { parameters.append(("scope", scopes.description)) }
            if request.responseType == .idTokenToken {
                let idToken = try await IDTokenMinter(issuer: issuer, lifetime: idTokenLifetime, keys: services.accessTokens.keys,
                                                algorithm: request.client.idTokenAlgorithm)
                    .mint(subject: user.id, clientID: request.client.id, nonce: request.nonce, authTime: authTime, now: now, accessToken: access.token,
                          amr: try await MFAService.authenticationMethods(userID: user.id, authTime: authTime, recorded: authenticationMethods,
                                                                          enrollments: mfaEnrollments),
                          idp: identityProvider)
                parameters.append(("id_token", idToken))
            }
        }
        if let state = request.state { parameters.append(("state", state)) }
        parameters.append(("iss", issuer))
        services.audit.record(AuditEvent(.authorizationGranted, at: now, clientID: request.client.id, subject: user.id,
                                         detail: ["response_type": request.responseType.rawValue, "scope": scopes.description]))
        return AuthorizationRedirect.url(request.target, parameters: parameters)
    }
}

extension AuditEvent.Kind {
    public static let authorizationGranted = AuditEvent.Kind(rawValue: "authorization.granted")
    public static let authorizationDenied = AuditEvent.Kind(rawValue: "authorization.denied")
    public static let codeReplayDetected = AuditEvent.Kind(rawValue: "code.replay_detected")
    public static let consentGranted = AuditEvent.Kind(rawValue: "consent.granted")
    public static let consentRevoked = AuditEvent.Kind(rawValue: "consent.revoked")
}
