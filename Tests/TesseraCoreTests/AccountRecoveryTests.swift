import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// Account recovery (``UserSessions``, RFC 9700 §4.14.2) and the session idle timeout (``SessionExpiry``),
/// on the memory store with a fixed clock.
@Suite("Account recovery and session expiry")
struct AccountRecoveryTests {
    let store = MemoryStore()

    func service(_ clock: FixedClock) -> UserSessions {
        UserSessions(users: store, sessions: store, refreshTokens: store, audit: store, clock: clock)
    }

    func session(_ name: String, userID: String?, at now: Date) -> BrowserSession {
        BrowserSession(idDigest: Secrets.digest(name), userID: userID, authTime: now, csrfToken: "csrf", createdAt: now,
                       expiresAt: now.addingTimeInterval(1800))
    }

    /// Alice with two browser sessions and refresh tokens at two clients (one family rotated); Bob with one of each.
    typealias Credentials = (id: String, secret: String)

    func seed(_ h: CoreHarness) async throws -> (alice: User, bob: User, aliceRefresh: [(String, Credentials)], bobRefresh: String, svc: Credentials) {
        let alice = try await h.addUser("alice")
        let bob = try await h.addUser("bob", password: "bob-password")
        let svc = try await h.confidentialClient(id: "svc")
        let other = try await h.confidentialClient(id: "other")
        for name in ["alice-laptop", "alice-phone"] { try await store.insertSession(session(name, userID: alice.id, at: h.clock.now)) }
        try await store.insertSession(session("bob", userID: bob.id, at: h.clock.now))
        let first = try await h.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland")], basic: svc)
        let rotated = try await h.token([("grant_type", "refresh_token"), ("refresh_token", first.refreshToken!)], basic: svc)
        let second = try await h.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland")], basic: other)
        let bobs = try await h.token([("grant_type", "password"), ("username", "bob"), ("password", "bob-password")], basic: svc)
        return (alice, bob, [(rotated.refreshToken!, svc), (second.refreshToken!, other)], bobs.refreshToken!, svc)
    }

    @Test("RFC 9700 §4.14.2: a password reset ends every session and revokes every refresh token of the user, and only theirs")
    func passwordResetRevokesEverything() async throws {
        let h = try await CoreHarness(storage: store)
        let (alice, bob, aliceRefresh, bobRefresh, svc) = try await seed(h)
        let revocation = try await service(h.clock).changePassword(userID: alice.id, passwordHash: try await h.hasher.hash("new-password"),
                                                                  source: "cli")
        #expect(revocation == UserSessions.Revocation(sessions: 2, refreshTokenFamilies: 2))
        #expect(try await store.session(digest: Secrets.digest("alice-laptop")) == nil)
        #expect(try await store.session(digest: Secrets.digest("alice-phone")) == nil)
        #expect(try await store.session(digest: Secrets.digest("bob"))?.userID == bob.id, "another user's session stays")
        for (token, client) in aliceRefresh {
            await expectOAuthError(.invalidGrant) { _ = try await h.token([("grant_type", "refresh_token"), ("refresh_token", token)], basic: client) }
        }
        _ = try await h.token([("grant_type", "refresh_token"), ("refresh_token", bobRefresh)], basic: svc)
        let changed = try #require(try await store.user(id: alice.id))
        #expect(try await h.hasher.verify("new-password", hash: changed.passwordHash))

        let events = try await store.auditEvents(AuditEventFilter(kind: .userSessionsRevoked))
        #expect(events.count == 1)
        #expect(events.first?.subject == alice.id)
        #expect(events.first?.detail["reason"] == "password_changed" && events.first?.detail["source"] == "cli")
        #expect(events.first?.detail["sessions"] == "2" && events.first?.detail["refresh_token_families"] == "2")
    }

    @Test("a self-service change keeps the session that made it and nothing else")
    func selfServiceKeepsTheCurrentSession() async throws {
        let h = try await CoreHarness(storage: store)
        let (alice, _, _, _, _) = try await seed(h)
        let current = Secrets.digest("alice-laptop")
        let revocation = try await service(h.clock).changePassword(userID: alice.id, passwordHash: "$2b$04$x", except: current, source: "account")
        #expect(revocation == UserSessions.Revocation(sessions: 1, refreshTokenFamilies: 2))
        #expect(try await store.session(digest: current) != nil)
        #expect(try await store.session(digest: Secrets.digest("alice-phone")) == nil)
        let event = try #require(try await store.auditEvents(AuditEventFilter(kind: .userSessionsRevoked)).first)
        #expect(event.detail["kept_current_session"] == "true")
    }

