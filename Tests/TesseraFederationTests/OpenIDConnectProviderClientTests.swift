import AsyncHTTPClient
import Crypto
import Foundation
import TesseraCore
import TesseraFederation
import TesseraTesting
import Testing

@Suite("OpenIDConnectProviderClient against a live upstream provider")
struct OpenIDConnectProviderClientTests {
    func client(_ fixture: UpstreamFixture, clock: FixedClock = FixedClock(testNow), timeout: Duration = .seconds(10),
                scopes: [String] = ["email", "profile"]) async -> any UpstreamProviderClient {
        UpstreamProviderClients.make(oidcSettings(issuer: await fixture.issuer, scopes: scopes), clock: clock, timeout: timeout)
    }

    func redeem(_ client: any UpstreamProviderClient, iss: String? = nil, nonce: String = testNonce) async throws -> UpstreamIdentity {
        try await client.redeem(code: "the-code", issuerParameter: iss, codeVerifier: testVerifier, nonce: nonce, redirectURI: testRedirectURI)
    }

    @Test("the authorization URL carries the code flow, PKCE S256, state, nonce and openid, percent-encoded")
    func authorizationURL() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.authorizationPath = "/authorize?prompt=login" }
            let client = await self.client(fixture, scopes: ["email", "profile", "email"])
            let url = try await client.authorizationURL(state: "st ate&x=1", nonce: testNonce, codeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                                                        redirectURI: testRedirectURI)
            let base = await fixture.issuer + "/authorize?prompt=login&"
            #expect(url.hasPrefix(base))
            #expect(url.contains("state=st%20ate%26x%3D1"))
            #expect(url.contains("redirect_uri=https%3A%2F%2Ftessera.test%2Ffederation%2Fcallback%2Fupstream"))
            let items = queryItems(url)
            #expect(items["prompt"] == "login")
            #expect(items["response_type"] == "code")
            #expect(items["client_id"] == testClientID)
            #expect(items["redirect_uri"] == testRedirectURI)
            #expect(items["scope"] == "openid email profile")
            #expect(items["state"] == "st ate&x=1")
            #expect(items["nonce"] == testNonce)
            #expect(items["code_challenge"] == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
            #expect(items["code_challenge_method"] == "S256")

            _ = try await client.authorizationURL(state: "s2", nonce: "n2", codeChallenge: "c2", redirectURI: testRedirectURI)
            #expect(await fixture.discoveryFetches == 1)
        }
    }

    @Test("a valid ES256 ID token yields the identity; the code is redeemed with Basic auth, the verifier and the redirect URI")
    func happyPath() async throws {
        try await UpstreamFixture.run { fixture in
            let identity = try await self.redeem(await self.client(fixture))
            #expect(identity == UpstreamIdentity(providerID: "upstream", subject: "upstream-user-1", email: "ada@example.com", emailVerified: true,
                                                 name: "Ada Lovelace", preferredUsername: "ada", authenticationMethods: ["pwd", "mfa"]))
            let request = try #require(await fixture.tokenRequests.first)
            // RFC 6749 §2.3.1: the id and secret are form-encoded before base64.
            let credentials = "tessera-rp:s3cret%3Awith%2Fodd%2Bchars+%C3%A9"
            #expect(request.authorization == "Basic " + Data(credentials.utf8).base64EncodedString())
            #expect(request.contentType == "application/x-www-form-urlencoded")
            #expect(request.form == ["grant_type": "authorization_code", "code": "the-code", "redirect_uri": testRedirectURI, "code_verifier": testVerifier])
            #expect(await fixture.userinfoAuthorizations.isEmpty)
        }
    }

    @Test("an RS256 ID token verifies too")
    func rsa() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.signing = .rsa }
            let redeemed = try await self.redeem(await self.client(fixture))
            #expect(redeemed.subject == "upstream-user-1")
        }
    }

    @Test("client_secret_post is used when it is the only method the provider lists")
    func clientSecretPost() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.authMethods = ["client_secret_post"] }
            _ = try await self.redeem(await self.client(fixture))
            let request = try #require(await fixture.tokenRequests.first)
            #expect(request.authorization == nil)
            #expect(request.form["client_id"] == testClientID)
            #expect(request.form["client_secret"] == testClientSecret)
        }
    }

    @Test("ID token validation failures", arguments: [
        ("tampered signature", UpstreamBehavior.Signing.tampered),
        ("alg none", .none),
        ("HS256 keyed with the client secret", .hmacWithSecret),
        ("crit header", .ecWithCrit),
        ("RS256 header naming an EC key", .rsaHeaderOnECKey),
        ("valid token with = padding", .padded),
        ("valid token with a non-canonical last character", .nonCanonical),
    ])
    func signatureFailures(_ name: String, _ signing: UpstreamBehavior.Signing) async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.signing = signing }
            let client = await self.client(fixture)
            let result = await failure { _ = try await self.redeem(client) }
            guard case .invalidIDToken? = result else {
                Issue.record("\(name): expected invalidIDToken, got \(String(describing: result))")
                return
            }
        }
    }

    static let claimCases: [(String, @Sendable (inout [String: TestJSON]) -> Void)] = [
        ("wrong iss", { $0["iss"] = "https://impostor.example" }),
        ("wrong aud", { $0["aud"] = "someone-else" }),
        ("several audiences without azp", { $0["aud"] = [.string(testClientID), "other"] }),
        ("azp of another client", { $0["aud"] = [.string(testClientID), "other"]; $0["azp"] = "other" }),
        ("expired", { $0["exp"] = .integer(Int64(testNow.timeIntervalSince1970) - 1) }),
        ("no exp", { $0["exp"] = nil }),
        ("issued in the future", { $0["iat"] = .integer(Int64(testNow.timeIntervalSince1970) + 120) }),
        ("empty sub", { $0["sub"] = "" }),
        ("numeric sub", { $0["sub"] = 42 }),
        ("at_hash of another token", { $0["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" }),
    ]

    @Test("ID token claim failures are invalidIDToken", arguments: 0..<Self.claimCases.count)
    func claimFailures(_ index: Int) async throws {
        let (name, edit) = Self.claimCases[index]
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.editClaims = edit }
            let client = await self.client(fixture)
            let result = await failure { _ = try await self.redeem(client) }
            guard case .invalidIDToken? = result else {
                Issue.record("\(name): expected invalidIDToken, got \(String(describing: result))")
                return
            }
        }
    }

    @Test("several audiences with azp = client id, iat within the skew, and a matching at_hash are accepted")
    func acceptedVariants() async throws {
        try await UpstreamFixture.run { fixture in
            let atHash = Data(Data(SHA256.hash(data: Data("upstream-access-token-1".utf8))).prefix(16)).base64URLEncodedString()
            await fixture.configure {
                $0.editClaims = {
                    $0["aud"] = [.string(testClientID), "other"]
                    $0["azp"] = .string(testClientID)
                    $0["iat"] = .integer(Int64(testNow.timeIntervalSince1970) + 30)
                    $0["at_hash"] = .string(atHash)
                    $0["email_verified"] = "true"
                }
            }
            let identity = try await self.redeem(await self.client(fixture))
            #expect(identity.emailVerified)
        }
    }

    @Test("without a kid, the provider's only key for the algorithm verifies (OIDC Core §10.1)")
    func withoutKid() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.signing = .ecWithoutKid }
            let identity = try await self.redeem(await self.client(fixture))
            #expect(identity.subject == "upstream-user-1")
        }
    }

    @Test("a key published for encryption, or an algorithm the provider does not list, does not verify ID tokens")
    func keyUseAndListedAlgorithms() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.ecKeyUse = "enc" }
            guard case .invalidIDToken? = await failure({ _ = try await self.redeem(await self.client(fixture)) }) else {
                Issue.record("expected invalidIDToken for an encryption key")
                return
            }
            await fixture.configure {
                $0.ecKeyUse = "sig"
                $0.signingAlgorithms = ["RS256"]
            }
            guard case .invalidIDToken? = await failure({ _ = try await self.redeem(await self.client(fixture)) }) else {
                Issue.record("expected invalidIDToken for an unlisted algorithm")
                return
            }
        }
    }

    @Test("a wrong or missing nonce is nonceMismatch")
    func nonce() async throws {
        try await UpstreamFixture.run { fixture in
            let client = await self.client(fixture)
            #expect(await failure { _ = try await self.redeem(client, nonce: "another-nonce") } == .nonceMismatch)
            await fixture.configure { $0.editClaims = { $0["nonce"] = nil } }
            #expect(await failure { _ = try await self.redeem(client) } == .nonceMismatch)
        }
    }

    @Test("RFC 9207: iss must equal the issuer when present, and be present when the provider promises it")
    func issuerParameter() async throws {
        try await UpstreamFixture.run { fixture in
            let client = await self.client(fixture)
            #expect(await failure { _ = try await self.redeem(client, iss: "https://impostor.example") } == .issuerMismatch)
            let redeemed = try await self.redeem(client, iss: await fixture.issuer)
            #expect(redeemed.subject == "upstream-user-1")
            let second = try await self.redeem(client)
            #expect(second.subject == "upstream-user-1")
            #expect(await fixture.tokenRequests.count == 2)

            await fixture.configure { $0.issuerParameterSupported = true }
            let promising = await self.client(fixture)
            #expect(await failure { _ = try await self.redeem(promising) } == .issuerMismatch)
            #expect(await fixture.tokenRequests.count == 2)
            let third = try await self.redeem(promising, iss: await fixture.issuer)
            #expect(third.subject == "upstream-user-1")
        }
    }

    @Test("a discovery document naming another issuer is refused (OIDC Discovery §4.3)")
    func discoveryIssuerMismatch() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.metadataIssuer = "https://impostor.example" }
            let client = await self.client(fixture)
            let result = await failure { _ = try await client.authorizationURL(state: "s", nonce: "n", codeChallenge: "c", redirectURI: testRedirectURI) }
            guard case .providerUnavailable? = result else {
                Issue.record("expected providerUnavailable, got \(String(describing: result))")
                return
            }
            // Not cached: the next attempt fetches again.
            _ = await failure { _ = try await client.authorizationURL(state: "s", nonce: "n", codeChallenge: "c", redirectURI: testRedirectURI) }
            #expect(await fixture.discoveryFetches == 2)
        }
    }

    @Test("the token endpoint's refusal is tokenExchangeFailed with the error code and never the secret")
    func tokenRefused() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure {
                $0.tokenStatus = 400
                $0.tokenError = "invalid_grant"
            }
            let result = await failure { _ = try await self.redeem(await self.client(fixture)) }
            guard case .tokenExchangeFailed(let detail)? = result else {
                Issue.record("expected tokenExchangeFailed, got \(String(describing: result))")
                return
            }
            #expect(detail.contains("invalid_grant"))
            #expect(!detail.contains("s3cret"))
        }
    }

    @Test("a token response without id_token is invalidIDToken")
    func missingIDToken() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.omitIDToken = true }
            let result = await failure { _ = try await self.redeem(await self.client(fixture)) }
            guard case .invalidIDToken? = result else {
                Issue.record("expected invalidIDToken, got \(String(describing: result))")
                return
            }
        }
    }

    @Test("an unknown kid refetches the key set, at most once per 30 seconds")
    func keyRotation() async throws {
        try await UpstreamFixture.run { fixture in
            let clock = FixedClock(testNow)
            let client = await self.client(fixture, clock: clock)
            _ = try await self.redeem(client)
            #expect(await fixture.jwksFetches == 1)

            await fixture.configure {
                $0.publishRotatedKey = true
                $0.signing = .rotated
            }
            // Within 30 s of the last fetch the unknown kid is refused without a refetch.
            let result = await failure { _ = try await self.redeem(client) }
            guard case .invalidIDToken? = result else {
                Issue.record("expected invalidIDToken, got \(String(describing: result))")
                return
            }
            #expect(await fixture.jwksFetches == 1)

            clock.advance(by: 31)
            let redeemed = try await self.redeem(client)
            #expect(redeemed.subject == "upstream-user-1")
            #expect(await fixture.jwksFetches == 2)
            // Known keys need no further fetch.
            _ = try await self.redeem(client)
            #expect(await fixture.jwksFetches == 2)
        }
    }

    @Test("without an email in the ID token, the userinfo endpoint is asked, and used only when its sub matches")
    func userinfoFallback() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure {
                $0.editClaims = {
                    $0["email"] = nil
                    $0["email_verified"] = nil
                }
                $0.userinfo = ["sub": "upstream-user-1", "email": "ada@userinfo.example", "email_verified": true]
            }
            let client = await self.client(fixture)
            let identity = try await self.redeem(client)
            #expect(identity.email == "ada@userinfo.example")
            #expect(identity.emailVerified)
            #expect(await fixture.userinfoAuthorizations == ["Bearer upstream-access-token-1"])

            await fixture.configure { $0.userinfo = ["sub": "someone-else", "email": "eve@example.com", "email_verified": true] }
            let other = try await self.redeem(client)
            #expect(other.email == nil)
            #expect(!other.emailVerified)
        }
    }

    @Test("an unreachable provider is providerUnavailable")
    func unreachable() async throws {
        let settings = oidcSettings(issuer: "http://127.0.0.1:1")
        let client = UpstreamProviderClients.make(settings, clock: FixedClock(testNow))
        let result = await failure { _ = try await client.authorizationURL(state: "s", nonce: "n", codeChallenge: "c", redirectURI: testRedirectURI) }
        guard case .providerUnavailable? = result else {
            Issue.record("expected providerUnavailable, got \(String(describing: result))")
            return
        }
    }

    @Test("an issuer that is plain http off loopback is refused without a request")
    func insecureIssuer() async throws {
        let client = UpstreamProviderClients.make(oidcSettings(issuer: "http://accounts.example.com"), clock: FixedClock(testNow))
        let result = await failure { _ = try await client.authorizationURL(state: "s", nonce: "n", codeChallenge: "c", redirectURI: testRedirectURI) }
        guard case .providerUnavailable? = result else {
            Issue.record("expected providerUnavailable, got \(String(describing: result))")
            return
        }
    }

    @Test("a token endpoint slower than the timeout is providerUnavailable")
    func slowTokenEndpoint() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.tokenHangs = true }
            let client = await self.client(fixture, timeout: .seconds(2))  // generous: discovery must still answer under a loaded CI machine
            _ = try await client.authorizationURL(state: "s", nonce: "n", codeChallenge: "c", redirectURI: testRedirectURI)
            let result = await failure { _ = try await self.redeem(client) }
            await fixture.release()
            guard case .providerUnavailable(let detail)? = result else {
                Issue.record("expected providerUnavailable, got \(String(describing: result))")
                return
            }
            #expect(!detail.contains("s3cret"))
        }
    }

    @Test("a redirect from the token endpoint is not followed")
    func redirectNotFollowed() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.tokenRedirects = true }
            let result = await failure { _ = try await self.redeem(await self.client(fixture)) }
            guard case .tokenExchangeFailed? = result else {
                Issue.record("expected tokenExchangeFailed, got \(String(describing: result))")
                return
            }
            #expect(await fixture.elsewhereHits == 0)
        }
    }

    @Test("a discovery document with a plain-http endpoint off loopback is refused")
    func insecureEndpoint() async throws {
        try await UpstreamFixture.run { fixture in
            await fixture.configure { $0.tokenEndpoint = "http://token.example.com/token" }
            let client = await self.client(fixture)
            let result = await failure { _ = try await client.authorizationURL(state: "s", nonce: "n", codeChallenge: "c", redirectURI: testRedirectURI) }
            guard case .providerUnavailable? = result else {
                Issue.record("expected providerUnavailable, got \(String(describing: result))")
                return
            }
        }
    }
}

