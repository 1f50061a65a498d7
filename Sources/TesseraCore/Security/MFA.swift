public import Foundation

/// How a second factor was proven.
public enum MFAMethod: String, Sendable, Equatable {
    case totp
    case recoveryCode = "recovery_code"
}

/// What a user needs to add Tessera to an authenticator app.
public struct MFASetup: Sendable, Equatable {
    /// The key, base32 as apps take it.
    public var secret: String
    /// `otpauth://totp/Tessera:alice?secret=…&issuer=Tessera`.
    public var uri: String
}

/// TOTP multi-factor authentication (RFC 6238): enrolment, verification with replay refusal
/// (§5.2), single-use recovery codes, browser challenges and the password grant's rule.
///
/// Every refused code counts towards the per-account lockout (`LockoutPolicy`), like a wrong password,
/// so six-digit codes cannot be guessed. No code or secret is ever written to the audit log.
public struct MFAService: Sendable {
    public let services: GrantServices
    /// The issuer shown in authenticator apps.
    public var issuer = "Tessera"
    /// How long a browser has, after the password, to give the second factor.
    public var challengeLifetime: TimeInterval = 300
    /// Accepted clock drift, in time steps either side (RFC 6238 §5.2 recommends at most one).
    public var window: Int64 = 1

    /// Enrolments, recovery codes, used TOTP steps and browser challenges.
    public let store: any MFAStore
    /// Counts every code attempt against the per-account lockout, like a password (its `users` and `loginAttempts`).
    public let authenticator: UserAuthenticator
    /// Ends the user's other browser sessions once a factor is enrolled.
    public let userSessions: UserSessions

    public init(services: GrantServices, store: any MFAStore, authenticator: UserAuthenticator, userSessions: UserSessions) {
        self.services = services
        self.store = store
        self.authenticator = authenticator
        self.userSessions = userSessions
    }

    /// Whether `userID` has MFA on (a confirmed enrolment).
    public func isEnabled(userID: String) async throws -> Bool {
        try await store.mfaEnrollment(userID: userID)?.confirmed == true
    }

    /// The `amr` of a browser sign-in at `authTime` (RFC 8176): the methods the session `recorded` when it has them,
    /// else (sessions from before they were recorded) `["pwd", "otp"]` when the user's MFA was on by then (every
    /// later sign-in passed the TOTP step), else `["pwd"]`.
    public func authenticationMethods(userID: String, authTime: Date?, recorded: [String]? = nil) async throws -> [String] {
        try await Self.authenticationMethods(userID: userID, authTime: authTime, recorded: recorded, enrollments: store)
    }

    /// ``authenticationMethods(userID:authTime:recorded:)`` reading only `enrollments` (the code grant's ID token).
    public static func authenticationMethods(userID: String, authTime: Date?, recorded: [String]?, enrollments: any MFAStore) async throws -> [String] {
        if let recorded, !recorded.isEmpty { return recorded }
        guard let authTime, let enrollment = try await enrollments.mfaEnrollment(userID: userID), enrollment.confirmed,
              let confirmedAt = enrollment.confirmedAt, confirmedAt <= authTime else { return ["pwd"] }
        return ["pwd", "otp"]
    }

    // MARK: Enrolment

    /// Starts (or restarts) an enrolment: a new secret, not active until confirmed.
    public func beginEnrollment(user: User) async throws -> MFASetup {
        let secret = try newTOTPSecret(userID: user.id) // sealed at rest (KeyEncryption)
        let enrollment = MFAEnrollment(userID: user.id, secret: secret.stored, createdAt: services.clock.now)
        guard try await store.saveUnconfirmedMFAEnrollment(enrollment) else {
            throw OAuthError.invalidRequest("Two-factor authentication is already on for this account.")
        }
        return setup(secret.plaintext, user: user)
    }

    /// The pending (unconfirmed) enrolment's setup, to show it again after a wrong first code.
    public func pendingSetup(user: User) async throws -> MFASetup? {
        guard let enrollment = try await store.mfaEnrollment(userID: user.id), !enrollment.confirmed else { return nil }
        return setup(try totpSecret(of: enrollment), user: user)
    }

    func setup(_ secret: String, user: User) -> MFASetup {
        let generator = TOTPGenerator(secret: secret)
        return MFASetup(secret: generator.base32Secret, uri: generator.authenticatorURI(account: user.username, issuer: issuer))
    }

