import Crypto
import Foundation

/// The resource owner password credentials grant (RFC 6749 §4.3). Off unless a client is explicitly
/// allowed to use it; RFC 9700 §2.4 says it should not be used at all, and `tessera doctor` warns.
public struct PasswordGrant: GrantHandler {
    public let grantType = GrantType.password
    public let authenticator: UserAuthenticator
    /// The second-factor rule for users with MFA on (`MFAService.checkPasswordGrant`).
    public let mfa: MFAService
    public let refreshTokens: any RefreshTokenStore

    public init(authenticator: UserAuthenticator, mfa: MFAService, refreshTokens: any RefreshTokenStore) {
        self.authenticator = authenticator
        self.mfa = mfa
        self.refreshTokens = refreshTokens
    }

    public func handle(_ request: TokenRequest, client: Client, services: GrantServices) async throws -> TokenResponse {
        let username = try request.required("username")
        let password = try request.required("password")
        let requested = try request.requestedScopes()
        let user = try await authenticator.authenticate(username: username, password: password, clientID: client.id)
        try await mfa.checkPasswordGrant(user: user, client: client, otp: request.parameters["otp"])
        let scopes = try services.scopePolicy.grant(requested: requested, clientAllowed: client.allowedScopes, userAllowed: user.allowedScopes)
        let now = services.clock.now
        let audience = try services.audience(for: request, client: client)
        let access = try await services.accessTokens.mint(subject: user.id, clientID: client.id, scopes: scopes, audience: audience, now: now, authTime: now)
        var refreshToken: String?
        if client.grantTypes.contains(.refreshToken) {
            let refresh = services.newRefreshToken(client: client, subject: user.id, scopes: scopes, audience: audience, authTime: now, now: now)
            try await refreshTokens.insertRefreshToken(refresh.record)
            refreshToken = refresh.token
        }
        services.audit.record(AuditEvent(.tokenIssued, at: now, clientID: client.id, subject: user.id,
                                         detail: ["grant_type": grantType.rawValue, "scope": scopes.description]))
        return TokenResponse(accessToken: access.token, expiresIn: access.lifetime, refreshToken: refreshToken, scope: scopes)
    }
}

/// Checks a username and password. Unknown users, disabled users and wrong passwords take the same
/// time and get the same answer. Every attempt is first reserved against the per-username lockout
/// (`LoginAttemptStore.reserveLoginAttempt`, counted as a failure before the password is checked), whether or
/// not the user exists; while locked, the password is not even checked, so concurrent guesses on any number of
/// nodes never check more than `LockoutPolicy.threshold` passwords per lock.
public struct UserAuthenticator: Sendable {
    public let services: GrantServices
    public let users: any UserStore
    /// The per-username lockout counters.
    public let loginAttempts: any LoginAttemptStore
    /// Whether a second factor is still due (then the counter is cleared only by `MFAService.verify`).
    public let mfa: any MFAStore

    public init(services: GrantServices, users: any UserStore, loginAttempts: any LoginAttemptStore, mfa: any MFAStore) {
        self.services = services
        self.users = users
        self.loginAttempts = loginAttempts
        self.mfa = mfa
    }