@Suite("OpenIDConnectProviderClient caching")
struct OpenIDConnectCachingTests {
    @Test("concurrent sign-ins share one discovery and one key set fetch")
    func concurrent() async throws {
        try await UpstreamFixture.run { fixture in
            let client = UpstreamProviderClients.make(oidcSettings(issuer: await fixture.issuer), clock: FixedClock(testNow))
            try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        try await client.redeem(code: "c", issuerParameter: nil, codeVerifier: testVerifier, nonce: testNonce, redirectURI: testRedirectURI).subject
                    }
                }
                for try await subject in group { #expect(subject == "upstream-user-1") }
            }
            #expect(await fixture.discoveryFetches == 1)
            #expect(await fixture.jwksFetches == 1)
            #expect(await fixture.tokenRequests.count == 6)
        }
    }

    @Test("after the token endpoint failed, the next sign-in fetches the discovery document again")
    func refreshAfterFailure() async throws {
        try await UpstreamFixture.run { fixture in
            let client = UpstreamProviderClients.make(oidcSettings(issuer: await fixture.issuer), clock: FixedClock(testNow))
            await fixture.configure { $0.tokenEndpoint = "http://127.0.0.1:1/token" }
            let first = await failure {
                _ = try await client.redeem(code: "c", issuerParameter: nil, codeVerifier: testVerifier, nonce: testNonce, redirectURI: testRedirectURI)
            }
            guard case .providerUnavailable? = first else {
                Issue.record("expected providerUnavailable, got \(String(describing: first))")
                return
            }
            #expect(await fixture.discoveryFetches == 1)
            await fixture.configure { $0.tokenEndpoint = nil }
            let identity = try await client.redeem(code: "c", issuerParameter: nil, codeVerifier: testVerifier, nonce: testNonce, redirectURI: testRedirectURI)
            #expect(identity.subject == "upstream-user-1")
            #expect(await fixture.discoveryFetches == 2)
        }
    }
}
