import Foundation
import JWTKit
import TesseraCore
import TesseraTesting
import Testing

@Suite("Client authentication (RFC 6749 §2.3.1)")
struct ClientAuthenticationTests {
    @Test("the right secret authenticates; wrong, unknown and mismatched all fail alike")
    func secrets() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        try await core.storage.insertClient(Fixtures.publicClient())
        let authenticator = ClientAuthenticator(clients: core.storage, clock: core.clock)
        #expect(try await authenticator.authenticate(.basic(id: svc.id, secret: svc.secret)).id == "svc")
        #expect(try await authenticator.authenticate(.post(id: svc.id, secret: svc.secret)).id == "svc")
        #expect(try await authenticator.authenticate(.none(id: "spa")).id == "spa")
        for credentials: ClientCredentials in [.basic(id: "svc", secret: "wrong"), .basic(id: "nobody", secret: svc.secret),
                                               .none(id: "svc"), .post(id: "spa", secret: "anything")] {
            await expectOAuthError(.invalidClient) { _ = try await authenticator.authenticate(credentials) }
        }
    }

    @Test("an expired client secret is refused")
    func expiredSecret() async throws {
        let core = try await CoreHarness()
        var (client, secret) = Fixtures.confidentialClient()
        client.secretExpiresAt = core.clock.now.addingTimeInterval(60)
        try await core.storage.insertClient(client)
        let authenticator = ClientAuthenticator(clients: core.storage, clock: core.clock)
        _ = try await authenticator.authenticate(.basic(id: client.id, secret: secret))
        core.clock.advance(by: 61)
        await expectOAuthError(.invalidClient) { _ = try await authenticator.authenticate(.basic(id: client.id, secret: secret)) }
    }

    @Test("secrets are compared in constant time over their digests")
    func constantTime() {
        #expect(Secrets.constantTimeEquals(Secrets.digest("a"), Secrets.digest("a")))
        #expect(!Secrets.constantTimeEquals(Secrets.digest("a"), Secrets.digest("b")))
        #expect(!Secrets.constantTimeEquals(Data([1, 2]), Data([1, 2, 3])))
        #expect(Secrets.random().count == 43, "32 bytes of randomness, base64url")
    }
}

@Suite("Client credentials grant (RFC 6749 §4.4)")
struct ClientCredentialsGrantTests {
    @Test("issues an RFC 9068 access token and no refresh token (§4.4.3)")
    func issues() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        let response = try await core.token([("grant_type", "client_credentials"), ("scope", "read write")], basic: svc)
        #expect(response.refreshToken == nil)
        #expect(response.tokenType == "Bearer")
        #expect(response.expiresIn == 900)
        #expect(response.scope == "read write")
        let (header, claims) = try decodeJWT(response.accessToken)
        #expect(header["typ"] as? String == "at+jwt")
        #expect(header["alg"] as? String == "ES256")
        #expect(header["kid"] as? String == (try core.keys.current.activeKids[.es256]))
        #expect(claims["iss"] as? String == Fixtures.issuer)
        #expect(claims["sub"] as? String == "svc")
        #expect(claims["client_id"] as? String == "svc")
        #expect(claims["scope"] as? String == "read write")
        #expect(claims["jti"] is String)
        let iat = try #require(claims["iat"] as? Int)
        #expect(claims["exp"] as? Int == iat + 900)
        #expect(iat == Int(core.clock.now.timeIntervalSince1970))
        // The signature verifies with the published key set.
        let verified = try await core.keys.current.collection.verify(response.accessToken, as: AccessTokenClaims.self)
        #expect(verified.clientID == "svc")
    }

    @Test("public clients may not use it")
    func publicClients() async throws {
        let core = try await CoreHarness()
        try await core.storage.insertClient(Fixtures.publicClient(grants: [.clientCredentials]))
        await expectOAuthError(.unauthorizedClient) { _ = try await core.token([("grant_type", "client_credentials"), ("client_id", "spa")]) }
    }

    @Test("a grant the client is not registered for is unauthorized_client; an unknown one unsupported_grant_type")
    func grantChecks() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient(grants: [.clientCredentials])
        await expectOAuthError(.unauthorizedClient) {
            _ = try await core.token([("grant_type", "password"), ("username", "a"), ("password", "b")], basic: svc)
        }
        await expectOAuthError(.unsupportedGrantType) { _ = try await core.token([("grant_type", "urn:x:magic")], basic: svc) }
        await expectOAuthError(.invalidRequest) { _ = try await core.token([("scope", "read")], basic: svc) }
    }

    @Test("RS256 access tokens when configured")
    func rs256() async throws {
        var settings = OAuthSettings(issuer: Fixtures.issuer)
        settings.accessTokenAlgorithm = .rs256
        let core = try await CoreHarness(settings: settings)
        let svc = try await core.confidentialClient()
        let response = try await core.token([("grant_type", "client_credentials")], basic: svc)
        #expect(try decodeJWT(response.accessToken).header["alg"] as? String == "RS256")
        _ = try await core.keys.current.collection.verify(response.accessToken, as: AccessTokenClaims.self)
    }
}

