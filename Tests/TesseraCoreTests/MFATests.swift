import Foundation
import TesseraCore
import TesseraTesting
import Testing

@Suite("TOTP MFA (RFC 6238)")
struct MFATests {
    /// A user with MFA confirmed at the harness clock's current time; returns the generator and recovery codes.
    func enrolled(_ core: CoreHarness, _ user: User) async throws -> (TOTPGenerator, [String]) {
        let mfa = MFAService(services: core.services, storage: core.storage)
        _ = try await mfa.beginEnrollment(user: user)
        let secret = try #require(try await core.storage.mfaEnrollment(userID: user.id)).plaintextSecret(core.keyEncryption)
        let generator = TOTPGenerator(secret: secret)
        let codes = try await mfa.confirmEnrollment(user: user, code: generator.code(at: core.clock.now))
        return (generator, codes)
    }

    @Test("RFC 6238 appendix B vectors (SHA-1, last six digits) and base32")
    func vectors() {
        let generator = TOTPGenerator(secret: "12345678901234567890")
        #expect(generator.code(at: Date(timeIntervalSince1970: 59)) == "287082")
        #expect(generator.code(at: Date(timeIntervalSince1970: 1_111_111_109)) == "081804")
        #expect(generator.code(at: Date(timeIntervalSince1970: 1_111_111_111)) == "050471")
        #expect(generator.code(at: Date(timeIntervalSince1970: 1_234_567_890)) == "005924")
        #expect(generator.code(at: Date(timeIntervalSince1970: 20_000_000_000)) == "353130")
        #expect(generator.base32Secret == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        let uri = generator.authenticatorURI(account: "alice", issuer: "Tessera")
        #expect(uri.hasPrefix("otpauth://totp/Tessera:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"))
        #expect(uri.contains("issuer=Tessera"))
        #expect(TOTPGenerator.newSecret() != TOTPGenerator.newSecret())
        #expect(TOTPGenerator.newSecret().utf8.count == 32)
    }

    @Test("enrolment is off until confirmed; a wrong first code does not turn it on")
    func enrolment() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let user = try await core.addUser()
        let mfa = MFAService(services: core.services, storage: core.storage)
        let setup = try await mfa.beginEnrollment(user: user)
        #expect(setup.uri.hasPrefix("otpauth://totp/Tessera:alice?secret=\(setup.secret)"))
        #expect(try await mfa.isEnabled(userID: user.id) == false)
        await expectOAuthError(.invalidGrant) { _ = try await mfa.confirmEnrollment(user: user, code: "000000") }
        #expect(try await mfa.pendingSetup(user: user) == setup, "the same key is shown again")
        let secret = try #require(try await core.storage.mfaEnrollment(userID: user.id)).plaintextSecret(core.keyEncryption)
        let codes = try await mfa.confirmEnrollment(user: user, code: TOTPGenerator(secret: secret).code(at: core.clock.now))
        #expect(codes.count == 10 && Set(codes).count == 10)
        #expect(codes.allSatisfy(RecoveryCodes.looksLikeRecoveryCode))
        #expect(try await mfa.isEnabled(userID: user.id))
        let stored = try await core.storage.recoveryCodes(userID: user.id)
        #expect(Set(stored.map(\.digest)) == Set(codes.map(RecoveryCodes.digest)), "only digests are stored")
        await expectOAuthError(.invalidRequest) { _ = try await mfa.beginEnrollment(user: user) }
        #expect(audit.events.contains { $0.kind == .mfaEnrolled && $0.subject == user.id })
        for event in audit.events { #expect(!event.detail.values.contains(secret) && !event.detail.values.contains(setup.secret)) }
    }

    @Test("the verify window is ±1 step; a used step (or an older one) is refused")
    func windowAndReplay() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let user = try await core.addUser()
        let (generator, _) = try await enrolled(core, user)
        let mfa = MFAService(services: core.services, storage: core.storage)
        let confirmCode = generator.code(at: core.clock.now)
        await expectOAuthError(.invalidGrant) { _ = try await mfa.verify(user: user, code: confirmCode, clientID: nil) }
        #expect(audit.events.last { $0.kind == .mfaFailed }?.detail["reason"] == "replayed", "the confirming code is spent")

