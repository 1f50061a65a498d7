import Foundation
import Synchronization
import TesseraCore
import TesseraTesting
import Testing

/// Issue 14: one pending authorization request from `/authorize` to the response, decided by the core, no HTTP.
@Suite("InteractionService: one stored request through sign-in and consent (prompt, max_age, idp_hint)")
struct InteractionServiceTests {
    static let web = ["client_id": "web", "response_type": "code", "scope": "openid read", "redirect_uri": "https://web.example/cb", "state": "st"]

    static func session(_ b: BrowserCore, signedInAt: Date, id: String = "s2") -> BrowserSession {
        BrowserSession(idDigest: Secrets.digest(id), userID: b.user.id, authTime: signedInAt, csrfToken: "c", createdAt: signedInAt,
                       expiresAt: signedInAt.addingTimeInterval(3600))
    }

    static func loginStep(_ decision: InteractionDecision, sourceLocation: SourceLocation = #_sourceLocation) throws -> LoginStep {
        guard case .login(let step) = decision else {
            Issue.record("expected the login page, got \(decision)", sourceLocation: sourceLocation)
            throw CancellationError()
        }
        return step
    }

    @Test("no session: the login page with the client's name, login_hint and an opaque id; nothing of the request in the id")
    func startAsksToSignIn() async throws {
        let b = try await BrowserCore.make()
        let step = try Self.loginStep(try await b.interactions.start(BrowserCore.pairs(Self.web.merging(["login_hint": "bob"]) { $1 }), session: nil))
        #expect(step.clientName == "Test web")
        #expect(step.loginHint == "bob")
        #expect(step.redirectURI == "https://web.example/cb")
        #expect(step.interaction.count == 43 && !step.interaction.contains("web"), "32 random bytes, base64url")
        #expect(try await b.interactions.signInContext(interactionID: step.interaction)?.redirectURI == "https://web.example/cb")
        #expect(try await b.interactions.signInContext(interactionID: step.interaction)?.redirectURI != nil, "reading does not consume")
        #expect(try await b.core.storage.interaction(digest: Data(step.interaction.utf8), kind: .authorization, at: b.core.clock.now) == nil,
                "only the digest is a key")
    }

    @Test("max_age=0: a sign-in made during the interaction completes the request with the fresh auth_time; an earlier one does not")
    func maxAgeZeroCompletes() async throws {
        let b = try await BrowserCore.make()
        let parameters = Self.web.merging(["max_age": "0"]) { $1 }
        _ = try await b.endpoint.approve(try await b.validate(parameters), user: b.user, authTime: b.core.clock.now, scopes: ["openid", "read"])
        let old = b.session
        b.core.clock.advance(by: 30)
        let step = try Self.loginStep(try await b.interactions.start(BrowserCore.pairs(parameters), session: old))
        b.core.clock.advance(by: 5) // typing the password
        let signedInAt = b.core.clock.now
        let fresh = Self.session(b, signedInAt: signedInAt)
        b.core.clock.advance(by: 1) // the redirect back
        guard case .redirect(let url) = try await b.interactions.resume(interactionID: step.interaction, session: fresh) else {
            Issue.record("a sign-in inside the interaction must satisfy max_age=0 (no loop)")
            return
        }
        let code = try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "code" }?.value)
        let token = try await b.core.token([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "https://web.example/cb")],
                                           basic: ("web", b.confidentialSecret))
        let claims = try decodeJWT(try #require(token.idToken)).claims
        #expect(claims["auth_time"] as? Int == Int(signedInAt.timeIntervalSince1970), "auth_time is the fresh sign-in")

        // The old session does not pass on resume: it signed in before the interaction asked for a sign-in.
        let again = try Self.loginStep(try await b.interactions.start(BrowserCore.pairs(parameters), session: old))
        let asked = try Self.loginStep(try await b.interactions.resume(interactionID: again.interaction, session: old))
        #expect(asked.interaction != again.interaction, "a new interaction for the new sign-in")
    }

    @Test("the old browser-carried marker (tessera_login_after) gains nothing: only the stored interaction's start counts")
    func forgedMarkerIgnored() async throws {
        let b = try await BrowserCore.make()
        let old = b.session
        b.core.clock.advance(by: 30)
        let forged = Self.web.merging(["max_age": "0", "tessera_login_after": "1"]) { $1 }
        _ = try Self.loginStep(try await b.interactions.start(BrowserCore.pairs(forged), session: old))
    }

    @Test("prompt=login always asks at the start; the sign-in during the interaction satisfies it on resume")
    func promptLogin() async throws {
        let b = try await BrowserCore.make()
        _ = try await b.endpoint.approve(try await b.validate(Self.web), user: b.user, authTime: b.core.clock.now, scopes: ["openid", "read"])
        let parameters = Self.web.merging(["prompt": "login"]) { $1 }
        let step = try Self.loginStep(try await b.interactions.start(BrowserCore.pairs(parameters), session: b.session))
        b.core.clock.advance(by: 10)
        guard case .redirect(let url) = try await b.interactions.resume(interactionID: step.interaction, session: Self.session(b, signedInAt: b.core.clock.now)) else {
            Issue.record("prompt=login is satisfied by the sign-in it asked for")
            return
        }
        #expect(url.hasPrefix("https://web.example/cb?code="))
        // Resuming without signing in again (the old session) asks again.
        let second = try Self.loginStep(try await b.interactions.start(BrowserCore.pairs(parameters), session: b.session))
        b.core.clock.advance(by: 10)
        var stale = b.session
        stale.authTime = b.core.clock.now.addingTimeInterval(-60)
        _ = try Self.loginStep(try await b.interactions.resume(interactionID: second.interaction, session: stale))
    }

    @Test("resume is single use; a made-up, empty or expired id is an error page, never a redirect")
    func resumeSingleUse() async throws {
        let b = try await BrowserCore.make()
        let step = try Self.loginStep(try await b.interactions.start(BrowserCore.pairs(Self.web), session: nil))
        guard case .consent = try await b.interactions.resume(interactionID: step.interaction, session: b.session) else {
            Issue.record("signed in: the consent page")
            return
        }
        for attempt in [step.interaction, Secrets.random(bytes: 32), ""] {
            guard case .failure = try await b.interactions.resume(interactionID: attempt, session: b.session) else {
                Issue.record("\(attempt) must be refused")
                return
            }
        }
        let late = try Self.loginStep(try await b.interactions.start(BrowserCore.pairs(Self.web), session: nil))
        b.core.clock.advance(by: InteractionService.signInLifetime + 1)
        #expect(try await b.interactions.signInContext(interactionID: late.interaction) == nil)
        guard case .failure = try await b.interactions.resume(interactionID: late.interaction, session: Self.session(b, signedInAt: b.core.clock.now)) else {
            Issue.record("an expired interaction must be refused")
            return
        }
    }

    @Test("20 concurrent resumes of one interaction: exactly one proceeds")
    func concurrentResumes() async throws {
        let b = try await BrowserCore.make()
        let step = try Self.loginStep(try await b.interactions.start(BrowserCore.pairs(Self.web), session: nil))
        let service = b.interactions
        let session = b.session
        let proceeded = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    if case .failure = try await service.resume(interactionID: step.interaction, session: session) { return false }
                    return true
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(proceeded == 1)
    }

    @Test("idp_hint naming a configured provider goes upstream with the interaction; an unknown one shows the login page")
    func idpHint() async throws {
        let b = try await BrowserCore.make()
        guard case .upstream(let provider, let interaction) = try await b.interactions.start(BrowserCore.pairs(Self.web.merging(["idp_hint": "corp"]) { $1 }),
                                                                                               session: nil) else {
            Issue.record("expected the upstream sign-in")
            return
        }
        #expect(provider == "corp")
        guard case .consent = try await b.interactions.resume(interactionID: interaction, session: b.session) else {
            Issue.record("back from the provider, signed in: consent")
            return
        }
        _ = try Self.loginStep(try await b.interactions.start(BrowserCore.pairs(Self.web.merging(["idp_hint": "elsewhere"]) { $1 }), session: nil))
        guard case .consent = try await b.interactions.start(BrowserCore.pairs(Self.web.merging(["idp_hint": "corp"]) { $1 }), session: b.session) else {
            Issue.record("already signed in: the hint does not send the user away")
            return
        }
    }

    @Test("errors: an unknown client is an error page; a bad parameter after the redirect check is redirected; prompt=none stores nothing")
    func failures() async throws {
        let b = try await BrowserCore.make()
        guard case .failure = try await b.interactions.start(BrowserCore.pairs(Self.web.merging(["client_id": "nobody"]) { $1 }), session: nil) else {
            Issue.record("unknown client: error page")
            return
        }
        guard case .redirect(let url) = try await b.interactions.start(BrowserCore.pairs(Self.web.merging(["response_type": "nope"]) { $1 }),
                                                                        session: nil) else {
            Issue.record("bad response_type: redirected error")
            return
        }
        #expect(url.contains("error=unsupported_response_type") && url.contains("state=st") && url.contains("iss="))
        guard case .redirect(let none) = try await b.interactions.start(BrowserCore.pairs(Self.web.merging(["prompt": "none"]) { $1 }), session: nil) else {
            Issue.record("prompt=none without a session: login_required")
            return
        }
        #expect(none.contains("error=login_required"))
        #expect(try await b.core.storage.purgeExpiredInteractions(before: .distantFuture) == 0, "prompt=none stored no interaction")
    }

    @Test("from the consent answer to the code insert: one client lookup and no re-validation of the request")
    func oneClientLookupToCode() async throws {
        let b = try await BrowserCore.make()
        let counting = CountingClientStore(b.core.storage)
        let service = InteractionService(endpoint: b.endpoint, interactions: b.core.storage, clients: counting, clock: b.core.clock,
                                         upstreamProviders: [])
        guard case .consent(let step) = try await service.start(BrowserCore.pairs(Self.web), session: b.session) else {
            Issue.record("expected consent")
            return
        }
        #expect(step.scopes == ["openid", "read"])
        counting.reset()
        guard case .redirect(let url) = try await service.completeConsent(interactionID: step.interaction, session: b.session, allow: true) else {
            Issue.record("expected the code")
            return
        }
        #expect(url.hasPrefix("https://web.example/cb?code="))
        #expect(counting.lookups == 1, "exactly one client lookup between the consent answer and the code")
    }
}

/// A client store that counts lookups (for the "one client lookup" check).
final class CountingClientStore: ClientStore, Sendable {
    let base: any ClientStore
    private let count = Mutex(0)
    init(_ base: any ClientStore) { self.base = base }
    var lookups: Int { count.withLock { $0 } }
    func reset() { count.withLock { $0 = 0 } }

    func client(id: String) async throws -> Client? {
        count.withLock { $0 += 1 }
        return try await base.client(id: id)
    }
    func insertClient(_ client: Client) async throws { try await base.insertClient(client) }
    func updateClient(_ client: Client) async throws { try await base.updateClient(client) }
    func deleteClient(id: String) async throws -> Bool { try await base.deleteClient(id: id) }
    func listClients() async throws -> [Client] { try await base.listClients() }
}
