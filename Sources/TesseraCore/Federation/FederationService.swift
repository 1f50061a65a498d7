public import Foundation
import Logging

/// The configured upstream identity providers, in configuration order, each with the client that talks to it.
public struct IdentityProviderRegistry: Sendable {
    public struct Entry: Sendable {
        public let settings: IdentityProviderSettings
        public let client: any UpstreamProviderClient
        public init(settings: IdentityProviderSettings, client: any UpstreamProviderClient) {
            self.settings = settings
            self.client = client
        }
    }

    public let entries: [Entry]
    public init(_ entries: [Entry] = []) { self.entries = entries }

    public func entry(id: String) -> Entry? { entries.first { $0.settings.id == id } }
    public var isEmpty: Bool { entries.isEmpty }
}

/// The callback parameters of the upstream authorization response (RFC 6749 §4.1.2, RFC 9207).
public struct FederationCallback: Sendable, Hashable {
    public var code: String?
    public var state: String?
    /// The `iss` response parameter (RFC 9207).
    public var issuer: String?
    /// The `error` response parameter (RFC 6749 §4.1.2.1).
    public var error: String?

    public init(code: String?, state: String?, issuer: String?, error: String?) {
        self.code = code
        self.state = state
        self.issuer = issuer
        self.error = error
    }

    /// The callback from its query parameters; `nil` when `code`, `state`, `iss` or `error` is repeated: as suspect
    /// as a missing one (RFC 6749 §3.1), refused rather than one picked.
    public init?(query: [(String, String)]) {
        var values: [String: String] = [:]
        for (name, value) in query where ["code", "state", "iss", "error"].contains(name) {
            guard values[name] == nil else { return nil }
            values[name] = value
        }
        self.init(code: values["code"], state: values["state"], issuer: values["iss"], error: values["error"])
    }
}

/// A finished upstream sign-in: who the local user is and how they signed in.
public struct FederatedSignIn: Sendable, Hashable {
    public var user: User
    public var identity: UpstreamIdentity
    /// Where the browser goes next (stored with the state, so it cannot be swapped on the way back).
    public var returnTo: String
    /// Tessera's own TOTP step is still due (the user has MFA and the provider is not trusted for it).
    public var requiresMFA: Bool
    /// `amr` for the session: `fed`, plus the provider's own methods when it is trusted for MFA.
    public var authenticationMethods: [String]
}

/// Signing in through upstream providers: starting the authorization code flow (state, nonce, PKCE S256, bound
/// to the browser session), finishing it, and mapping the upstream identity to exactly one local user.
///
/// Linking rules: an identity already linked signs in as its user. Otherwise, when the provider is trusted for
/// email (`linkByVerifiedEmail`) and says the email is verified, it links to the one local user with that profile
/// email. Otherwise, when the provider may provision, a new local user without a password is created; its profile
/// gets the email only from a provider trusted for email (see `profileEmail`), so an address merely claimed upstream
/// can never later attract another identity (account pre-hijacking). Every outcome is an audit event; nothing
/// secret is recorded.
public struct FederationService: Sendable {
    public let services: GrantServices
    public var providers: IdentityProviderRegistry
    /// How long a started upstream sign-in stays valid. Default 10 minutes.
    public var stateLifetime: TimeInterval = 600
    /// Started sign-ins, identity links and the users they name by email.
    public let federation: any FederationStore
    /// Local users: found, provisioned, or disabled when a concurrent link won.
    public let users: any UserStore
    /// A provisioned user's profile.
    public let profiles: any UserProfileStore
    /// Whether the linked user still owes a second factor.
    public let mfa: any MFAStore

    public init(services: GrantServices, providers: IdentityProviderRegistry, federation: any FederationStore, users: any UserStore,
                profiles: any UserProfileStore, mfa: any MFAStore) {
        self.services = services
        self.providers = providers
        self.federation = federation
        self.users = users
        self.profiles = profiles
        self.mfa = mfa
    }

    /// The redirect URI to register with a provider: `<issuer>/federation/<id>/callback`.
    public static func callbackURI(issuer: String, providerID: String) -> String {
        issuer + "/federation/" + providerID + "/callback"
    }

    public func callbackURI(providerID: String) -> String { Self.callbackURI(issuer: services.settings.issuer, providerID: providerID) }

    /// Starts a sign-in through `providerID` for the browser session `sessionDigest`; returns the URL to send it to.
    public func begin(providerID: String, sessionDigest: Data, returnTo: String) async throws -> String {
        guard let entry = providers.entry(id: providerID) else { throw FederationFailure.unknownProvider }
        let now = services.clock.now
        let state = Secrets.random(bytes: 32)
        let nonce = Secrets.random(bytes: 32)
        let verifier = Secrets.random(bytes: 32)
        try await federation.insertFederationState(FederationState(
            stateDigest: Secrets.digest(state), providerID: providerID, nonce: nonce, codeVerifier: verifier, returnTo: returnTo,
            sessionDigest: sessionDigest, createdAt: now, expiresAt: now.addingTimeInterval(stateLifetime)))
        do {
            return try await entry.client.authorizationURL(state: state, nonce: nonce, codeChallenge: PKCE.challenge(for: verifier),
                                                           redirectURI: callbackURI(providerID: providerID))
        } catch {
            fail(error, providerID: providerID, at: now)
            throw error
        }
    }

