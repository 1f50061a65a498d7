import Foundation
import TesseraCore
import TesseraTesting
import Testing

@Suite("Step-up re-authentication before factor changes (issue 20 item 8; OWASP ASVS V3.7.1)")
struct StepUpTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func session(authTime: Date? = now, reauthenticatedAt: Date? = nil) -> BrowserSession {
        BrowserSession(idDigest: Secrets.digest("s"), userID: "u-1", authTime: authTime, csrfToken: "c", createdAt: Self.now.addingTimeInterval(-3600),
                       expiresAt: Self.now.addingTimeInterval(3600), authenticationMethods: ["pwd"], reauthenticatedAt: reauthenticatedAt)
    }

    @Test("a user with a password: only a re-authentication within the window counts, not a fresh sign-in")
    func passwordUsers() {
        let policy = StepUpPolicy(window: 300)
        let now = Self.now
        #expect(policy.decide(session(authTime: now), hasPassword: true, mfaEnabled: false, at: now) == .reauthenticate(secondFactor: false),
                "a session cookie alone (even one signed in this second) is not enough")
        #expect(policy.decide(session(), hasPassword: true, mfaEnabled: true, at: now) == .reauthenticate(secondFactor: true),
                "with MFA on, the re-authentication also asks for a code")
        #expect(policy.decide(session(reauthenticatedAt: now.addingTimeInterval(-300)), hasPassword: true, mfaEnabled: true, at: now) == .allowed)
        #expect(policy.decide(session(reauthenticatedAt: now.addingTimeInterval(-301)), hasPassword: true, mfaEnabled: true, at: now)
                == .reauthenticate(secondFactor: true), "five minutes and one second later it has to be done again")
        #expect(policy.decide(session(reauthenticatedAt: now.addingTimeInterval(3600)), hasPassword: true, mfaEnabled: false, at: now)
                == .reauthenticate(secondFactor: false), "a time far in the future is not fresh")
    }

    @Test("a user without a password: the sign-in itself must be within the window, else sign in again")
    func passwordlessUsers() {
        let policy = StepUpPolicy()
        let now = Self.now
        #expect(policy.decide(session(authTime: now.addingTimeInterval(-299)), hasPassword: false, mfaEnabled: true, at: now) == .allowed)
        #expect(policy.decide(session(authTime: now.addingTimeInterval(-301)), hasPassword: false, mfaEnabled: false, at: now) == .signInAgain)
        #expect(policy.decide(session(authTime: nil, reauthenticatedAt: now), hasPassword: false, mfaEnabled: false, at: now) == .signInAgain)
    }

    @Test("reauthenticate checks the password and, with MFA on, a current code; failures count towards the lockout and are audited")
    func reauthenticateChecksCredentials() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let alice = try await core.addUser()
        let stepUp = StepUpService(services: core.services, storage: core.storage)
        await expectOAuthError(.invalidGrant) { _ = try await stepUp.reauthenticate(user: alice, password: "wrong", code: nil) }
        #expect(try await core.storage.loginAttempts(username: "alice")?.failures == 1, "a wrong password counts like at /login")
        #expect(try await stepUp.reauthenticate(user: alice, password: "wonderland", code: nil) == ["pwd"])
        #expect(audit.events.contains { $0.kind == .userReauthenticated && $0.subject == alice.id })

        // MFA on: the password alone is refused, and so is a wrong code; a current code passes.
        let mfa = MFAService(services: core.services, storage: core.storage)
        _ = try await mfa.beginEnrollment(user: alice)
        let secret = try #require(try await core.storage.mfaEnrollment(userID: alice.id)).plaintextSecret(core.keyEncryption)
        let generator = TOTPGenerator(secret: secret)
        _ = try await mfa.confirmEnrollment(user: alice, code: generator.code(at: core.clock.now))
        core.clock.advance(by: 30)
        await expectOAuthError(.invalidGrant) { _ = try await stepUp.reauthenticate(user: alice, password: "wonderland", code: nil) }
        await expectOAuthError(.invalidGrant) { _ = try await stepUp.reauthenticate(user: alice, password: "wonderland", code: "000000") }
        #expect(try await core.storage.loginAttempts(username: "alice")?.failures == 2, "each wrong code counts")
        #expect(try await stepUp.reauthenticate(user: alice, password: "wonderland", code: generator.code(at: core.clock.now)) == ["pwd", "otp"])

        // The decision reads the user's password and MFA state.
        let stale = session(authTime: core.clock.now)
        #expect(try await stepUp.decision(user: alice, session: stale) == .reauthenticate(secondFactor: true))
        var fresh = stale
        fresh.reauthenticatedAt = core.clock.now.addingTimeInterval(-10)
        #expect(try await stepUp.decision(user: alice, session: fresh) == .allowed)
        var federated = alice
        federated.passwordHash = User.noPassword
        await expectOAuthError(.invalidRequest) { _ = try await stepUp.reauthenticate(user: federated, password: "", code: nil) }
        #expect(try await stepUp.decision(user: federated, session: stale) == .allowed, "signed in just now")
    }

    @Test("confirming an enrolment ends the user's other browser sessions, keeps the confirming one, and is audited")
    func enrolmentEndsOtherSessions() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let alice = try await core.addUser()
        let bob = try await core.addUser("bob", password: "builder123")
        func insert(_ name: String, _ user: User) async throws -> Data {
            let digest = Secrets.digest(name)
            try await core.storage.insertSession(BrowserSession(idDigest: digest, userID: user.id, authTime: core.clock.now, csrfToken: name,
                                                                createdAt: core.clock.now, expiresAt: core.clock.now.addingTimeInterval(3600)))
            return digest
        }
        let confirming = try await insert("confirming", alice)
        let older = try await insert("older", alice)
        let bobs = try await insert("bobs", bob)
        let mfa = MFAService(services: core.services, storage: core.storage)
        _ = try await mfa.beginEnrollment(user: alice)
        let secret = try #require(try await core.storage.mfaEnrollment(userID: alice.id)).plaintextSecret(core.keyEncryption)
        await expectOAuthError(.invalidGrant) { _ = try await mfa.confirmEnrollment(user: alice, code: "000000", keeping: confirming) }
        #expect(try await core.storage.session(digest: older) != nil, "a wrong first code ends nothing")
        _ = try await mfa.confirmEnrollment(user: alice, code: TOTPGenerator(secret: secret).code(at: core.clock.now), keeping: confirming)
        #expect(try await core.storage.session(digest: confirming) != nil)
        #expect(try await core.storage.session(digest: older) == nil, "the password-only session from before enrolment is signed out")
        #expect(try await core.storage.session(digest: bobs) != nil, "another user's session stays")
        let revoked = try await core.storage.auditEvents(AuditEventFilter(kind: .userSessionsRevoked))
        #expect(revoked.count == 1)
        #expect(revoked.first?.subject == alice.id)
        #expect(revoked.first?.detail["reason"] == "mfa_enrolled" && revoked.first?.detail["sessions"] == "1")
    }
}
