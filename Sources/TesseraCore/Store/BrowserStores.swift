public import Foundation

/// An authorization code at rest (RFC 6749 §4.1.2): only its SHA-256 digest is stored.
public struct AuthorizationCodeRecord: Sendable, Hashable {
    public var codeDigest: Data
    public var clientID: String
    public var subject: String
    /// The redirect URI the code was issued to; `/token` must repeat it (RFC 6749 §4.1.3).
    public var redirectURI: String
    /// Whether `redirect_uri` was in the authorization request.
    public var redirectURIWasSent: Bool
    public var scopes: ScopeSet
    /// The S256 `code_challenge`, if one was sent.
    public var codeChallenge: String?
    public var nonce: String?
    public var authTime: Date
    public var issuedAt: Date
    public var expiresAt: Date
    /// Set by the one successful redemption.
    public var consumedAt: Date?
    /// The refresh token family issued from this code (revoked if the code is replayed).
    public var refreshFamilyID: String?
    /// The access token issued from this code, for revocation on replay.
    public var accessTokenJTI: String?
    public var accessTokenExpiresAt: Date?
    /// The `resource` values of the authorization request (RFC 8707), validated against the client; empty when
    /// none were sent (the token then gets the configured default audience).
    public var resources: [String]
    /// How the user signed in (`amr`, RFC 8176) when the session recorded it; `nil` for older sessions.
    public var authenticationMethods: [String]?
    /// The upstream identity provider the user signed in through (`idp`), if any.
    public var identityProvider: String?

    public init(codeDigest: Data, clientID: String, subject: String, redirectURI: String, redirectURIWasSent: Bool = true, scopes: ScopeSet,
                codeChallenge: String?, nonce: String?, authTime: Date, issuedAt: Date, expiresAt: Date, consumedAt: Date? = nil,
                refreshFamilyID: String? = nil, accessTokenJTI: String? = nil, accessTokenExpiresAt: Date? = nil,
                resources: [String] = [], authenticationMethods: [String]? = nil, identityProvider: String? = nil) {
        self.codeDigest = codeDigest
        self.clientID = clientID
        self.subject = subject
        self.redirectURI = redirectURI
        self.redirectURIWasSent = redirectURIWasSent
        self.scopes = scopes
        self.codeChallenge = codeChallenge
        self.nonce = nonce
        self.authTime = authTime
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.consumedAt = consumedAt
        self.refreshFamilyID = refreshFamilyID
        self.accessTokenJTI = accessTokenJTI
        self.accessTokenExpiresAt = accessTokenExpiresAt
        self.resources = resources
        self.authenticationMethods = authenticationMethods
        self.identityProvider = identityProvider
    }
}

/// The outcome of redeeming a code.
public enum CodeRedemption: Sendable, Equatable {
    /// This call consumed the code.
    case redeemed(AuthorizationCodeRecord)
    /// The code was consumed before: a replay (RFC 6749 §4.1.2).
    case alreadyRedeemed(AuthorizationCodeRecord)
    case notFound
}

/// Authorization codes, keyed by digest.
public protocol AuthorizationCodeStore: Sendable {
    func insertAuthorizationCode(_ code: AuthorizationCodeRecord) async throws
    func authorizationCode(digest: Data) async throws -> AuthorizationCodeRecord?
    /// Atomically consumes the code and, in the same transaction, stores `refreshToken` and records its
    /// family on the code: of concurrent redemptions of one code exactly one gets `.redeemed`, across
    /// processes too, and a replay that loses always finds the winner's refresh token to revoke.
    /// The access token's `jti` and expiry are recorded on the code in the same step. A losing call stores nothing.
    func redeemAuthorizationCode(digest: Data, at: Date, issuing refreshToken: RefreshTokenRecord?,
                                 accessTokenJTI: String?, accessTokenExpiresAt: Date?) async throws -> CodeRedemption
    /// Records the access token issued from a redeemed code.
    func recordAuthorizationCodeAccessToken(digest: Data, jti: String, expiresAt: Date) async throws
    /// Deletes codes that expired before `before`. Returns how many were removed.
    @discardableResult
    func purgeExpiredAuthorizationCodes(before: Date) async throws -> Int
}