    /// Finishes a sign-in from the provider's callback, received by the browser session `sessionDigest`.
    /// - Throws: `FederationFailure` (already audited) for every refusal; store errors as they are.
    public func complete(providerID: String, callback: FederationCallback, sessionDigest: Data?) async throws -> FederatedSignIn {
        let now = services.clock.now
        do {
            guard let entry = providers.entry(id: providerID) else { throw FederationFailure.unknownProvider }
            // The state first (RFC 6749 §10.12): single use, unexpired, this provider's, and this browser's.
            guard let state = callback.state, !state.isEmpty, state.utf8.count <= 512,
                  let pending = try await federation.takeFederationState(digest: Secrets.digest(state)),
                  pending.expiresAt > now, pending.providerID == providerID,
                  let sessionDigest, Secrets.constantTimeEquals(pending.sessionDigest, sessionDigest) else {
                throw FederationFailure.invalidState
            }
            if let error = callback.error { throw FederationFailure.upstreamError(code: Self.errorCode(error)) }
            guard let code = callback.code, !code.isEmpty else { throw FederationFailure.missingCode }
            let identity = try await entry.client.redeem(code: code, issuerParameter: callback.issuer, codeVerifier: pending.codeVerifier,
                                                         nonce: pending.nonce, redirectURI: callbackURI(providerID: providerID))
            let user = try await localUser(for: identity, provider: entry.settings, at: now)
            try await federation.recordFederatedSignIn(providerID: providerID, subject: identity.subject, at: now)
            let hasMFA = try await mfa.mfaEnrollment(userID: user.id)?.confirmed == true
            let mfaDue = hasMFA && !entry.settings.trustedForMFA
            var methods = ["fed"]
            if entry.settings.trustedForMFA {
                for method in identity.authenticationMethods where !methods.contains(method) && Self.isMethodName(method) { methods.append(method) }
            }
            services.audit.record(AuditEvent(.federationSignIn, at: now, subject: user.id, detail: ["provider": providerID]))
            return FederatedSignIn(user: user, identity: identity, returnTo: pending.returnTo, requiresMFA: mfaDue, authenticationMethods: methods)
        } catch let failure as FederationFailure {
            fail(failure, providerID: providerID, at: now)
            throw failure
        }
    }

    /// The identities linked to `userID`.
    public func linkedIdentities(userID: String) async throws -> [FederatedIdentity] {
        try await federation.federatedIdentities(userID: userID)
    }

    /// Removes one of `user`'s linked identities. Returns whether it existed.
    /// - Throws: `OAuthError.invalidRequest` when it is the only way the user can sign in (no password, no other link).
    public func unlink(user: User, providerID: String, subject: String) async throws -> Bool {
        let links = try await federation.federatedIdentities(userID: user.id)
        if user.passwordHash == User.noPassword, links.count == 1, links[0].providerID == providerID, links[0].subject == subject {
            throw OAuthError.invalidRequest("This is the only way you can sign in: it cannot be unlinked until the account has a password or another linked sign-in.")
        }
        let removed = try await federation.deleteFederatedIdentity(userID: user.id, providerID: providerID, subject: subject)
        if removed {
            services.audit.record(AuditEvent(.federationUnlinked, at: services.clock.now, subject: user.id, detail: ["provider": providerID]))
        }
        return removed
    }

    // MARK: Linking

    func localUser(for identity: UpstreamIdentity, provider: IdentityProviderSettings, at now: Date) async throws -> User {
        if let link = try await federation.federatedIdentity(providerID: provider.id, subject: identity.subject) {
            if let user = try await users.user(id: link.userID) {
                guard !user.disabled else { throw FederationFailure.accountDisabled }
                return user
            }
            // The user is gone: the link is stale.
            _ = try await federation.deleteFederatedIdentity(userID: link.userID, providerID: provider.id, subject: identity.subject)
        }
        if provider.linkByVerifiedEmail, identity.emailVerified, let email = identity.email, !email.isEmpty {
            let matches = try await federation.userIDs(email: email)
            if matches.count > 1 { throw FederationFailure.ambiguousEmail }  // never guess
            if let userID = matches.first, let user = try await users.user(id: userID) {
                guard !user.disabled else { throw FederationFailure.accountDisabled }
                return try await link(identity, to: user, method: .verifiedEmail, at: now)
            }
        }
        guard provider.provisionUsers else { throw FederationFailure.noLocalAccount }
        let user = try await provision(identity, provider: provider, at: now)
        return try await link(identity, to: user, method: .provisioned, at: now)
    }