@Suite("Password grant (RFC 6749 §4.3)")
struct PasswordGrantTests {
    @Test("issues access and refresh tokens whose subject is the user id")
    func issues() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        let alice = try await core.addUser()
        let response = try await core.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland"), ("scope", "read")], basic: svc)
        #expect(response.refreshToken != nil)
        #expect(response.scope == "read")
        let claims = try decodeJWT(response.accessToken).claims
        #expect(claims["sub"] as? String == alice.id)
        #expect(claims["auth_time"] as? Int == Int(core.clock.now.timeIntervalSince1970))
    }

    @Test("unknown user, wrong password and disabled user get the same answer")
    func noEnumeration() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let svc = try await core.confidentialClient()
        let alice = try await core.addUser()
        var descriptions: Set<String> = []
        for (username, password) in [("alice", "wrong-password"), ("mallory", "wonderland")] {
            do {
                _ = try await core.token([("grant_type", "password"), ("username", username), ("password", password)], basic: svc)
                Issue.record("login succeeded")
            } catch let error as OAuthError {
                #expect(error.code == .invalidGrant)
                descriptions.insert(error.errorDescription)
            }
        }
        try await core.storage.setDisabled(userID: alice.id, disabled: true)
        do {
            _ = try await core.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland")], basic: svc)
            Issue.record("a disabled user logged in")
        } catch let error as OAuthError {
            descriptions.insert(error.errorDescription)
        }
        #expect(descriptions.count == 1)
        #expect(audit.events.filter { $0.kind == .loginFailed }.count == 3)
    }

    @Test("the user's allowed scopes bound the grant")
    func userScopes() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        _ = try await core.addUser(scopes: ["read"])
        await expectOAuthError(.invalidScope) {
            _ = try await core.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland"), ("scope", "write")], basic: svc)
        }
        let response = try await core.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland")], basic: svc)
        #expect(response.scope == "read")
    }

    @Test("missing username or password is invalid_request")
    func missing() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        await expectOAuthError(.invalidRequest) { _ = try await core.token([("grant_type", "password"), ("username", "alice")], basic: svc) }
    }

    @Test("a hash weaker than the configured cost is upgraded on a good login")
    func rehash() async throws {
        let core = try await CoreHarness(bcryptCost: 5)
        let svc = try await core.confidentialClient()
        let weak = try await BcryptPasswordHasher(cost: 4).hash("wonderland")
        try await core.storage.insertUser(User(id: "u", username: "alice", passwordHash: weak, allowedScopes: ["read"], createdAt: core.clock.now))
        _ = try await core.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland")], basic: svc)
        let stored = try #require(try await core.storage.user(id: "u"))
        #expect(BcryptPasswordHasher.cost(of: stored.passwordHash) == 5)
        #expect(try await core.hasher.verify("wonderland", hash: stored.passwordHash))
    }
}

@Suite("Refresh token grant (RFC 6749 §6, RFC 9700 §4.14.2)")
struct RefreshTokenGrantTests {
    func login(_ core: CoreHarness, client: (id: String, secret: String), scope: String = "read write") async throws -> TokenResponse {
        try await core.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland"), ("scope", scope)], basic: client)
    }

