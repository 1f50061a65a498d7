public import Foundation

/// Ending a user's sign-ins everywhere: what account recovery needs so that an intruder who knew the old
/// password, or held a stolen session cookie or refresh token, is locked out (RFC 9700 §4.14.2; OWASP ASVS
/// V3.3.3 "log out of all other active sessions after a password change").
///
/// - A **password change or reset** ends every browser session of the user and revokes every refresh token
///   (all families, all clients) — except, for a self-service change, the session that made it.
/// - **Disabling** revokes the same way rather than suspending, so enabling the user later brings nothing
///   back; the user's access tokens are refused at introspection while the user is disabled
///   (``AccessTokenStatusCheck``) and expire on their own.
/// - **Sign out everywhere** does the revocation alone.
///
/// Each is recorded as `user.sessions_revoked` with the counts (`sessions`, `refresh_token_families`) and the reason.
public struct UserSessions: Sendable {
    public let users: any UserStore
    public let sessions: any SessionStore
    public let refreshTokens: any RefreshTokenStore
    /// Written directly (not buffered): an account-recovery step must leave its record.
    public let audit: any AuditEventStore
    public let clock: any TimeSource

    public init(users: any UserStore, sessions: any SessionStore, refreshTokens: any RefreshTokenStore, audit: any AuditEventStore,
                clock: any TimeSource) {
        self.users = users
        self.sessions = sessions
        self.refreshTokens = refreshTokens
        self.audit = audit
        self.clock = clock
    }

    /// Why a user's sign-ins were ended (the `reason` of `user.sessions_revoked`).
    public enum Reason: String, Sendable, CaseIterable {
        case passwordChanged = "password_changed"
        case userDisabled = "user_disabled"
        case signOutEverywhere = "sign_out_everywhere"
        /// A second factor was enrolled: sessions signed in without it end (browser sessions only).
        case mfaEnrolled = "mfa_enrolled"
    }

    /// What one revocation ended.
    public struct Revocation: Sendable, Equatable {
        /// Browser sessions ended.
        public var sessions: Int
        /// Refresh token families with a token newly revoked.
        public var refreshTokenFamilies: Int

        public init(sessions: Int, refreshTokenFamilies: Int) {
            self.sessions = sessions
            self.refreshTokenFamilies = refreshTokenFamilies
        }
    }

    /// Ends every browser session of `userID` except `kept` (the digest of the session that made a self-service
    /// change) and revokes all of the user's refresh tokens.
    ///
    /// `source` says who asked (`cli`, `account`, `admin_api`) and is recorded with the event.
    @discardableResult
    public func signOutEverywhere(userID: String, except kept: Data? = nil, reason: Reason = .signOutEverywhere,
                                  source: String) async throws -> Revocation {
        let now = clock.now
        let ended = try await sessions.deleteSessions(userID: userID, except: kept)
        let families = try await refreshTokens.revokeRefreshTokens(subject: userID, at: now)
        let revocation = Revocation(sessions: ended, refreshTokenFamilies: families)
        var detail = ["reason": reason.rawValue, "source": source, "sessions": String(ended), "refresh_token_families": String(families)]
        if kept != nil { detail["kept_current_session"] = "true" }
        try await audit.insertAuditEvents([AuditEvent(.userSessionsRevoked, at: now, subject: userID, detail: detail)])
        return revocation
    }

    /// Ends every browser session of `userID` except `kept`, leaving refresh tokens alone (a new second factor: the
    /// sessions signed in before it, possibly by whoever prompted the change, end). Recorded as `user.sessions_revoked`.
    @discardableResult
    public func endBrowserSessions(userID: String, except kept: Data?, reason: Reason, source: String) async throws -> Int {
        let ended = try await sessions.deleteSessions(userID: userID, except: kept)
        var detail = ["reason": reason.rawValue, "source": source, "sessions": String(ended), "refresh_token_families": "0"]
        if kept != nil { detail["kept_current_session"] = "true" }
        try await audit.insertAuditEvents([AuditEvent(.userSessionsRevoked, at: clock.now, subject: userID, detail: detail)])
        return ended
    }

    /// Stores a new password hash, then ends every other sign-in of the user (RFC 9700 §4.14.2). `kept` is the
    /// session of a self-service change (`nil` for a reset by an operator: every session ends).
    @discardableResult
    public func changePassword(userID: String, passwordHash: String, except kept: Data? = nil, source: String) async throws -> Revocation {
        try await users.updatePasswordHash(userID: userID, hash: passwordHash)
        return try await signOutEverywhere(userID: userID, except: kept, reason: .passwordChanged, source: source)
    }

    /// Disables the user and revokes (not suspends) their sign-ins: ``enable(userID:source:)`` brings none back.
    @discardableResult
    public func disable(userID: String, source: String) async throws -> Revocation {
        try await users.setDisabled(userID: userID, disabled: true)
        return try await signOutEverywhere(userID: userID, reason: .userDisabled, source: source)
    }

    /// Enables a disabled user; they sign in afresh.
    public func enable(userID: String, source: String) async throws {
        try await users.setDisabled(userID: userID, disabled: false)
        try await audit.insertAuditEvents([AuditEvent(.userEnabled, at: clock.now, subject: userID, detail: ["source": source])])
    }
}

extension AuditEvent.Kind {
    /// A user's browser sessions were ended and refresh tokens revoked (password change, disable, sign out everywhere).
    public static let userSessionsRevoked = AuditEvent.Kind(rawValue: "user.sessions_revoked")
    /// A disabled user was enabled again.
    public static let userEnabled = AuditEvent.Kind(rawValue: "user.enabled")
}
