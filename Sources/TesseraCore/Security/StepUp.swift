public import Foundation

/// Step-up re-authentication before a change to a user's factors (enrolling, confirming or turning off TOTP from
/// `/account`): a session cookie alone must not be enough to take over the second factor (OWASP ASVS 4.0 V3.7.1
/// "re-authentication before sensitive transactions"; NIST SP 800-63B §6.1.2.1 "binding an additional authenticator").
///
/// - A user **with a password** re-enters it — and, when MFA is on, a current code — on the re-authentication form;
///   the change is allowed for ``window`` after that (``BrowserSession/reauthenticatedAt``). Signing in does not
///   count: a stolen cookie of a session made a minute ago is still refused.
/// - A user **without a password** (created by an upstream sign-in) has nothing to re-enter here: the sign-in itself
///   must be fresh (``BrowserSession/authTime`` within ``window``); otherwise they sign in again.
public struct StepUpPolicy: Sendable, Equatable {
    /// How long a re-authentication (or, for a user without a password, a sign-in) allows factor changes.
    public var window: TimeInterval

    public init(window: TimeInterval = 300) { self.window = window }

    /// What a session must do before a factor change.
    public enum Decision: Sendable, Equatable {
        /// Fresh enough: go ahead.
        case allowed
        /// Re-enter the password, and a current code when `secondFactor` (MFA is on).
        case reauthenticate(secondFactor: Bool)
        /// No password to re-enter: sign in again (the sign-in is the re-authentication).
        case signInAgain
    }

    /// The decision for `session` of a user who has a password or not and MFA on or not, at `now`.
    /// A time in the future (clock skew between nodes) counts as fresh only up to `window` ahead, never beyond.
    public func decide(_ session: BrowserSession, hasPassword: Bool, mfaEnabled: Bool, at now: Date) -> Decision {
        if hasPassword {
            return isWithinWindow(session.reauthenticatedAt, now) ? .allowed : .reauthenticate(secondFactor: mfaEnabled)
        }
        return isWithinWindow(session.authTime, now) ? .allowed : .signInAgain
    }

    func isWithinWindow(_ time: Date?, _ now: Date) -> Bool {
        guard let time else { return false }
        return abs(now.timeIntervalSince(time)) <= window
    }
}

/// The core of the re-authentication form: decides whether a session may change the user's factors, and checks the
/// credentials it is given. The password goes through ``UserAuthenticator`` and the code through
/// ``MFAService/verify(user:code:clientID:)``, so the per-account lockout counts every wrong attempt here too.
public struct StepUpService: Sendable {
    public let services: GrantServices
    /// Checks the code, and through its ``MFAService/authenticator`` the password.
    public let mfa: MFAService
    public var policy: StepUpPolicy

    public init(services: GrantServices, mfa: MFAService, policy: StepUpPolicy = StepUpPolicy()) {
        self.services = services
        self.mfa = mfa
        self.policy = policy
    }

    /// What `session` of `user` must do before changing the user's factors now.
    public func decision(user: User, session: BrowserSession) async throws -> StepUpPolicy.Decision {
        let mfaEnabled = try await mfa.isEnabled(userID: user.id)
        return policy.decide(session, hasPassword: user.passwordHash != User.noPassword, mfaEnabled: mfaEnabled, at: services.clock.now)
    }

    /// Checks the password (and, with MFA on, `code`) of the signed-in `user`. Returns the methods proven (`amr`,
    /// RFC 8176) for the replacement session. Wrong credentials throw `invalid_grant` and count towards the lockout;
    /// a user without a password gets `invalid_request` (they sign in again instead).
    public func reauthenticate(user: User, password: String, code: String?) async throws -> [String] {
        guard user.passwordHash != User.noPassword else {
            throw OAuthError.invalidRequest("This account has no password: sign in again to confirm it is you.")
        }
        let checked: User
        do {
            checked = try await mfa.authenticator.authenticate(username: user.username, password: password, clientID: nil)
        } catch let error as OAuthError where error.code == .invalidGrant {
            throw OAuthError.invalidGrant(error.errorDescription.contains("locked") ? error.errorDescription : "The password is incorrect.")
        }
        guard checked.id == user.id else { throw OAuthError.invalidGrant("The password is incorrect.") }
        var methods = ["pwd"]
        if try await mfa.isEnabled(userID: user.id) {
            _ = try await mfa.verify(user: user, code: code ?? "", clientID: nil)
            methods.append("otp")
        }
        services.audit.record(AuditEvent(.userReauthenticated, at: services.clock.now, subject: user.id,
                                         detail: ["amr": methods.joined(separator: " ")]))
        return methods
    }

    /// Turns MFA off after a re-authentication whose proven `methods` (``reauthenticate(user:password:code:)``)
    /// include a current code; without one (MFA was not on) nothing changes. Returns whether MFA was removed.
    @discardableResult
    public func disableMFA(user: User, reauthenticatedWith methods: [String]) async throws -> Bool {
        guard methods.contains("otp") else { return false }
        return try await mfa.reset(user: user, source: "account")
    }
}

extension AuditEvent.Kind {
    /// A signed-in user re-entered their credentials before a change to their factors (``StepUpService``).
    public static let userReauthenticated = AuditEvent.Kind(rawValue: "user.reauthenticated")
}