    @Test("disabling revokes rather than suspends: enabling brings no session or refresh token back")
    func disableRevokes() async throws {
        let h = try await CoreHarness(storage: store)
        let (alice, _, aliceRefresh, _, _) = try await seed(h)
        let sessions = service(h.clock)
        #expect(try await sessions.disable(userID: alice.id, source: "cli") == UserSessions.Revocation(sessions: 2, refreshTokenFamilies: 2))
        #expect(try await store.user(id: alice.id)?.disabled == true)
        try await sessions.enable(userID: alice.id, source: "cli")
        #expect(try await store.user(id: alice.id)?.disabled == false)
        #expect(try await store.session(digest: Secrets.digest("alice-phone")) == nil)
        for (token, client) in aliceRefresh {
            await expectOAuthError(.invalidGrant) { _ = try await h.token([("grant_type", "refresh_token"), ("refresh_token", token)], basic: client) }
        }
        let kinds = try await store.auditEvents(AuditEventFilter(subject: alice.id)).map(\.kind)
        #expect(kinds.contains(.userSessionsRevoked) && kinds.contains(.userEnabled))
    }

    @Test("sign out everywhere revokes without touching the password; a second call finds nothing")
    func signOutEverywhere() async throws {
        let h = try await CoreHarness(storage: store)
        let (alice, _, _, _, _) = try await seed(h)
        let before = try await store.user(id: alice.id)?.passwordHash
        #expect(try await service(h.clock).signOutEverywhere(userID: alice.id, source: "cli") == .init(sessions: 2, refreshTokenFamilies: 2))
        #expect(try await store.user(id: alice.id)?.passwordHash == before)
        #expect(try await service(h.clock).signOutEverywhere(userID: alice.id, source: "cli") == .init(sessions: 0, refreshTokenFamilies: 0))
        #expect(try await store.auditEvents(AuditEventFilter(kind: .userSessionsRevoked)).map { $0.detail["reason"] } == ["sign_out_everywhere", "sign_out_everywhere"])
    }

    @Test("RFC 7662 §2.2: a disabled user's access tokens are inactive at introspection (within the recheck interval); a client's own stays active")
    func disabledUsersAccessTokensAreInactive() async throws {
        let h = try await CoreHarness(storage: store)
        let alice = try await h.addUser("alice")
        let svc = try await h.confidentialClient(id: "svc")
        let token = try await h.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland")], basic: svc)
        let machine = try await h.token([("grant_type", "client_credentials")], basic: svc)
        let endpoint = IntrospectionEndpoint(services: h.services, storage: h.storage)
        func introspect(_ value: String) async throws -> IntrospectionResponse {
            try await endpoint.handle(try TokenRequest(parameters: [("token", value)], basicCredentials: svc))
        }
        #expect(try await introspect(token.accessToken).active)
        _ = try await service(h.clock).disable(userID: alice.id, source: "cli")
        h.clock.advance(by: IntrospectionCache.defaultRecheckInterval)
        #expect(try await introspect(token.accessToken) == .inactive)
        #expect(try await introspect(machine.accessToken).active, "a client_credentials token has no user to be disabled")
    }

    // MARK: Idle timeout

    @Test("a new session expires after the idle timeout, capped by the absolute lifetime")
    func initialExpiry() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(SessionExpiry(absoluteLifetime: 28_800, idleTimeout: 1800).initialExpiry(createdAt: start) == start.addingTimeInterval(1800))
        #expect(SessionExpiry(absoluteLifetime: 600, idleTimeout: 1800).initialExpiry(createdAt: start) == start.addingTimeInterval(600))
    }

    @Test("use moves the idle deadline at most once a minute, never past the absolute lifetime; idle or old sessions expire")
    func idleDecisions() {
        let expiry = SessionExpiry(absoluteLifetime: 7200, idleTimeout: 1800)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var session = self.session("s", userID: "u", at: start)
        session.expiresAt = expiry.initialExpiry(createdAt: start)
        #expect(expiry.decide(session, at: start.addingTimeInterval(30)) == .live, "less than a minute gained: no write")
        #expect(expiry.decide(session, at: start.addingTimeInterval(60)) == .extend(until: start.addingTimeInterval(1860)))
        #expect(expiry.decide(session, at: start.addingTimeInterval(1800)) == .expired, "idle for the whole timeout")
        session.expiresAt = start.addingTimeInterval(7000)
        #expect(expiry.decide(session, at: start.addingTimeInterval(6000)) == .extend(until: start.addingTimeInterval(7200)), "capped")
        session.expiresAt = start.addingTimeInterval(7200)
        #expect(expiry.decide(session, at: start.addingTimeInterval(7190)) == .live)
        session.expiresAt = start.addingTimeInterval(9000) // written under a longer configured lifetime
        #expect(expiry.decide(session, at: start.addingTimeInterval(7200)) == .expired, "the absolute lifetime ends it however active")
    }

    @Test("a short idle timeout extends at a quarter of itself")
    func shortIdleTimeout() {
        let expiry = SessionExpiry(absoluteLifetime: 3600, idleTimeout: 4)
        #expect(expiry.extensionInterval == 1)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        var session = self.session("s", userID: "u", at: start)
        session.expiresAt = expiry.initialExpiry(createdAt: start)
        #expect(expiry.decide(session, at: start.addingTimeInterval(2)) == .extend(until: start.addingTimeInterval(6)))
        #expect(expiry.decide(session, at: start.addingTimeInterval(4)) == .expired)
    }
}
