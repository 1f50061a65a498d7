import Foundation

/// The resource owner password credentials grant (RFC 6749 §4.3). Off unless a client is explicitly
/// allowed to use it; RFC 9700 §2.4 says it should not be used at all, and `tessera doctor` warns.
public struct PasswordGrant: GrantHandler {
    public let grantType = GrantType.password
    public init() {}

    public func handle(_ request: TokenRequest, client: Client, services: GrantServices) async throws -> TokenResponse {
        let username = try request.required("username")
        let password = try request.required("password")
        let requested = try request.requestedScopes()
        let user = try await UserAuthenticator(services: services).authenticate(username: username, password: password, clientID: client.id)
        try await MFAService(services: services).checkPasswordGrant(user: user, client: client, otp: request.parameters["otp"])
        let scopes = try services.scopePolicy.grant(requested: requested, clientAllowed: client.allowedScopes, userAllowed: user.allowedScopes)
        let now = services.clock.now
        let audience = try services.audience(for: request, client: client)
        let access = try await services.accessTokens.mint(subject: user.id, clientID: client.id, scopes: scopes, audience: audience, now: now, authTime: now)
        var refreshToken: String?
        if client.grantTypes.contains(.refreshToken) {
            let refresh = services.newRefreshToken(client: client, subject: user.id, scopes: scopes, audience: audience, authTime: now, now: now)
            try await services.storage.insertRefreshToken(refresh.record)
            refreshToken = refresh.token
        }
        services.audit.record(AuditEvent(.tokenIssued, at: now, clientID: client.id, subject: user.id,
                                         detail: ["grant_type": grantType.rawValue, "scope": scopes.description]))
        return TokenResponse(accessToken: access.token, expiresIn: access.lifetime, refreshToken: refreshToken, scope: scopes)
    }
}

/// Checks a username and password. Unknown users, disabled users and wrong passwords take the same
/// time and get the same answer. Failures count towards the per-username lockout (`LockoutPolicy`),
/// whether or not the user exists; while locked, the password is not even checked.
public struct UserAuthenticator: Sendable {
    public let services: GrantServices
    public init(services: GrantServices) { self.services = services }

    public func authenticate(username: String, password: String, clientID: String?) async throws -> User {
        let failure = OAuthError.invalidGrant("The username or password is incorrect.")
        let now = services.clock.now
        let lockout = services.settings.lockout
        let attempts = lockout.isEnabled ? try await services.storage.loginAttempts(username: username) : nil
        if let attempts, attempts.isLocked(at: now) {
            services.audit.record(AuditEvent(.loginRefusedLocked, at: now, clientID: clientID, detail: ["username": username]))
            throw OAuthError.invalidGrant("Too many failed login attempts: this account is temporarily locked. Try again later.")
        }
        guard let user = try await services.storage.user(username: username) else {
            try await services.passwords.verifyAgainstNothing(password)
            services.audit.record(AuditEvent(.loginFailed, at: now, clientID: clientID, detail: ["reason": "unknown_user", "username": username]))
            try await countFailure(username: username, at: now, clientID: clientID, subject: nil)
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
                                             detail: ["reason": reason, "username": username]))
            try await countFailure(username: username, at: now, clientID: clientID, subject: user.id)
            throw failure
        }
        // With MFA on, the counter is cleared only once the second factor is right (MFAService.verify).
        let secondFactorDue = try await services.storage.mfaEnrollment(userID: user.id)?.confirmed == true
        if let attempts, attempts.failures > 0 || attempts.lockedUntil != nil, !secondFactorDue {
            try await services.storage.clearLoginAttempts(username: username)
        }
        if services.passwords.needsRehash(user.passwordHash) {
            // Upgrade a weaker hash now that we hold the plain password (cost raised since it was set).
            let upgraded = try await services.passwords.hash(password)
            try await services.storage.updatePasswordHash(userID: user.id, hash: upgraded)
        }
        services.audit.record(AuditEvent(.loginSucceeded, at: now, clientID: clientID, subject: user.id,
                                         detail: secondFactorDue ? ["mfa": "pending"] : [:]))
        return user
    }

    /// Counts a failed login and locks the username once the policy's threshold is reached.
    func countFailure(username: String, at now: Date, clientID: String?, subject: String?) async throws {
        let lockout = services.settings.lockout
        guard lockout.isEnabled else { return }
        let failures = try await services.storage.recordLoginFailure(username: username, at: now, window: lockout.window)
        guard let delay = lockout.delay(afterFailures: failures) else { return }
        try await services.storage.lockLogin(username: username, until: now.addingTimeInterval(delay))
        services.audit.record(AuditEvent(.accountLocked, at: now, clientID: clientID, subject: subject,
                                         detail: ["username": username, "failures": String(failures), "locked_seconds": String(Int(delay))]))
    }
}