    @Test("every refresh rotates the token; the old one stops working")
    func rotates() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        let first = try #require(try await login(core, client: svc).refreshToken)
        let second = try await core.token([("grant_type", "refresh_token"), ("refresh_token", first)], basic: svc)
        let next = try #require(second.refreshToken)
        #expect(next != first)
        #expect(second.scope == "read write")
        _ = try await core.token([("grant_type", "refresh_token"), ("refresh_token", next)], basic: svc)
    }

    @Test("presenting a spent token revokes the whole family, newest included")
    func reuseRevokesFamily() async throws {
        let audit = RecordingAuditSink()
        let core = try await CoreHarness(audit: audit)
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        let first = try #require(try await login(core, client: svc).refreshToken)
        let newest = try #require(try await core.token([("grant_type", "refresh_token"), ("refresh_token", first)], basic: svc).refreshToken)
        await expectOAuthError(.invalidGrant) { _ = try await core.token([("grant_type", "refresh_token"), ("refresh_token", first)], basic: svc) }
        await expectOAuthError(.invalidGrant) { _ = try await core.token([("grant_type", "refresh_token"), ("refresh_token", newest)], basic: svc) }
        #expect(audit.events.contains { $0.kind == .refreshReuseDetected })
    }

    @Test("a refresh may narrow the scope but never widen it")
    func scope() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        let token = try #require(try await login(core, client: svc, scope: "read").refreshToken)
        await expectOAuthError(.invalidScope) {
            _ = try await core.token([("grant_type", "refresh_token"), ("refresh_token", token), ("scope", "read write")], basic: svc)
        }
        let narrowed = try await core.token([("grant_type", "refresh_token"), ("refresh_token", token), ("scope", "read")], basic: svc)
        #expect(narrowed.scope == "read")
    }

    @Test("a token is bound to its client")
    func boundToClient() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        let other = try await core.confidentialClient(id: "other")
        _ = try await core.addUser()
        let token = try #require(try await login(core, client: svc).refreshToken)
        await expectOAuthError(.invalidGrant) { _ = try await core.token([("grant_type", "refresh_token"), ("refresh_token", token)], basic: other) }
        // The rightful client still can: a foreign attempt is not a reuse.
        _ = try await core.token([("grant_type", "refresh_token"), ("refresh_token", token)], basic: svc)
    }

    @Test("idle and absolute lifetimes")
    func lifetimes() async throws {
        var settings = OAuthSettings(issuer: Fixtures.issuer)
        settings.refreshTokenIdleLifetime = 100
        settings.refreshTokenAbsoluteLifetime = 250
        let core = try await CoreHarness(settings: settings)
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        var token = try #require(try await login(core, client: svc).refreshToken)
        core.clock.advance(by: 90)
        token = try #require(try await core.token([("grant_type", "refresh_token"), ("refresh_token", token)], basic: svc).refreshToken)
        core.clock.advance(by: 90)
        token = try #require(try await core.token([("grant_type", "refresh_token"), ("refresh_token", token)], basic: svc).refreshToken)
        core.clock.advance(by: 90) // 270 s after login: past the absolute lifetime, although used within the idle one
        await expectOAuthError(.invalidGrant) { _ = try await core.token([("grant_type", "refresh_token"), ("refresh_token", token)], basic: svc) }

        let idle = try #require(try await login(core, client: svc).refreshToken)
        core.clock.advance(by: 101)
        await expectOAuthError(.invalidGrant) { _ = try await core.token([("grant_type", "refresh_token"), ("refresh_token", idle)], basic: svc) }
    }

    @Test("a disabled user's refresh tokens stop working")
    func disabledUser() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        let alice = try await core.addUser()
        let token = try #require(try await login(core, client: svc).refreshToken)
        try await core.storage.setDisabled(userID: alice.id, disabled: true)
        await expectOAuthError(.invalidGrant) { _ = try await core.token([("grant_type", "refresh_token"), ("refresh_token", token)], basic: svc) }
    }

    @Test("20 concurrent refreshes of one token: exactly one wins")
    func race() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        let token = try #require(try await login(core, client: svc).refreshToken)
        let wins = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    (try? await core.token([("grant_type", "refresh_token"), ("refresh_token", token)], basic: svc)) != nil
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
    }

    @Test("refresh tokens carry 256 bits and are stored only as digests")
    func atRest() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        _ = try await core.addUser()
        let token = try #require(try await login(core, client: svc).refreshToken)
        #expect(Data(base64URLEncoded: token)?.count == 32)
        let record = try #require(try await core.storage.refreshToken(digest: Secrets.digest(token)))
        #expect(record.tokenDigest.count == 32)
        #expect(record.tokenDigest != Data(token.utf8))
    }
}

@Suite("Signing keys (RFC 7517, RFC 7638)")
struct SigningKeyTests {
    @Test("first start creates an ES256 and an RS256 key; JWKS holds public parts only")
    func firstStart() async throws {
        let core = try await CoreHarness()
        let set = try core.keys.current
        #expect(Set(set.activeKids.keys) == [.es256, .rs256])
        let jwks = try #require(try JSONSerialization.jsonObject(with: set.jwksJSON) as? [String: [[String: String]]])
        let keys = try #require(jwks["keys"])
        #expect(keys.count == 2)
        for key in keys {
            #expect(key["d"] == nil && key["p"] == nil && key["q"] == nil, "no private key material")
            #expect(key["use"] == "sig")
            #expect(key["kid"] == SigningKeyFactory.thumbprint(of: key))
        }
        #expect(try await core.keys.ensureKeys().isEmpty, "a second start creates nothing")
    }

    @Test("rotation: the new key signs at once, the old stays published until its tokens expired")
    func rotation() async throws {
        let core = try await CoreHarness()
        let svc = try await core.confidentialClient()
        let oldKid = try #require(try core.keys.current.activeKids[.es256])
        let oldToken = try await core.token([("grant_type", "client_credentials")], basic: svc).accessToken
        try await core.keys.rotate()
        let newKid = try #require(try core.keys.current.activeKids[.es256])
        #expect(newKid != oldKid)
        let newToken = try await core.token([("grant_type", "client_credentials")], basic: svc).accessToken
        #expect(try decodeJWT(newToken).header["kid"] as? String == newKid)
        #expect(try core.keys.current.records.contains { $0.kid == oldKid })
        _ = try await core.keys.current.collection.verify(oldToken, as: AccessTokenClaims.self)

        core.clock.advance(by: core.keys.retention + 1)
        try await core.keys.reload()
        #expect(try !core.keys.current.records.contains { $0.kid == oldKid }, "unpublished once every token it signed has expired")
        #expect(try await core.keys.purgeExpired().contains(oldKid))
    }
}
