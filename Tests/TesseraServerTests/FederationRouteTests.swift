import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

struct FederationHarness {
    let server: ServerHarness
    let runtime: TesseraRuntime
    let upstream: ScriptedUpstreamProvider

    static func make(clock: FixedClock = FixedClock(), linkByVerifiedEmail: Bool = false, trustedForMFA: Bool = false,
                     identity: UpstreamIdentity = UpstreamIdentity(providerID: "idp", subject: "up-123", email: "carol@idp.example",
                                                                   emailVerified: true, name: "Carol", preferredUsername: "Carol!")) async throws -> FederationHarness {
        let server = try await ServerHarness.make(clock: clock)
        let provisioning = server.provisioning
        _ = try await provisioning.addClient(name: "Photo App", grants: ["authorization_code", "refresh_token"], scopes: ["openid", "profile", "read"],
                                             redirectURIs: ["https://photos.example/cb"], isPublic: true, id: "photos")
        let upstream = ScriptedUpstreamProvider(identity: identity)
        let settings = IdentityProviderSettings(id: "idp", displayName: "Example IdP", kind: .openIDConnect(issuer: "https://idp.example"),
                                                clientID: "tessera", clientSecret: "s3cret", scopes: ["openid", "email"],
                                                linkByVerifiedEmail: linkByVerifiedEmail, trustedForMFA: trustedForMFA)
        var runtime = server.runtime
        runtime.identityProviders = IdentityProviderRegistry([.init(settings: settings, client: upstream)])
        return FederationHarness(server: server, runtime: runtime, upstream: upstream)
    }

    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await Application(router: buildRouter(runtime: runtime)).test(.router, body)
    }

    func events(_ kind: AuditEvent.Kind) async throws -> [AuditEvent] {
        try await (runtime.services.audit as? BufferedAuditSink)?.flush()
        return try await server.store.auditEvents(AuditEventFilter()).filter { $0.kind == kind }
    }

    /// The login page of `returnTo`, then "Continue with Example IdP": returns the redirect to the provider and the session cookie.
    static func start(_ client: any TestClientProtocol, returnTo: String = BrowserHarness.authorizeQuery) async throws
        -> (redirect: TestResponse, cookie: String, state: String) {
        let page = returnTo.hasPrefix("/authorize") ? try await client.get(returnTo)
            : try await client.get("/login?return_to=" + AuthorizationRedirect.percentEncode(returnTo))
        let cookie = try #require(page.sessionCookie)
        let redirect = try await client.postPage("/login/federated/idp", formEncode([("csrf_token", try #require(page.hidden("csrf_token"))),
                                                                                    ("return_to", try #require(page.hidden("return_to")))]),
                                                 cookie: cookie)
        let state = queryItems(try #require(redirect.location))["state"] ?? ""
        return (redirect, cookie, state)
    }
}

@Suite("Federated sign-in over HTTP: start, callback, linking, MFA, account")
struct FederationRouteTests {
    @Test("the login page offers the provider; start → callback → consent → tokens whose ID token says amr fed and idp")
    func fullFlow() async throws {
        let f = try await FederationHarness.make()
        try await f.test { client in
            let page = try await client.get(BrowserHarness.authorizeQuery)
            #expect(page.html.contains(#"action="/login/federated/idp""#) && page.html.contains("Continue with Example IdP"))
            #expect(page.headers[.contentSecurityPolicy]?.contains("form-action 'self' https://photos.example https://idp.example") == true)

            let forged = try await client.postPage("/login/federated/idp", formEncode([("csrf_token", "forged"), ("return_to", "/account")]),
                                                   cookie: try #require(page.sessionCookie))
            #expect(forged.status == .forbidden)

            let started = try await FederationHarness.start(client)
            #expect(started.redirect.status == .seeOther)
            #expect(started.redirect.location?.hasPrefix("https://idp.example/authorize?") == true)
            let sent = try #require(f.upstream.authorized.last)
            #expect(sent.redirectURI == "https://auth.test/federation/idp/callback")
            #expect(sent.state.count >= 43 && sent.nonce.count >= 43 && sent.state != sent.nonce)

            let back = try await client.get("/federation/idp/callback?code=up-code&state=\(sent.state)&iss=https%3A%2F%2Fidp.example",
                                            cookie: started.cookie)
            #expect(back.status == .ok)
            #expect(back.html.contains(#"http-equiv="refresh""#) && back.html.contains(#"id="continue-link""#))
            let session = try #require(back.sessionCookie)
            #expect(session != started.cookie, "signing in replaces the session")
            let redeemed = try #require(f.upstream.redeemed.last)
            #expect(redeemed.code == "up-code" && redeemed.nonce == sent.nonce)
            #expect(PKCE.challenge(for: redeemed.verifier) == sent.challenge, "PKCE S256: the verifier matches the challenge sent")

            // A provisioned user: no password, username from the upstream preferred username; the email stays on the link
            // (this provider is not trusted for email, so it is not copied to the profile).
            let users = try await f.server.store.listUsers().filter { $0.username.hasPrefix("carol") }
            let carol = try #require(users.first)
            #expect(users.count == 1 && carol.username == "carol" && carol.passwordHash == User.noPassword)
            #expect(try await f.server.store.userProfile(userID: carol.id).email == nil)

            let consent = try await client.get(BrowserHarness.authorizeQuery, cookie: session)
            #expect(consent.status == .ok && consent.html.contains(#"id="consent-allow""#))
            let allowed = try await client.allowConsent(consent, session: session)
            let token = try await client.redeemCode(at: try #require(allowed.location))
            #expect(token.status == .ok)
            let claims = try Self.payload(try #require(token.json["id_token"] as? String))
            #expect(claims["sub"] as? String == carol.id)
            #expect(claims["amr"] as? [String] == ["fed"])
            #expect(claims["idp"] as? String == "idp")

            let account = try await client.get("/account", cookie: session)
            #expect(account.html.contains(#"id="linked-identities""#) && account.html.contains("Example IdP") && account.html.contains("carol@idp.example"))
        }
        #expect(try await f.events(.userProvisioned).count == 1)
        #expect(try await f.events(.federationLinked).first?.detail["method"] == "provisioned")
        #expect(try await f.events(.federationSignIn).count == 1)
    }

    @Test("a second sign-in reuses the link")
    func secondSignInReusesLink() async throws {
        let f = try await FederationHarness.make()
        try await f.test { client in
            for _ in 0..<2 {
                let started = try await FederationHarness.start(client, returnTo: "/account")
                let back = try await client.get("/federation/idp/callback?code=c&state=\(started.state)", cookie: started.cookie)
                #expect(back.status == .ok)
                #expect(back.html.contains(#"content="0;url=/account""#))
            }
        }
        #expect(try await f.server.store.listUsers().filter { $0.passwordHash == User.noPassword }.count == 1)
        #expect(try await f.events(.federationLinked).count == 1)
        #expect(try await f.events(.federationSignIn).count == 2)
    }

    @Test("refused callbacks: replayed state, another browser's state, unknown provider, denial, bad ID token, provider down — never a 500")
    func refusals() async throws {
        let f = try await FederationHarness.make()
        try await f.test { client in
            let started = try await FederationHarness.start(client, returnTo: "/account")
            let callback = "/federation/idp/callback?code=c&state=\(started.state)"
            // Another browser (no cookie, or someone else's) cannot use this state — and using it burns it.
            let other = try await FederationHarness.start(client, returnTo: "/account")
            let stolen = try await client.get(callback, cookie: other.cookie)
            #expect(stolen.status == .badRequest && stolen.html.contains("expired or was already used"))
            #expect(try await client.get(callback, cookie: started.cookie).status == .badRequest, "the state was burnt")

            let fresh = try await FederationHarness.start(client, returnTo: "/account")
            #expect(try await client.get("/federation/idp/callback?code=c&state=\(fresh.state)", cookie: fresh.cookie).status == .ok)
            let replay = try await client.get("/federation/idp/callback?code=c&state=\(fresh.state)", cookie: fresh.cookie)
            #expect(replay.status == .badRequest && replay.html.contains(#"id="federation-error""#))

            #expect(try await client.get("/federation/nope/callback?code=c&state=x").status == .notFound)
            #expect(try await client.get("/federation/idp/callback").status == .badRequest)
            let doubled = try await FederationHarness.start(client, returnTo: "/account")
            #expect(try await client.get("/federation/idp/callback?code=c&state=\(doubled.state)&state=x", cookie: doubled.cookie).status == .badRequest)

            let denied = try await FederationHarness.start(client, returnTo: "/account")
            let deniedPage = try await client.get("/federation/idp/callback?error=access_denied&state=\(denied.state)", cookie: denied.cookie)
            #expect(deniedPage.status == .badRequest && deniedPage.html.contains("declined"))

            f.upstream.failure = .invalidIDToken(detail: "signature")
            let bad = try await FederationHarness.start(client, returnTo: "/account")
            let badPage = try await client.get("/federation/idp/callback?code=c&state=\(bad.state)", cookie: bad.cookie)
            #expect(badPage.status == .badRequest && badPage.html.contains("could not be verified"))

            f.upstream.failure = .providerUnavailable(detail: "timeout")
            let down = try await FederationHarness.start(client, returnTo: "/account")
            #expect(try await client.get("/federation/idp/callback?code=c&state=\(down.state)", cookie: down.cookie).status == .badGateway)

            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains(#"tessera_federated_sign_ins_total{result="success"} 1"#))
            #expect(metrics.contains(#"tessera_federated_sign_ins_total{result="invalid_state"} 5"#))
            #expect(metrics.contains(#"tessera_federated_sign_ins_total{result="provider_unavailable"} 1"#))
        }
        let reasons = try await f.events(.federationFailed).compactMap { $0.detail["reason"] }
        #expect(reasons.filter { $0 == "invalid_state" }.count == 5, "the repeated state too")
        for reason in ["unknown_provider", "access_denied", "invalid_id_token", "provider_unavailable"] { #expect(reasons.contains(reason), "\(reason)") }
        #expect(try await f.events(.federationFailed).allSatisfy { !$0.detail.values.contains { $0.contains("s3cret") } })
    }

    @Test("idp_hint on /authorize goes straight to that provider; an unknown hint shows the login page")
    func idpHint() async throws {
        let f = try await FederationHarness.make()
        try await f.test { client in
            let hinted = try await client.get(BrowserHarness.authorizeQuery + "&idp_hint=idp")
            #expect(hinted.status == .seeOther && hinted.location?.hasPrefix("https://idp.example/authorize?") == true)
            let cookie = try #require(hinted.sessionCookie)
            let state = try #require(f.upstream.authorized.last).state
            let back = try await client.get("/federation/idp/callback?code=c&state=\(state)", cookie: cookie)
            #expect(back.status == .ok && back.html.contains(#"content="0;url=/authorize?"#))
            let session = try #require(back.sessionCookie)
            let consent = try await client.get(BrowserHarness.authorizeQuery + "&idp_hint=idp", cookie: session)
            #expect(consent.status == .ok && consent.html.contains(#"id="consent-allow""#), "signed in: the hint is not followed again")

            let unknown = try await client.get(BrowserHarness.authorizeQuery + "&idp_hint=nope")
            #expect(unknown.status == .ok && unknown.html.contains(#"id="login-submit""#))
        }
    }

    @Test("an expired state is refused")
    func expiredState() async throws {
        let clock = FixedClock()
        let f = try await FederationHarness.make(clock: clock)
        try await f.test { client in
            let started = try await FederationHarness.start(client, returnTo: "/account")
            clock.advance(by: 601)
            #expect(try await client.get("/federation/idp/callback?code=c&state=\(started.state)", cookie: started.cookie).status == .badRequest)
        }
    }

    @Test("linking by verified email only when the provider is trusted for it and the email is verified")
    func linkByVerifiedEmail() async throws {
        for (trusted, verified, expectLinked) in [(true, true, true), (true, false, false), (false, true, false)] {
            let f = try await FederationHarness.make(linkByVerifiedEmail: trusted)
            f.upstream.identity.emailVerified = verified
            let provisioning = f.server.provisioning
            let dave = try await provisioning.addUser(username: "dave", password: "password123", scopes: ["openid", "read"])
            try await f.server.store.setUserProfile(userID: dave.id, profile: UserProfile(name: "Dave", email: "Carol@IDP.example"))
            try await f.test { client in
                let started = try await FederationHarness.start(client, returnTo: "/account")
                #expect(try await client.get("/federation/idp/callback?code=c&state=\(started.state)", cookie: started.cookie).status == .ok)
            }
            let link = try #require(try await f.server.store.federatedIdentity(providerID: "idp", subject: "up-123"))
            #expect((link.userID == dave.id) == expectLinked, "trusted=\(trusted) verified=\(verified)")
            if !expectLinked {
                // Not linked: the new user's profile gets no email (dave has it, or it is unverified, or the provider is not trusted for it).
                #expect(try await f.server.store.userProfile(userID: link.userID).email == nil)
            } else {
                #expect(try await f.events(.federationLinked).first?.detail["method"] == "verified_email")
            }
        }
    }

    @Test("a user with MFA still passes Tessera's TOTP step after an upstream sign-in (amr fed otp), unless the provider is trusted for MFA")
    func mfaStillApplies() async throws {
        for trusted in [false, true] {
            let clock = FixedClock()
            let f = try await FederationHarness.make(clock: clock, trustedForMFA: trusted)
            // First sign-in provisions carol; then she enrols TOTP.
            try await f.test { client in
                let started = try await FederationHarness.start(client, returnTo: "/account")
                _ = try await client.get("/federation/idp/callback?code=c&state=\(started.state)", cookie: started.cookie)
            }
            let found = try await f.server.store.user(username: "carol")
            let carol = try #require(found)
            let mfa = f.runtime.mfa
            let setup = try await mfa.beginEnrollment(user: carol)
            let secret = try #require(try await f.server.store.mfaEnrollment(userID: carol.id)).plaintextSecret(f.runtime.keyEncryption)
            _ = try await mfa.confirmEnrollment(user: carol, code: TOTPGenerator(secret: secret).code(at: clock.now))
            #expect(!setup.secret.isEmpty)
            clock.advance(by: 60)
            try await f.test { client in
                let started = try await FederationHarness.start(client, returnTo: "/account")
                let back = try await client.get("/federation/idp/callback?code=c&state=\(started.state)", cookie: started.cookie)
                if trusted {
                    #expect(back.status == .ok, "trusted for MFA: no second step")
                    return
                }
                #expect(back.status == .seeOther && back.location?.hasPrefix("/login/mfa?") == true)
                let pending = try #require(back.sessionCookie)
                #expect(try await client.get("/account", cookie: pending).location?.hasPrefix("/login") == true, "not signed in yet")
                let step = try await client.get(try #require(back.location), cookie: pending)
                let done = try await client.postPage("/login/mfa", formEncode([("csrf_token", try #require(step.hidden("csrf_token"))),
                                                                               ("return_to", "/account"),
                                                                               ("otp", TOTPGenerator(secret: secret).code(at: clock.now))]),
                                                     cookie: pending)
                #expect(done.status == .seeOther && done.location == "/account")
                let cookie = try #require(done.sessionCookie)
                let stored = try await f.server.store.session(digest: Secrets.digest(String(cookie.split(separator: "=", maxSplits: 1)[1])))
                let session = try #require(stored)
                #expect(session.authenticationMethods == ["fed", "otp"] && session.identityProvider == "idp")
            }
        }
    }

    @Test("a provisioned user has no password; the only way in cannot be unlinked; once it has a password, unlinking works and the next sign-in provisions anew")
    func unlink() async throws {
        let f = try await FederationHarness.make()
        try await f.test { client in
            let started = try await FederationHarness.start(client, returnTo: "/account")
            let back = try await client.get("/federation/idp/callback?code=c&state=\(started.state)", cookie: started.cookie)
            let session = try #require(back.sessionCookie)
            let password = try await client.postForm(formEncode([("grant_type", "password"), ("username", "carol"), ("password", "!")]),
                                                     authorization: f.server.basic)
            password.expectOAuthError(.badRequest, "invalid_grant")
            let account = try await client.get("/account", cookie: session)
            let csrf = try #require(account.hidden("csrf_token"))
            let subject = try #require(account.hidden("subject"))
            #expect(try await client.postPage("/account/federation/unlink", formEncode([("csrf_token", "x"), ("provider_id", "idp"), ("subject", subject)]),
                                              cookie: session).status == .forbidden)
            let only = try await client.postPage("/account/federation/unlink",
                                                 formEncode([("csrf_token", csrf), ("provider_id", "idp"), ("subject", subject)]), cookie: session)
            #expect(only.status == .badRequest && only.html.contains(#"id="link-error""#), "the only way in cannot be unlinked")
            #expect(try await client.get("/account", cookie: session).html.contains(#"id="linked-identities""#))
            let carolID = try #require(try await f.server.store.user(username: "carol")).id
            try await f.server.store.updatePasswordHash(userID: carolID, hash: try await f.runtime.services.passwords.hash("a-new-password"))
            let unlinked = try await client.postPage("/account/federation/unlink",
                                                     formEncode([("csrf_token", csrf), ("provider_id", "idp"), ("subject", subject)]), cookie: session)
            #expect(unlinked.status == .seeOther)
            #expect(!(try await client.get("/account", cookie: session).html.contains(#"id="linked-identities""#)))


            let again = try await FederationHarness.start(client, returnTo: "/account")
            #expect(try await client.get("/federation/idp/callback?code=c&state=\(again.state)", cookie: again.cookie).status == .ok)
        }
        #expect(try await f.events(.federationUnlinked).count == 1)
        #expect(try await f.server.store.listUsers().filter { $0.passwordHash == User.noPassword }.count == 1, "a new user; carol has a password now")
        #expect(try await f.events(.userProvisioned).count == 2)
        #expect(try await f.events(.loginFailed).first?.detail["reason"] == "no_password")
    }

    static func payload(_ jwt: String) throws -> [String: Any] { try decodeJWT(jwt).claims }
}
