import Foundation
import TesseraCore
import TesseraFederation
import TesseraTesting
import Testing

@Suite("OAuth2ProviderClient against a live upstream provider")
struct OAuth2ProviderClientTests {
    func client(_ fixture: UpstreamFixture, claims: ClaimMapping? = nil) async -> any UpstreamProviderClient {
        let base = await fixture.issuer
        let settings = claims.map { oauth2Settings(base: base, claims: $0) } ?? oauth2Settings(base: base)
        return UpstreamProviderClients.make(settings, clock: FixedClock(testNow))
    }

    func redeem(_ client: any UpstreamProviderClient, iss: String? = nil) async throws -> UpstreamIdentity {
        try await client.redeem(code: "gh-code", issuerParameter: iss, codeVerifier: testVerifier, nonce: testNonce, redirectURI: testRedirectURI)
    }

    @Test("the authorization URL has state and PKCE S256 but no nonce")
    func authorizationURL() async throws {
        try await UpstreamFixture.run { fixture in
            let url = try await self.client(fixture).authorizationURL(state: "st", nonce: testNonce, codeChallenge: "challenge", redirectURI: testRedirectURI)
            #expect(url.hasPrefix(await fixture.issuer + "/login/oauth/authorize?"))
            let items = queryItems(url)
            #expect(items == [
                "response_type": "code", "client_id": testClientID, "redirect_uri": testRedirectURI, "scope": "read:user user:email",
                "state": "st", "code_challenge": "challenge", "code_challenge_method": "S256",
            ])
        }
    }

    @Test("GitHub style: a numeric id is the subject, read from userinfo with a Bearer token, Accept and User-Agent")
    func github() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure {
                $0.userinfo = ["id": 583231, "login": "octocat", "name": "The Octocat", "email": "octocat@github.com"]
            }
            // The issuer parameter means nothing for a plain OAuth 2.0 provider.
            let identity = try await self.redeem(await self.client(fixture), iss: "https://whatever.example")
            #expect(identity == UpstreamIdentity(providerID: "github", subject: "583231", email: "octocat@github.com", emailVerified: false,
                                                 name: "The Octocat", preferredUsername: "octocat"))
            let request = try #require(await fixture.tokenRequests.first)
            #expect(request.accept == "application/json")
            #expect(request.authorization == nil)
            #expect(request.form == [
                "grant_type": "authorization_code", "code": "gh-code", "redirect_uri": testRedirectURI, "code_verifier": testVerifier,
                "client_id": testClientID, "client_secret": testClientSecret,
            ])
            #expect(await fixture.userinfoAuthorizations == ["Bearer upstream-access-token-1"])
            #expect(await fixture.userinfoAgents == ["Tessera"])
        }
    }

    @Test("a form-encoded token response is read too")
    func formEncodedToken() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure {
                $0.tokenFormEncoded = true
                $0.userinfo = ["id": "abc"]
            }
            let redeemed = try await self.redeem(await self.client(fixture))
            #expect(redeemed.subject == "abc")
        }
    }

    @Test("email_verified comes only from the mapped boolean member")
    func emailVerified() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.userinfo = ["sub": "u1", "email": "a@example.com", "verified": true, "email_verified": "true"] }
            let mapped = try await self.redeem(await self.client(fixture, claims: ClaimMapping(subject: "sub", emailVerified: "verified")))
            #expect(mapped.emailVerified)
            let stringOnly = try await self.redeem(await self.client(fixture, claims: ClaimMapping(subject: "sub", emailVerified: "email_verified")))
            #expect(!stringOnly.emailVerified)
        }
    }

    @Test("userinfo without a usable subject is invalidUserinfo", arguments: [
        ["login": "octocat"] as [String: TestJSON],
        ["id": ""],
        ["id": true],
        ["id": 1.5],
    ])
    func missingSubject(_ userinfo: [String: TestJSON]) async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.userinfo = userinfo }
            let result = await failure { _ = try await self.redeem(await self.client(fixture)) }
            guard case .invalidUserinfo? = result else {
                Issue.record("expected invalidUserinfo, got \(String(describing: result))")
                return
            }
        }
    }

    @Test("an error reported with HTTP 200 (GitHub) is tokenExchangeFailed")
    func errorWith200() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.tokenError = "bad_verification_code" }
            let result = await failure { _ = try await self.redeem(await self.client(fixture)) }
            guard case .tokenExchangeFailed(let detail)? = result else {
                Issue.record("expected tokenExchangeFailed, got \(String(describing: result))")
                return
            }
            #expect(detail.contains("bad_verification_code"))
            #expect(await fixture.userinfoAuthorizations.isEmpty)
        }
    }

    @Test("a refused userinfo request is invalidUserinfo; a failing one providerUnavailable")
    func userinfoStatus() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.userinfoStatus = 401 }
            let client = await self.client(fixture)
            guard case .invalidUserinfo? = await failure({ _ = try await self.redeem(client) }) else {
                Issue.record("expected invalidUserinfo")
                return
            }
            await fixture.configure { $0.userinfoStatus = 502 }
            guard case .providerUnavailable? = await failure({ _ = try await self.redeem(client) }) else {
                Issue.record("expected providerUnavailable")
                return
            }
        }
    }

    @Test("a small integer subject is its decimal text, and a number is never a verified flag")
    func smallInteger() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.userinfo = ["id": 1, "email": "one@example.com", "verified": 1] }
            let identity = try await self.redeem(await self.client(fixture, claims: ClaimMapping(subject: "id", emailVerified: "verified")))
            #expect(identity.subject == "1")
            #expect(!identity.emailVerified)
        }
    }

    @Test("a userinfo answer over 1 MiB is providerUnavailable")
    func oversizedUserinfo() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure {
                $0.userinfo = ["id": 7]
                $0.userinfoPadding = 1 << 20
            }
            let result = await failure { _ = try await self.redeem(await self.client(fixture)) }
            guard case .providerUnavailable? = result else {
                Issue.record("expected providerUnavailable, got \(String(describing: result))")
                return
            }
        }
    }

    @Test("endpoints that are plain http off loopback are refused without a request")
    func insecureEndpoints() async throws {
        let client = UpstreamProviderClients.make(oauth2Settings(base: "http://github.example"), clock: FixedClock(testNow))
        guard case .providerUnavailable? = await failure({
            _ = try await client.authorizationURL(state: "s", nonce: "n", codeChallenge: "c", redirectURI: testRedirectURI)
        }) else {
            Issue.record("expected providerUnavailable for the authorization endpoint")
            return
        }
        guard case .providerUnavailable? = await failure({ _ = try await self.redeem(client) }) else {
            Issue.record("expected providerUnavailable for the token endpoint")
            return
        }
    }
}
