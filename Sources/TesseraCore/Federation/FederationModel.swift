public import Foundation

/// The kind of an upstream identity provider.
public enum IdentityProviderKind: Sendable, Hashable {
    /// An OpenID Connect provider found by its issuer (OIDC Discovery 1.0: metadata, `jwks_uri`); its ID token
    /// is the proof of identity.
    case openIDConnect(issuer: String)
    /// A plain OAuth 2.0 provider (the way GitHub works): no ID token, so the identity is read from its
    /// userinfo endpoint with the access token and mapped through `claims`.
    case oauth2(endpoints: OAuth2ProviderEndpoints, claims: ClaimMapping)
}

/// The endpoints of a plain OAuth 2.0 provider.
public struct OAuth2ProviderEndpoints: Sendable, Hashable {
    public var authorization: String
    public var token: String
    public var userinfo: String
    public init(authorization: String, token: String, userinfo: String) {
        self.authorization = authorization
        self.token = token
        self.userinfo = userinfo
    }
}

/// Which member of a provider's userinfo JSON holds each claim (top-level member names).
public struct ClaimMapping: Sendable, Hashable {
    /// The stable user identifier, e.g. GitHub's numeric `id`. Numbers are read as their decimal text.
    public var subject: String
    public var email: String?
    /// A boolean member saying the email is verified; without it the email counts as unverified.
    public var emailVerified: String?
    public var name: String?
    public var preferredUsername: String?

    public init(subject: String = "sub", email: String? = "email", emailVerified: String? = "email_verified", name: String? = "name",
                preferredUsername: String? = "preferred_username") {
        self.subject = subject
        self.email = email
        self.emailVerified = emailVerified
        self.name = name
        self.preferredUsername = preferredUsername
    }
}

/// One configured upstream identity provider (`identityProviders` in the config file).
public struct IdentityProviderSettings: Sendable, Hashable {
    /// Short stable name used in URLs and links, e.g. `google` (`[a-z0-9-]`, 1–32 characters).
    public var id: String
    /// Shown on the login button: "Continue with <displayName>".
    public var displayName: String
    public var kind: IdentityProviderKind
    public var clientID: String
    /// The client secret, read from the environment or a file at start-up; never stored in the config file.
    public var clientSecret: String
    /// Scopes asked of the provider (`openid` is always added for OpenID Connect providers).
    public var scopes: [String]
    /// Link a first sign-in to an existing local user whose email is the upstream email, when the provider
    /// says it is verified. Off by default: only enable it for providers that own the email domain or verify it.
    public var linkByVerifiedEmail: Bool
    /// Create a local user on a first sign-in that links to nobody. Default on.
    public var provisionUsers: Bool
    /// Skip Tessera's own TOTP step for users who sign in here (the provider enforces MFA). Default off.
    public var trustedForMFA: Bool
    /// Scopes a provisioned user may grant. Default `openid profile email` plus the server's default scopes.
    public var userScopes: ScopeSet?

    public init(id: String, displayName: String, kind: IdentityProviderKind, clientID: String, clientSecret: String, scopes: [String],
                linkByVerifiedEmail: Bool = false, provisionUsers: Bool = true, trustedForMFA: Bool = false, userScopes: ScopeSet? = nil) {
        self.id = id
        self.displayName = displayName
        self.kind = kind
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.scopes = scopes
        self.linkByVerifiedEmail = linkByVerifiedEmail
        self.provisionUsers = provisionUsers
        self.trustedForMFA = trustedForMFA
        self.userScopes = userScopes
    }

    /// Whether `id` is a valid provider id.
    public static func isValidID(_ id: String) -> Bool {
        (1...32).contains(id.utf8.count) && id.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}

/// The identity an upstream provider vouched for, after every check passed.
public struct UpstreamIdentity: Sendable, Hashable {
    public var providerID: String
    /// The upstream `sub` (or the mapped subject member): stable per provider.
    public var subject: String
    public var email: String?
    public var emailVerified: Bool
    public var name: String?
    public var preferredUsername: String?
    /// The upstream `amr`, if its ID token had one.
    public var authenticationMethods: [String]