    public func authenticate(username typed: String, password: String, clientID: String?) async throws -> User {
        let failure = OAuthError.invalidGrant("The username or password is incorrect.")
        let now = services.clock.now
        // Every spelling of one name (`Alice`, `ALICE`, full-width, NFD) shares one lockout counter: the
        // canonical form (RFC 8265) when there is one, else the string as typed (it names no user anyway).
        let canonical = Username.canonical(typed)
        let username = canonical?.value ?? typed
        var found: User?
        if let canonical { found = try await users.user(username: canonical) }
        let named = services.auditUsername(username, names: found)
        let reservation = try await reserve(username: username, at: now, clientID: clientID, subject: found?.id, detail: named)
        guard let user = found else {
            try await services.passwords.verifyAgainstNothing(password)
            services.audit.record(AuditEvent(.loginFailed, at: now, clientID: clientID, detail: named.merging(["reason": "unknown_user"]) { $1 }))
            failed(reservation, clientID: clientID, subject: nil, detail: named)
            throw failure
        }
        // A user created by an upstream sign-in has no password: spend the same time, then refuse.
        let hasPassword = user.passwordHash != User.noPassword
        let matches: Bool
        if hasPassword {
            matches = try await services.passwords.verify(password, hash: user.passwordHash)
        } else {
            try await services.passwords.verifyAgainstNothing(password)
            matches = false
        }
        guard matches, !user.disabled else {
            let reason = user.disabled ? "disabled" : hasPassword ? "bad_password" : "no_password"
            services.audit.record(AuditEvent(.loginFailed, at: now, clientID: clientID, subject: user.id,
                                             detail: named.merging(["reason": reason]) { $1 }))
            failed(reservation, clientID: clientID, subject: user.id, detail: named)
            throw failure
        }
        // With MFA on, the counter is cleared only once the second factor is right (MFAService.verify): a right
        // password alone neither counts nor clears, so its reservation is taken back.
        let secondFactorDue = try await mfa.mfaEnrollment(userID: user.id)?.confirmed == true
        if let reservation {
            if secondFactorDue {
                try await loginAttempts.releaseLoginAttempt(reservation)
            } else {
                try await loginAttempts.clearLoginAttempts(username: username)
            }
        }
        if services.passwords.needsRehash(user.passwordHash) {
            // Upgrade a weaker hash now that we hold the plain password (cost raised since it was set).
            let upgraded = try await services.passwords.hash(password)
            try await users.updatePasswordHash(userID: user.id, hash: upgraded)
        }
        services.audit.record(AuditEvent(.loginSucceeded, at: now, clientID: clientID, subject: user.id,
                                         detail: secondFactorDue ? ["mfa": "pending"] : [:]))
        return user
    }

    /// Reserves one attempt of `username` before its credentials are checked (`nil` when lockout is off). While the
    /// username is locked, audits `login.locked` and throws `invalid_grant` without anything being checked.
    func reserve(username: String, at now: Date, clientID: String?, subject: String?, detail: [String: String]) async throws -> LoginAttemptReservation? {
        guard let lockout = services.settings.lockout, lockout.isEnabled else { return nil }
        guard let reservation = try await loginAttempts.reserveLoginAttempt(username: username, at: now, policy: lockout) else {
            services.audit.record(AuditEvent(.loginRefusedLocked, at: now, clientID: clientID, subject: subject, detail: detail))
            throw OAuthError.invalidGrant("Too many failed login attempts: this account is temporarily locked. Try again later.")
        }
        return reservation
    }

    /// A reserved attempt failed. It was counted when reserved; audits `account.locked` when it reached the threshold.
    func failed(_ reservation: LoginAttemptReservation?, clientID: String?, subject: String?, detail: [String: String]) {
        guard let reservation, let lock = reservation.lockedUntil else { return }
        services.audit.record(AuditEvent(.accountLocked, at: reservation.at, clientID: clientID, subject: subject,
                                         detail: detail.merging(["failures": String(reservation.failures),
                                                                 "locked_seconds": String(Int(lock.timeIntervalSince(reservation.at)))]) { $1 }))
    }
}

extension GrantServices {
    /// How audit events of a login attempt name its username: `username` when it names a user (`user` found), else
    /// `username_hmac` — HMAC-SHA256 under `auditKey`, hex, first 16 bytes — so whatever was typed into the username
    /// field (a password, often) never reaches the log in clear, while repeated attempts with one name still correlate.
    public func auditUsername(_ username: String, names user: User?) -> [String: String] {
        if user != nil { return ["username": username] }
        let code = HMAC<SHA256>.authenticationCode(for: Data(username.utf8), using: auditKey)
        return ["username_hmac": Data(code).prefix(16).map { String(format: "%02x", $0) }.joined()]
    }
}