        core.clock.advance(by: 90)
        let now = TOTPGenerator.step(at: core.clock.now)
        await expectOAuthError(.invalidGrant) { _ = try await mfa.verify(user: user, code: generator.code(step: now + 2), clientID: nil) }
        await expectOAuthError(.invalidGrant) { _ = try await mfa.verify(user: user, code: generator.code(step: now - 2), clientID: nil) }
        #expect(try await mfa.verify(user: user, code: generator.code(step: now - 1), clientID: nil) == .totp, "one step of drift back")
        #expect(try await mfa.verify(user: user, code: generator.code(step: now + 1), clientID: nil) == .totp, "one step of drift ahead")
        await expectOAuthError(.invalidGrant) { _ = try await mfa.verify(user: user, code: generator.code(step: now), clientID: nil) }
        #expect(audit.events.last { $0.kind == .mfaFailed }?.detail["reason"] == "replayed", "older than the last accepted step")
        core.clock.advance(by: 60)
        #expect(try await mfa.verify(user: user, code: " " + generator.code(at: core.clock.now).prefix(3) + " " + generator.code(at: core.clock.now).suffix(3),
                                     clientID: nil) == .totp, "spaces are ignored")
        #expect(audit.events.contains { $0.kind == .mfaSucceeded && $0.detail["method"] == "totp" })
    }

    @Test("a recovery code works once")
    func recoverySingleUse() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let user = try await core.addUser()
        let (_, codes) = try await enrolled(core, user)
        let mfa = MFAService(services: core.services, storage: core.storage)
        #expect(try await mfa.verify(user: user, code: codes[3].uppercased(), clientID: nil) == .recoveryCode)
        #expect(audit.events.last { $0.kind == .recoveryCodeUsed }?.detail["remaining"] == "9")
        await expectOAuthError(.invalidGrant) { _ = try await mfa.verify(user: user, code: codes[3], clientID: nil) }
        #expect(audit.events.last { $0.kind == .mfaFailed }?.detail["reason"] == "bad_recovery_code")
        #expect(try await mfa.verify(user: user, code: codes[4], clientID: nil) == .recoveryCode)
        for event in audit.events { #expect(!codes.contains { event.detail.values.contains($0) }, "no code in the audit log") }
    }

    @Test("failed codes count towards the lockout; a locked account's right code is refused")
    func lockout() async throws {
        let core = try await CoreHarness()
        let user = try await core.addUser()
        let (generator, _) = try await enrolled(core, user)
        let mfa = MFAService(services: core.services, storage: core.storage)
        core.clock.advance(by: 30)
        for _ in 0..<5 { await expectOAuthError(.invalidGrant) { _ = try await mfa.verify(user: user, code: "000000", clientID: nil) } }
        #expect(try await core.storage.loginAttempts(username: "alice")?.isLocked(at: core.clock.now) == true)
        do {
            _ = try await mfa.verify(user: user, code: generator.code(at: core.clock.now), clientID: nil)
            Issue.record("a locked account accepted a code")
        } catch let error as OAuthError {
            #expect(error.errorDescription.contains("temporarily locked"))
        }
        // A right password does not clear the counter while the second factor is still due.
        core.clock.advance(by: 61)
        _ = try await UserAuthenticator(services: core.services, storage: core.storage).authenticate(username: "alice", password: "wonderland", clientID: nil)
        #expect(try await core.storage.loginAttempts(username: "alice")?.failures == 5)
        #expect(try await mfa.verify(user: user, code: generator.code(at: core.clock.now), clientID: nil) == .totp)
        #expect(try await core.storage.loginAttempts(username: "alice") == nil, "a right second factor resets the counter")
    }

    @Test("20 concurrent wrong codes: at most 5 are checked, the rest are refused as locked (issue 20 item 8)")
    func concurrentCodesStopAtTheThreshold() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let user = try await core.addUser()
        let (generator, _) = try await enrolled(core, user)
        core.clock.advance(by: 30)
        let mfa = MFAService(services: core.services, storage: core.storage)
        let valid = [-30.0, 0, 30].map { generator.code(at: core.clock.now.addingTimeInterval($0)) }
        let wrong = (100_000..<100_030).map { String($0) }.filter { !valid.contains($0) }.prefix(20)
        let accepted = await withTaskGroup(of: Bool.self) { group in
            for code in wrong {
                group.addTask { (try? await mfa.verify(user: user, code: code, clientID: nil)) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(!accepted.contains(true))
        #expect(audit.events.filter { $0.kind == .mfaFailed }.count == 5, "only the 5 reserved codes were checked")
        #expect(audit.events.filter { $0.kind == .loginRefusedLocked }.count == 15)
        do {
            _ = try await mfa.verify(user: user, code: generator.code(at: core.clock.now), clientID: nil)
            Issue.record("a locked account accepted a code")
        } catch let error as OAuthError {
            #expect(error.errorDescription.contains("temporarily locked"))
        }
    }

    @Test("browser challenges expire and answer once")
    func challenges() async throws {
        let core = try await CoreHarness()
        let user = try await core.addUser()
        let (generator, codes) = try await enrolled(core, user)
        let mfa = MFAService(services: core.services, storage: core.storage)
        let session = Secrets.digest("session")
        try await mfa.startChallenge(sessionDigest: session, user: user)
        #expect(try await mfa.challengedUser(sessionDigest: Secrets.digest("other")) == nil, "bound to its session")
        await expectOAuthError(.invalidGrant) { _ = try await mfa.completeChallenge(sessionDigest: session, code: "12345") }
        let done = try await mfa.completeChallenge(sessionDigest: session, code: codes[0])
        #expect(done?.user.id == user.id && done?.method == .recoveryCode)
        #expect(try await mfa.challengedUser(sessionDigest: session) == nil, "gone once answered")

        try await mfa.startChallenge(sessionDigest: session, user: user)
        core.clock.advance(by: 301)
        #expect(try await mfa.completeChallenge(sessionDigest: session, code: generator.code(at: core.clock.now)) == nil, "expired after 5 minutes")
    }

    @Test("amr: pwd+otp only for sign-ins after MFA was confirmed")
    func amr() async throws {
        let core = try await CoreHarness()
        let user = try await core.addUser()
        let mfa = MFAService(services: core.services, storage: core.storage)
        let before = core.clock.now
        #expect(try await mfa.authenticationMethods(userID: user.id, authTime: before) == ["pwd"])
        core.clock.advance(by: 5)
        _ = try await enrolled(core, user)
        #expect(try await mfa.authenticationMethods(userID: user.id, authTime: before) == ["pwd"], "the enrolling session signed in with a password only")
        core.clock.advance(by: 5)
        #expect(try await mfa.authenticationMethods(userID: user.id, authTime: core.clock.now) == ["pwd", "otp"])
    }

    @Test("disable needs a code; an admin reset needs none")
    func disable() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let user = try await core.addUser()
        let (generator, _) = try await enrolled(core, user)
        let mfa = MFAService(services: core.services, storage: core.storage)
        await expectOAuthError(.invalidGrant) { try await mfa.disable(user: user, code: "999999") }
        #expect(try await mfa.isEnabled(userID: user.id))
        core.clock.advance(by: 30)
        try await mfa.disable(user: user, code: generator.code(at: core.clock.now))
        #expect(try await mfa.isEnabled(userID: user.id) == false)
        #expect(try await core.storage.recoveryCodes(userID: user.id).isEmpty)
        #expect(audit.events.contains { $0.kind == .mfaDisabled && $0.detail["source"] == "account" })
        _ = try await enrolled(core, user)
        #expect(try await mfa.reset(user: user))
        #expect(try await mfa.reset(user: user) == false)
    }

    @Test("password grant: refused for MFA users unless the client is allowed and sends a valid otp")
    func passwordGrant() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let svc = try await core.confidentialClient()
        let user = try await core.addUser()
        let password: [(String, String)] = [("grant_type", "password"), ("username", "alice"), ("password", "wonderland")]
        _ = try await core.token(password, basic: svc)
        let (generator, _) = try await enrolled(core, user)
        core.clock.advance(by: 30)
        do {
            _ = try await core.token(password, basic: svc)
            Issue.record("an MFA user got tokens through the password grant")
        } catch let error as OAuthError {
            #expect(error.code == .invalidGrant)
            #expect(error.errorDescription.contains("requires multi-factor authentication; use the authorization code flow"))
        }
        await expectOAuthError(.invalidGrant) { _ = try await core.token(password + [("otp", generator.code(at: core.clock.now))], basic: svc) }

        var allowed = try #require(try await core.storage.client(id: svc.id))
        allowed.allowPasswordGrantWithMFA = true
        try await core.storage.updateClient(allowed)
        do {
            _ = try await core.token(password, basic: svc)
            Issue.record("no otp was accepted")
        } catch let error as OAuthError {
            #expect(error.code == .invalidGrant && error.errorDescription.contains("`otp`"))
        }
        await expectOAuthError(.invalidGrant) { _ = try await core.token(password + [("otp", "000000")], basic: svc) }
        #expect(try await core.storage.loginAttempts(username: "alice")?.failures == 2, "a missing and a wrong code both count")
        let response = try await core.token(password + [("otp", generator.code(at: core.clock.now))], basic: svc)
        #expect(!response.accessToken.isEmpty)
        await expectOAuthError(.invalidGrant) { _ = try await core.token(password + [("otp", generator.code(at: core.clock.now))], basic: svc) }
        #expect(audit.events.contains { $0.kind == .mfaFailed && $0.detail["reason"] == "password_grant_not_allowed" })
    }
}