    /// Confirms the pending enrolment with a first code: MFA is on from now. Returns the recovery codes,
    /// to be shown once (only their digests are stored).
    ///
    /// Every other browser session of the user ends (`kept` is the session that confirmed, `nil` ends all): sessions
    /// signed in with the password alone before the factor existed do not stay signed in (``UserSessions``).
    public func confirmEnrollment(user: User, code: String, keeping kept: Data? = nil) async throws -> [String] {
        let now = services.clock.now
        guard let enrollment = try await store.mfaEnrollment(userID: user.id), !enrollment.confirmed else {
            throw OAuthError.invalidRequest("There is no two-factor setup to confirm: start again.")
        }
        guard let step = TOTPGenerator(secret: try totpSecret(of: enrollment)).matchingStep(Self.digits(code), around: TOTPGenerator.step(at: now), window: window) else {
            throw OAuthError.invalidGrant("The code is incorrect. Check the time on your device and enter the current code.")
        }
        let codes = RecoveryCodes.generate()
        guard try await store.confirmMFAEnrollment(userID: user.id, secret: enrollment.secret, step: step,
                                                     recoveryCodeDigests: codes.map(RecoveryCodes.digest), at: now) else {
            throw OAuthError.invalidRequest("There is no two-factor setup to confirm: start again.")
        }
        services.audit.record(AuditEvent(.mfaEnrolled, at: now, subject: user.id, detail: ["method": "totp"]))
        try await userSessions.endBrowserSessions(userID: user.id, except: kept, reason: .mfaEnrolled, source: "account")
        return codes
    }

    /// Turns MFA off after a current code (or a recovery code) from the user.
    public func disable(user: User, code: String) async throws {
        _ = try await verify(user: user, code: code, clientID: nil)
        try await store.deleteMFA(userID: user.id)
        services.audit.record(AuditEvent(.mfaDisabled, at: services.clock.now, subject: user.id, detail: ["source": "account"]))
    }

    /// An administrator removes a user's MFA (`tessera user mfa-reset`). Returns whether it was on or pending.
    public func reset(user: User, source: String = "cli") async throws -> Bool {
        let removed = try await store.deleteMFA(userID: user.id)
        if removed {
            services.audit.record(AuditEvent(.mfaDisabled, at: services.clock.now, subject: user.id, detail: ["source": source]))
        }
        return removed
    }

    // MARK: Verification