/// A browser session (login state) at rest: keyed by the digest of the cookie value.
public struct BrowserSession: Sendable, Hashable {
    public var idDigest: Data
    /// The signed-in user; `nil` for a session that only carries a CSRF token (before login).
    public var userID: String?
    public var authTime: Date?
    /// The per-session CSRF token, compared in constant time.
    public var csrfToken: String
    public var createdAt: Date
    /// When the session ends unless used: the idle deadline, moved forward on use and never past the absolute
    /// lifetime from `createdAt` (``SessionExpiry``).
    public var expiresAt: Date
    /// How the user signed in (`amr`, RFC 8176): e.g. `["pwd"]`, `["pwd", "otp"]`, `["fed"]`; `nil` for sessions
    /// from before it was recorded (the ID token then derives it from the MFA enrolment).
    public var authenticationMethods: [String]?
    /// The upstream identity provider the user signed in through (`idp`), if any.
    public var identityProvider: String?
    /// When the user last re-entered their credentials on the re-authentication form (step-up before a change to
    /// their factors, ``StepUpPolicy``); `nil` when never. A sign-in alone does not set it.
    public var reauthenticatedAt: Date?

    public init(idDigest: Data, userID: String?, authTime: Date?, csrfToken: String, createdAt: Date, expiresAt: Date,
                authenticationMethods: [String]? = nil, identityProvider: String? = nil, reauthenticatedAt: Date? = nil) {
        self.idDigest = idDigest
        self.userID = userID
        self.authTime = authTime
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.authenticationMethods = authenticationMethods
        self.identityProvider = identityProvider
        self.reauthenticatedAt = reauthenticatedAt
    }
}

/// Browser sessions.
public protocol SessionStore: Sendable {
    func insertSession(_ session: BrowserSession) async throws
    func session(digest: Data) async throws -> BrowserSession?
    func deleteSession(digest: Data) async throws
    /// Moves the session's `expiresAt` forward to `until` (the idle timeout, ``SessionExpiry``); one conditional
    /// statement that never moves it back, so concurrent requests of one session cannot shorten it.
    func extendSession(digest: Data, until: Date) async throws
    /// Ends every session of `userID` except the one with digest `except` (the session that made a self-service
    /// change), in one statement (RFC 9700 §4.14.2). Returns how many were ended.
    @discardableResult
    func deleteSessions(userID: String, except: Data?) async throws -> Int
    @discardableResult
    func purgeExpiredSessions(before: Date) async throws -> Int
}

/// A user's remembered consent to a client.
public struct ConsentRecord: Sendable, Hashable {
    public var subject: String
    public var clientID: String
    public var scopes: ScopeSet
    public var grantedAt: Date
    public var updatedAt: Date

    public init(subject: String, clientID: String, scopes: ScopeSet, grantedAt: Date, updatedAt: Date) {
        self.subject = subject
        self.clientID = clientID
        self.scopes = scopes
        self.grantedAt = grantedAt
        self.updatedAt = updatedAt
    }
}

/// Consents (one per user and client), the OIDC profile of users, and per-grant revocation.
public protocol ConsentStore: Sendable {
    func consent(subject: String, clientID: String) async throws -> ConsentRecord?
    /// Inserts or replaces the consent of `subject` to `clientID`.
    func saveConsent(_ consent: ConsentRecord) async throws
    func consents(subject: String) async throws -> [ConsentRecord]
    /// Deletes a consent. Returns whether it existed.
    func deleteConsent(subject: String, clientID: String) async throws -> Bool
    /// Deletes every user's consent to `clientID` (its redirect URIs or name changed). Returns how many were removed.
    @discardableResult
    func deleteConsents(clientID: String) async throws -> Int
    /// Revokes every live refresh token `clientID` holds for `subject`. Returns how many were newly revoked.
    @discardableResult
    func revokeRefreshTokens(subject: String, clientID: String, at: Date) async throws -> Int
}

/// Optional OpenID Connect profile claims of a user (OIDC Core §5.1).
public struct UserProfile: Sendable, Hashable {
    public var name: String?
    public var email: String?
    public init(name: String? = nil, email: String? = nil) {
        self.name = name
        self.email = email
    }
}

/// Users' profile claims.
public protocol UserProfileStore: Sendable {
    func userProfile(userID: String) async throws -> UserProfile
    func setUserProfile(userID: String, profile: UserProfile) async throws
}