    public init(providerID: String, subject: String, email: String? = nil, emailVerified: Bool = false, name: String? = nil,
                preferredUsername: String? = nil, authenticationMethods: [String] = []) {
        self.providerID = providerID
        self.subject = subject
        self.email = email
        self.emailVerified = emailVerified
        self.name = name
        self.preferredUsername = preferredUsername
        self.authenticationMethods = authenticationMethods
    }
}

/// Why an upstream sign-in failed. Each case has a stable audit `reason` and a message for the error page
/// that never echoes upstream input.
public enum FederationFailure: Error, Sendable, Hashable {
    /// No provider has this id.
    case unknownProvider
    /// The callback's `state` is unknown, already used, expired, or bound to another browser.
    case invalidState
    /// The provider answered with an error (`access_denied` when the user declined).
    case upstreamError(code: String)
    /// The callback's `iss` is not the provider's issuer, or is missing where the provider promised it (RFC 9207).
    case issuerMismatch
    /// The callback had no `code`.
    case missingCode
    /// The provider could not be reached, timed out, or answered something unusable (`detail` is for the log only).
    case providerUnavailable(detail: String)
    /// The token endpoint refused the code.
    case tokenExchangeFailed(detail: String)
    /// The ID token failed validation (`detail`: signature, iss, aud, exp, iat, azp…).
    case invalidIDToken(detail: String)
    /// The ID token's `nonce` is not the one this sign-in sent.
    case nonceMismatch
    /// The userinfo answer had no usable subject (plain OAuth 2.0 providers).
    case invalidUserinfo(detail: String)
    /// The identity links to nobody and the provider may not create users.
    case noLocalAccount
    /// The verified email belongs to several local users, so the identity cannot be linked by it.
    case ambiguousEmail
    /// The linked local user is disabled.
    case accountDisabled

    /// A short stable reason for audit events and logs.
    public var reason: String {
        switch self {
        case .unknownProvider: "unknown_provider"
        case .invalidState: "invalid_state"
        case .upstreamError(let code): code == "access_denied" ? "access_denied" : "upstream_error"
        case .issuerMismatch: "issuer_mismatch"
        case .missingCode: "missing_code"
        case .providerUnavailable: "provider_unavailable"
        case .tokenExchangeFailed: "token_exchange_failed"
        case .invalidIDToken: "invalid_id_token"
        case .nonceMismatch: "nonce_mismatch"
        case .invalidUserinfo: "invalid_userinfo"
        case .noLocalAccount: "no_local_account"
        case .ambiguousEmail: "ambiguous_email"
        case .accountDisabled: "account_disabled"
        }
    }

    /// What the error page says.
    public var message: String {
        switch self {
        case .unknownProvider: "This sign-in provider is not configured."
        case .invalidState: "This sign-in link has expired or was already used. Start again from the sign-in page."
        case .upstreamError(let code):
            code == "access_denied" ? "You declined to sign in with the provider." : "The sign-in provider reported an error. Try again later."
        case .issuerMismatch: "The sign-in response did not come from the expected provider."
        case .missingCode: "The sign-in provider's response was incomplete. Start again from the sign-in page."
        case .providerUnavailable: "The sign-in provider could not be reached. Try again later."
        case .tokenExchangeFailed: "The sign-in provider did not accept the sign-in. Start again from the sign-in page."
        case .invalidIDToken, .nonceMismatch: "The sign-in provider's identity token could not be verified."
        case .invalidUserinfo: "The sign-in provider did not return a usable identity."
        case .noLocalAccount: "No account is linked to this identity, and new accounts cannot be created through this provider."
        case .ambiguousEmail: "Several accounts use this email address, so this sign-in cannot be linked to one of them. Ask an administrator."
        case .accountDisabled: "This account is disabled."
        }
    }
}

/// The upstream leg of one provider: building the authorization request and turning the callback into a
/// verified identity. Implemented over HTTP by `TesseraFederation`; the core never sees HTTP.
public protocol UpstreamProviderClient: Sendable {
    /// The provider's authorization endpoint (the login page's CSP `form-action` must allow its origin).
    func authorizationEndpoint() async throws(FederationFailure) -> String
    /// The URL to send the browser to: the authorization code flow with PKCE S256, `state` and (OIDC) `nonce`.
    func authorizationURL(state: String, nonce: String, codeChallenge: String, redirectURI: String) async throws(FederationFailure) -> String
    /// Checks the callback's `iss` (RFC 9207), redeems `code` with `codeVerifier`, validates the ID token fully
    /// (signature against the provider's JWKS, `iss`, `aud`, `exp`, `iat`, `nonce`, `azp`) or, for plain OAuth 2.0,
    /// reads and maps the userinfo; returns the identity.
    func redeem(code: String, issuerParameter: String?, codeVerifier: String, nonce: String, redirectURI: String) async throws(FederationFailure)
        -> UpstreamIdentity
}

/// A pending upstream sign-in at rest, keyed by the digest of its `state`; single-use.
public struct FederationState: Sendable, Hashable {
    public var stateDigest: Data
    public var providerID: String
    public var nonce: String
    /// The PKCE verifier (RFC 7636) of this sign-in.
    public var codeVerifier: String
    /// Where the browser goes after signing in (a local `/authorize?…` or `/account`).
    public var returnTo: String
    /// The digest of the browser session that started it: the callback must come from the same browser.
    public var sessionDigest: Data
    public var createdAt: Date
    public var expiresAt: Date