    /// Checks a TOTP code or a recovery code of a user with MFA on. A TOTP step and a recovery code each work
    /// once. Each attempt is first reserved against the lockout (counted as a failure before the code is checked,
    /// `LoginAttemptStore.reserveLoginAttempt`), so concurrent guesses never check more codes than the threshold;
    /// while locked no code is checked. Failures are audited; a right code clears the counter.
    public func verify(user: User, code: String, clientID: String?) async throws -> MFAMethod {
        let now = services.clock.now
        guard let enrollment = try await store.mfaEnrollment(userID: user.id), enrollment.confirmed else {
            throw OAuthError.invalidGrant("Two-factor authentication is not set up for this account.")
        }
        let reservation = try await authenticator.reserve(username: user.username, at: now, clientID: clientID, subject: user.id,
                                                          detail: ["username": user.username, "factor": "otp"])
        let method: MFAMethod
        var failure: (reason: String, message: String)?
        let digits = Self.digits(code)
        if digits.count == TOTPGenerator.digits, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) {
            method = .totp
            let generator = TOTPGenerator(secret: try totpSecret(of: enrollment))
            if let step = generator.matchingStep(digits, around: TOTPGenerator.step(at: now), window: window) {
                if try await !store.acceptTOTPStep(userID: user.id, step: step) {
                    failure = ("replayed", "This code was already used. Wait for the next code and try again.")
                }
            } else {
                failure = ("bad_code", "The code is incorrect.")
            }
        } else if RecoveryCodes.looksLikeRecoveryCode(code) {
            method = .recoveryCode
            let digest = RecoveryCodes.digest(code)
            var match: Data?
            // Compare with every unused code in constant time; the conditional update then spends it once.
            for record in try await store.recoveryCodes(userID: user.id) where record.usedAt == nil {
                if Secrets.constantTimeEquals(record.digest, digest) { match = record.digest }
            }
            if let match, try await store.consumeRecoveryCode(userID: user.id, digest: match, at: now) {
                let remaining = try await store.recoveryCodes(userID: user.id).filter { $0.usedAt == nil }.count
                services.audit.record(AuditEvent(.recoveryCodeUsed, at: now, clientID: clientID, subject: user.id,
                                                 detail: ["remaining": String(remaining)]))
            } else {
                failure = ("bad_recovery_code", "The code is incorrect.")
            }
        } else {
            method = .totp
            failure = ("malformed", "The code is incorrect.")
        }
        if let failure {
            services.audit.record(AuditEvent(.mfaFailed, at: now, clientID: clientID, subject: user.id,
                                             detail: ["reason": failure.reason, "method": method.rawValue, "username": user.username]))
            authenticator.failed(reservation, clientID: clientID, subject: user.id, detail: ["username": user.username])
            throw OAuthError.invalidGrant(failure.message)
        }
        if reservation != nil {
            try await authenticator.loginAttempts.clearLoginAttempts(username: user.username)
        }
        services.audit.record(AuditEvent(.mfaSucceeded, at: now, clientID: clientID, subject: user.id, detail: ["method": method.rawValue]))
        return method
    }

    /// The password grant's rule for a user whose password was right: a user with MFA is refused unless the
    /// client is allowed (`allowPasswordGrantWithMFA`) and sends a valid current code in `otp`.
    public func checkPasswordGrant(user: User, client: Client, otp: String?) async throws {
        guard try await isEnabled(userID: user.id) else { return }
        let now = services.clock.now
        guard client.allowPasswordGrantWithMFA else {
            services.audit.record(AuditEvent(.mfaFailed, at: now, clientID: client.id, subject: user.id,
                                             detail: ["reason": "password_grant_not_allowed", "username": user.username]))
            throw OAuthError.invalidGrant("This account requires multi-factor authentication; use the authorization code flow.")
        }
        guard let otp, !otp.isEmpty else {
            services.audit.record(AuditEvent(.mfaFailed, at: now, clientID: client.id, subject: user.id,
                                             detail: ["reason": "missing_code", "username": user.username]))
                let reservation = try await authenticator.reserve(username: user.username, at: now, clientID: client.id, subject: user.id,
                                                              detail: ["username": user.username, "factor": "otp"])
            authenticator.failed(reservation, clientID: client.id, subject: user.id, detail: ["username": user.username])
            throw OAuthError.invalidGrant("This account requires multi-factor authentication: send the current one-time code in the `otp` parameter.")
        }
        do {
            _ = try await verify(user: user, code: otp, clientID: client.id)
        } catch let error as OAuthError where error.code == .invalidGrant {
            throw OAuthError.invalidGrant("The one-time code (`otp`) was refused: \(error.errorDescription)")
        }
    }

    // MARK: Browser challenges

    /// Records that the browser session `sessionDigest` passed the password of `user` and owes a second factor.
    public func startChallenge(sessionDigest: Data, user: User) async throws {
        let now = services.clock.now
        try await store.insertMFAChallenge(MFAChallenge(sessionDigest: sessionDigest, userID: user.id, createdAt: now,
                                                          expiresAt: now.addingTimeInterval(challengeLifetime)))
    }

    /// The user a live challenge of this session is for; an expired challenge is deleted and gives `nil`.
    public func challengedUser(sessionDigest: Data) async throws -> User? {
        guard let challenge = try await store.mfaChallenge(sessionDigest: sessionDigest) else { return nil }
        guard challenge.expiresAt > services.clock.now, let user = try await authenticator.users.user(id: challenge.userID), !user.disabled else {
            try await store.deleteMFAChallenge(sessionDigest: sessionDigest)
            return nil
        }
        return user
    }

    /// Answers the session's challenge with `code`. On success the challenge is gone and the user returned;
    /// `nil` when there is no live challenge (expired: sign in again). A wrong code throws `invalid_grant`.
    public func completeChallenge(sessionDigest: Data, code: String) async throws -> (user: User, method: MFAMethod)? {
        guard let user = try await challengedUser(sessionDigest: sessionDigest) else { return nil }
        let method = try await verify(user: user, code: code, clientID: nil)
        try await store.deleteMFAChallenge(sessionDigest: sessionDigest)
        return (user, method)
    }

    /// Keeps digits and letters only ("123 456" and "123-456" are "123456").
    static func digits(_ code: String) -> String {
        String(code.filter { !$0.isWhitespace && $0 != "-" })
    }
}
