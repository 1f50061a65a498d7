import Foundation
import TesseraCore
import TesseraTesting
import Testing

@Suite("Federation core: state, PKCE, linking rules (no HTTP)")
struct FederationServiceTests {
    struct Setup {
        let harness: CoreHarness
        let audit: RecordingAuditSink
        let upstream: ScriptedUpstreamProvider
        let service: FederationService
        let session = Secrets.digest("browser-session")
    }

    static func make(linkByVerifiedEmail: Bool = false, provisionUsers: Bool = true, trustedForMFA: Bool = false,
                     identity: UpstreamIdentity = UpstreamIdentity(providerID: "idp", subject: "u1", email: "erin@idp.example", emailVerified: true,
                                                                   name: "Erin", preferredUsername: "Erin.O'Neil",
                                                                   authenticationMethods: ["pwd", "mfa"])) async throws -> Setup {
        let audit = RecordingAuditSink()
        let harness = try await CoreHarness(audit: audit)
        let upstream = ScriptedUpstreamProvider(identity: identity)
        let settings = IdentityProviderSettings(id: "idp", displayName: "IdP", kind: .openIDConnect(issuer: "https://idp.example"), clientID: "c",
                                                clientSecret: "s", scopes: ["openid"], linkByVerifiedEmail: linkByVerifiedEmail,
                                                provisionUsers: provisionUsers, trustedForMFA: trustedForMFA)
        let service = FederationService(services: harness.services, storage: harness.storage, providers: IdentityProviderRegistry([.init(settings: settings, client: upstream)]))
        return Setup(harness: harness, audit: audit, upstream: upstream, service: service)
    }

    @discardableResult
    static func addUser(_ s: Setup, _ username: String) async throws -> User {
        let user = User(id: UUID().uuidString, username: username, passwordHash: "$2b$04$unused", allowedScopes: ["read"], createdAt: s.harness.clock.now)
        try await s.harness.storage.insertUser(user)
        return user
    }

    /// Starts a sign-in and returns its state (read back from what the provider was sent).
    static func begin(_ s: Setup, returnTo: String = "/account") async throws -> String {
        _ = try await s.service.begin(providerID: "idp", sessionDigest: s.session, returnTo: returnTo)
        return try #require(s.upstream.authorized.last).state
    }

    static func complete(_ s: Setup, state: String) async throws -> FederatedSignIn {
        try await s.service.complete(providerID: "idp", callback: FederationCallback(code: "c", state: state, issuer: nil, error: nil),
                                     sessionDigest: s.session)
    }