    /// Stores the link; when a concurrent first sign-in linked the identity first, its user wins.
    /// How a first sign-in found its local user (the `method` of `federation.linked`).
    enum LinkMethod: String {
        case provisioned
        case verifiedEmail = "verified_email"
    }

    func link(_ identity: UpstreamIdentity, to user: User, method: LinkMethod, at now: Date) async throws -> User {
        let record = FederatedIdentity(providerID: identity.providerID, subject: identity.subject, userID: user.id,
                                       email: identity.email, linkedAt: now)
        if try await federation.insertFederatedIdentity(record) {
            services.audit.record(AuditEvent(.federationLinked, at: now, subject: user.id,
                                             detail: ["provider": identity.providerID, "method": method.rawValue]))
            return user
        }
        guard let winner = try await federation.federatedIdentity(providerID: identity.providerID, subject: identity.subject),
              let linked = try await users.user(id: winner.userID) else { throw FederationFailure.noLocalAccount }
        if method == .provisioned { try await users.setDisabled(userID: user.id, disabled: true) }  // the loser's spare user
        return linked
    }

    func provision(_ identity: UpstreamIdentity, provider: IdentityProviderSettings, at now: Date) async throws -> User {
        let scopes = provider.userScopes ?? ScopeSet(["openid", "profile", "email"]).union(services.settings.defaultScopes)
        let base = Self.usernameBase(identity)
        for attempt in 0..<20 {
            // The base is ASCII letters, digits, `.`, `_`, `-`: canonical by construction, checked all the same.
            guard let username = Username.canonical(attempt == 0 ? base : base + "-" + Secrets.identifier(bytes: 3).lowercased())?.value else {
                continue
            }
            let user = User(id: UUID().uuidString.lowercased(), username: username, passwordHash: User.noPassword,
                            allowedScopes: scopes, createdAt: now)
            do {
                try await users.insertUser(user)
            } catch let error as StoreError where error.kind == .conflict {
                continue
            }
            try await profiles.setUserProfile(userID: user.id, profile: UserProfile(name: identity.name,
                                                                                   email: try await profileEmail(identity, provider: provider)))
            services.audit.record(AuditEvent(.userProvisioned, at: now, subject: user.id,
                                             detail: ["provider": identity.providerID, "username": username]))
            return user
        }
        throw StoreError(.conflict, "no free username for a provisioned user")
    }

    /// The email a provisioned user's profile gets: only one the provider is trusted for (`linkByVerifiedEmail`)
    /// and says is verified, and that no other local user has. Any other address stays on the link only, so an
    /// address someone merely claimed at an untrusted provider can never draw a later link to their account
    /// (account pre-hijacking) nor make the real owner's address ambiguous.
    func profileEmail(_ identity: UpstreamIdentity, provider: IdentityProviderSettings) async throws -> String? {
        guard provider.linkByVerifiedEmail, identity.emailVerified, let email = identity.email, !email.isEmpty else { return nil }
        return try await federation.userIDs(email: email).isEmpty ? email : nil
    }

    /// A username from the upstream preferred username or email local part: lower-case letters, digits, `.`, `_`, `-`.
    static func usernameBase(_ identity: UpstreamIdentity) -> String {
        let candidates = [identity.preferredUsername, identity.email.map { String($0.prefix { $0 != "@" }) }]
        for candidate in candidates {
            guard let candidate else { continue }
            let cleaned = String(candidate.lowercased().unicodeScalars.filter { CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz0123456789._-").contains($0) }
                .map(Character.init).prefix(64))
            if !cleaned.isEmpty, cleaned.first != "-" { return cleaned }
        }
        return identity.providerID + "-user"
    }

    /// An upstream `error` value as a bounded code (RFC 6749 error codes are `[\x20-\x21\x23-\x5B\x5D-\x7E]`).
    static func errorCode(_ value: String) -> String {
        let code = String(value.prefix(64).filter { $0.isASCII && ($0.isLetter || $0 == "_") })
        return code.isEmpty ? "unknown" : code
    }

    static func isMethodName(_ value: String) -> Bool {
        (1...16).contains(value.utf8.count) && value.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    /// Records a callback the routes refused before it reached `complete` (a malformed or repeated parameter).
    public func refuse(_ failure: FederationFailure, providerID: String) {
        fail(failure, providerID: providerID, at: services.clock.now)
    }

    func fail(_ failure: FederationFailure, providerID: String, at now: Date) {
        var detail = ["provider": IdentityProviderSettings.isValidID(providerID) ? providerID : "invalid", "reason": failure.reason]
        switch failure {
        case .providerUnavailable(let text), .tokenExchangeFailed(let text), .invalidIDToken(let text), .invalidUserinfo(let text):
            detail["detail"] = String(text.prefix(200))
        default: break
        }
        services.audit.record(AuditEvent(.federationFailed, at: now, detail: detail))
        services.logger.notice("upstream sign-in failed", metadata: ["provider": .string(detail["provider"] ?? ""), "reason": .string(failure.reason)])
    }
}