    public init(stateDigest: Data, providerID: String, nonce: String, codeVerifier: String, returnTo: String, sessionDigest: Data,
                createdAt: Date, expiresAt: Date) {
        self.stateDigest = stateDigest
        self.providerID = providerID
        self.nonce = nonce
        self.codeVerifier = codeVerifier
        self.returnTo = returnTo
        self.sessionDigest = sessionDigest
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A link from an upstream identity (provider + upstream subject) to one local user.
public struct FederatedIdentity: Sendable, Hashable {
    public var providerID: String
    public var subject: String
    public var userID: String
    /// The upstream email when linked (shown on `/account`).
    public var email: String?
    public var linkedAt: Date
    public var lastSignInAt: Date?

    public init(providerID: String, subject: String, userID: String, email: String?, linkedAt: Date, lastSignInAt: Date? = nil) {
        self.providerID = providerID
        self.subject = subject
        self.userID = userID
        self.email = email
        self.linkedAt = linkedAt
        self.lastSignInAt = lastSignInAt
    }
}

/// Pending upstream sign-ins and identity links.
public protocol FederationStore: Sendable {
    func insertFederationState(_ state: FederationState) async throws
    /// Atomically deletes and returns the pending sign-in with this digest (single use, across nodes too);
    /// `nil` when there is none. The caller checks expiry and the session binding.
    func takeFederationState(digest: Data) async throws -> FederationState?
    @discardableResult
    func purgeExpiredFederationStates(before: Date) async throws -> Int

    func federatedIdentity(providerID: String, subject: String) async throws -> FederatedIdentity?
    func federatedIdentities(userID: String) async throws -> [FederatedIdentity]
    /// Stores a link. Returns `false` (storing nothing) when this provider + subject is already linked.
    func insertFederatedIdentity(_ identity: FederatedIdentity) async throws -> Bool
    func recordFederatedSignIn(providerID: String, subject: String, at: Date) async throws
    /// Removes the link of `userID`'s identity. Returns whether it existed.
    func deleteFederatedIdentity(userID: String, providerID: String, subject: String) async throws -> Bool
    /// The users whose profile email is `email` (compared case-insensitively).
    func userIDs(email: String) async throws -> [String]
}

extension AuditEvent.Kind {
    /// A user signed in through an upstream provider (detail: `provider`).
    public static let federationSignIn = AuditEvent.Kind(rawValue: "federation.sign_in")
    /// An upstream sign-in failed (detail: `provider`, `reason`).
    public static let federationFailed = AuditEvent.Kind(rawValue: "federation.failed")
    /// An upstream identity was linked to a local user (detail: `provider`, `method`: `provisioned` or `verified_email`).
    public static let federationLinked = AuditEvent.Kind(rawValue: "federation.linked")
    /// A user removed a linked identity (detail: `provider`).
    public static let federationUnlinked = AuditEvent.Kind(rawValue: "federation.unlinked")
    /// A local user was created for a first upstream sign-in (detail: `provider`).
    public static let userProvisioned = AuditEvent.Kind(rawValue: "user.provisioned")
}

extension User {
    /// The password hash of a user who has no password (created by an upstream sign-in): it matches nothing.
    public static let noPassword = "!"
}