    @Test("begin stores a single-use state bound to the session; the verifier redeemed matches the S256 challenge sent")
    func stateAndPKCE() async throws {
        let s = try await Self.make()
        let state = try await Self.begin(s, returnTo: "/authorize?client_id=x")
        let sent = try #require(s.upstream.authorized.last)
        #expect(sent.redirectURI == Fixtures.issuer + "/federation/idp/callback")
        let signIn = try await Self.complete(s, state: state)
        #expect(signIn.returnTo == "/authorize?client_id=x")
        let redeemed = try #require(s.upstream.redeemed.last)
        #expect(PKCE.challenge(for: redeemed.verifier) == sent.challenge && redeemed.nonce == sent.nonce)
        await #expect(throws: FederationFailure.invalidState) { try await Self.complete(s, state: state) }
        await #expect(throws: FederationFailure.unknownProvider) {
            try await s.service.begin(providerID: "other", sessionDigest: s.session, returnTo: "/account")
        }
    }

    @Test("provisioning: a clean unique username, no password, amr fed (plus the provider's methods only when trusted for MFA)")
    func provisioning() async throws {
        for trusted in [false, true] {
            let s = try await Self.make(trustedForMFA: trusted)
            try await Self.addUser(s, "erin.oneil")
            let signIn = try await Self.complete(s, state: try await Self.begin(s))
            #expect(signIn.user.username.hasPrefix("erin.oneil-"), "taken: a suffix is added")
            #expect(signIn.user.passwordHash == User.noPassword)
            #expect(signIn.user.allowedScopes.contains("openid") && signIn.user.allowedScopes.contains("read"))
            #expect(signIn.authenticationMethods == (trusted ? ["fed", "pwd", "mfa"] : ["fed"]))
            #expect(s.audit.events.map(\.kind).contains(.userProvisioned))
        }
    }

    @Test("no link and no provisioning, an ambiguous email, or a disabled user: refused")
    func refusals() async throws {
        let closed = try await Self.make(provisionUsers: false)
        await #expect(throws: FederationFailure.noLocalAccount) { try await Self.complete(closed, state: try await Self.begin(closed)) }
        #expect(closed.audit.events.last?.detail["reason"] == "no_local_account")

        let ambiguous = try await Self.make(linkByVerifiedEmail: true)
        for name in ["e1", "e2"] {
            let user = try await Self.addUser(ambiguous, name)
            try await ambiguous.harness.storage.setUserProfile(userID: user.id, profile: UserProfile(email: "erin@idp.example"))
        }
        await #expect(throws: FederationFailure.ambiguousEmail) { try await Self.complete(ambiguous, state: try await Self.begin(ambiguous)) }

        let disabled = try await Self.make()
        let first = try await Self.complete(disabled, state: try await Self.begin(disabled))
        try await disabled.harness.storage.setDisabled(userID: first.user.id, disabled: true)
        await #expect(throws: FederationFailure.accountDisabled) { try await Self.complete(disabled, state: try await Self.begin(disabled)) }
    }

    @Test("an address claimed at a provider not trusted for email is never copied to a profile, so it cannot pre-hijack the owner's link")
    func noPreHijacking() async throws {
        let audit = RecordingAuditSink()
        let harness = try await CoreHarness(audit: audit)
        let email = "victim@example.org"
        let untrusted = ScriptedUpstreamProvider(identity: UpstreamIdentity(providerID: "cheap", subject: "attacker", email: email, emailVerified: true))
        let trusted = ScriptedUpstreamProvider(identity: UpstreamIdentity(providerID: "corp", subject: "victim", email: email, emailVerified: true))
        func settings(_ id: String, trustEmail: Bool) -> IdentityProviderSettings {
            IdentityProviderSettings(id: id, displayName: id, kind: .openIDConnect(issuer: "https://\(id).example"), clientID: "c", clientSecret: "s",
                                     scopes: ["openid"], linkByVerifiedEmail: trustEmail)
        }
        let service = FederationService(services: harness.services, storage: harness.storage, providers: IdentityProviderRegistry([
            .init(settings: settings("cheap", trustEmail: false), client: untrusted), .init(settings: settings("corp", trustEmail: true), client: trusted),
        ]))
        let session = Secrets.digest("s")
        func signIn(_ id: String, _ upstream: ScriptedUpstreamProvider) async throws -> FederatedSignIn {
            _ = try await service.begin(providerID: id, sessionDigest: session, returnTo: "/account")
            let state = try #require(upstream.authorized.last).state
            return try await service.complete(providerID: id, callback: FederationCallback(code: "c", state: state, issuer: nil, error: nil),
                                              sessionDigest: session)
        }
        let attacker = try await signIn("cheap", untrusted)
        #expect(try await harness.storage.userProfile(userID: attacker.user.id).email == nil)
        let victim = try await signIn("corp", trusted)
        #expect(victim.user.id != attacker.user.id)
        #expect(try await harness.storage.userProfile(userID: victim.user.id).email == email, "the trusted provider's verified address is kept")
    }

    @Test("concurrent first sign-ins of one identity end in one link and one active user")
    func concurrentFirstSignIns() async throws {
        let s = try await Self.make()
        var states: [String] = []
        for _ in 0..<8 { states.append(try await Self.begin(s)) }
        let users = try await withThrowingTaskGroup(of: String.self) { group in
            for state in states { group.addTask { try await Self.complete(s, state: state).user.id } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(users.count == 1, "every sign-in lands on the same user")
        let active = try await s.harness.storage.listUsers().filter { $0.passwordHash == User.noPassword && !$0.disabled }
        #expect(active.map(\.id) == Array(users))
        #expect(try await s.harness.storage.federatedIdentities(userID: try #require(users.first)).count == 1)
    }

    @Test("the upstream error code is kept bounded; the page message never echoes it")
    func upstreamError() async throws {
        let s = try await Self.make()
        let state = try await Self.begin(s)
        let error = String(repeating: "<script>", count: 20)
        await #expect(throws: FederationFailure.upstreamError(code: "scriptscriptscriptscriptscriptscriptscriptscript")) {
            try await s.service.complete(providerID: "idp", callback: FederationCallback(code: nil, state: state, issuer: nil, error: error),
                                         sessionDigest: s.session)
        }
        #expect(!FederationFailure.upstreamError(code: "x").message.contains("x"))
    }
}
