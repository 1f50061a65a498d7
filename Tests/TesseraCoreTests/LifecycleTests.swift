import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// Issue 4 in the core: revocation (RFC 7009), introspection (RFC 7662), resource indicators (RFC 8707)
/// and key rotation scheduling. No HTTP; a fixed clock.
@Suite("Token lifecycle (core)")
struct LifecycleTests {
    func revoke(_ h: CoreHarness, _ token: String, hint: String? = nil, as client: (id: String, secret: String)) async throws -> RevocationEndpoint.Outcome {
        var parameters = [("token", token)]
        if let hint { parameters.append(("token_type_hint", hint)) }
        return try await RevocationEndpoint(services: h.services, storage: h.storage).handle(RevocationRequest(try TokenRequest(parameters: parameters, basicCredentials: client)))
    }

    func introspect(_ h: CoreHarness, _ token: String, hint: String? = nil, as client: (id: String, secret: String)) async throws -> IntrospectionResponse {
        var parameters = [("token", token)]
        if let hint { parameters.append(("token_type_hint", hint)) }
        return try await IntrospectionEndpoint(services: h.services, storage: h.storage).handle(try TokenRequest(parameters: parameters, basicCredentials: client))
    }

    @Test("RFC 7009 §2.1: revoking a refresh token revokes its whole family")
    func revokeRefreshFamily() async throws {
        let h = try await CoreHarness()
        let svc = try await h.confidentialClient()
        _ = try await h.addUser()
        let first = try await h.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland")], basic: svc)
        let second = try await h.token([("grant_type", "refresh_token"), ("refresh_token", first.refreshToken!)], basic: svc)
        let outcome = try await revoke(h, second.refreshToken!, hint: "refresh_token", as: svc)
        #expect(outcome == .refreshTokenFamily(revoked: 2))
        await expectOAuthError(.invalidGrant) {
            _ = try await h.token([("grant_type", "refresh_token"), ("refresh_token", second.refreshToken!)], basic: svc)
        }
    }

    @Test("RFC 7009 §2.1: an access token goes on the revocation list until its exp; introspection then says inactive")
    func revokeAccessToken() async throws {
        let h = try await CoreHarness()
        let svc = try await h.confidentialClient()
        let token = try await h.token([("grant_type", "client_credentials"), ("scope", "read")], basic: svc)
        #expect(try await introspect(h, token.accessToken, as: svc).active)
        // An unknown hint is ignored (§2.2.1), the token is still found.
        let outcome = try await revoke(h, token.accessToken, hint: "something_else", as: svc)
        guard case .accessToken(let jti) = outcome else { Issue.record("expected an access token revocation, got \(outcome)"); return }
        #expect(try await h.storage.isAccessTokenRevoked(jti: jti))
        #expect(try await introspect(h, token.accessToken, as: svc) == .inactive)
        h.clock.advance(by: 901)
        #expect(try await h.storage.purgeExpiredAccessTokenRevocations(before: h.clock.now) == 1)
    }

    @Test("RFC 7009 §2.2: garbage, unknown and foreign tokens are answered without revoking anything")
    func foreignAndGarbage() async throws {
        let h = try await CoreHarness()
        let svc = try await h.confidentialClient()
        let other = try await h.confidentialClient(id: "other")
        _ = try await h.addUser()
        let theirs = try await h.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland")], basic: other)
        #expect(try await revoke(h, "garbage", as: svc) == .nothing)
        #expect(try await revoke(h, "a.b.c", as: svc) == .nothing)
        #expect(try await revoke(h, theirs.refreshToken!, as: svc) == .nothing)
        #expect(try await revoke(h, theirs.accessToken, as: svc) == .nothing)
        #expect(try await introspect(h, theirs.refreshToken!, as: other).active, "the foreign refresh token still works")
        #expect(try await introspect(h, theirs.accessToken, as: other).active)
        await expectOAuthError(.invalidClient) { _ = try await revoke(h, theirs.accessToken, as: (svc.id, "wrong")) }
        await expectOAuthError(.invalidRequest) {
            _ = try await RevocationEndpoint(services: h.services, storage: h.storage).handle(RevocationRequest(try TokenRequest(parameters: [], basicCredentials: svc)))
        }
    }

    @Test("RFC 7662 §2.2: active answers carry the token's claims; refresh tokens only for their own client")
    func introspectionAnswers() async throws {
        let h = try await CoreHarness()
        let svc = try await h.confidentialClient()
        let rs = try await h.confidentialClient(id: "resource-server", grants: [.clientCredentials], scopes: [])
        let user = try await h.addUser()
        let token = try await h.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland"), ("scope", "read write")], basic: svc)
        let answer = try await introspect(h, token.accessToken, as: rs)
        #expect(answer.active)
        #expect(answer.sub == user.id)
        #expect(answer.clientID == "svc")
        #expect(answer.scope == "read write")
        #expect(answer.iss == Fixtures.issuer)
        #expect(answer.aud == [Fixtures.issuer])
        #expect(answer.tokenType == "access_token")
        #expect(answer.exp == Int(h.clock.now.timeIntervalSince1970) + 900)
        #expect(answer.jti?.isEmpty == false)
        let refresh = try await introspect(h, token.refreshToken!, as: svc)
        #expect(refresh.active && refresh.tokenType == "refresh_token" && refresh.sub == user.id)
        #expect(try await introspect(h, token.refreshToken!, as: rs) == .inactive, "another client learns nothing about a refresh token")
        #expect(try await introspect(h, "garbage", as: rs) == .inactive)
        // Rotated refresh tokens and expired access tokens are inactive.
        _ = try await h.token([("grant_type", "refresh_token"), ("refresh_token", token.refreshToken!)], basic: svc)
        #expect(try await introspect(h, token.refreshToken!, as: svc) == .inactive)
        h.clock.advance(by: 901)
        #expect(try await introspect(h, token.accessToken, as: rs) == .inactive)
        let own = try await h.token([("grant_type", "client_credentials")], basic: rs)
        #expect(try await introspect(h, own.accessToken, as: svc).active)
        _ = try await h.storage.deleteClient(id: rs.id)
        h.clock.advance(by: IntrospectionCache.defaultRecheckInterval) // introspection re-checks the database this often
        #expect(try await introspect(h, own.accessToken, as: svc) == .inactive, "RFC 7592 §2.3: a deleted client's tokens die")
    }

    @Test("RFC 7662 §2.1: the caller must be an authenticated confidential client")
    func introspectionNeedsClient() async throws {
        let h = try await CoreHarness()
        try await h.storage.insertClient(Fixtures.publicClient())
        await expectOAuthError(.invalidClient) {
            _ = try await IntrospectionEndpoint(services: h.services, storage: h.storage).handle(try TokenRequest(parameters: [("token", "x")]))
        }
        await expectOAuthError(.invalidClient) {
            _ = try await IntrospectionEndpoint(services: h.services, storage: h.storage).handle(try TokenRequest(parameters: [("token", "x"), ("client_id", "spa")]))
        }
    }

    @Test("a token signed by another key or for another issuer is inactive")
    func foreignIssuer() async throws {
        let h = try await CoreHarness()
        let elsewhere = try await CoreHarness(settings: OAuthSettings(issuer: "https://evil.test"))
        let svc = try await h.confidentialClient()
        let evil = try await elsewhere.confidentialClient()
        let token = try await elsewhere.token([("grant_type", "client_credentials")], basic: evil)
        #expect(try await introspect(h, token.accessToken, as: svc) == .inactive)
        #expect(try await revoke(h, token.accessToken, as: svc) == .nothing)
    }
}

@Suite("Resource indicators (RFC 8707)")
struct ResourceIndicatorTests {
    @Test("RFC 8707 §2: resource selects aud; unregistered or malformed resources are invalid_target; none gives the default")
    func selection() async throws {
        let h = try await CoreHarness()
        var (client, secret) = Fixtures.confidentialClient()
        client.resources = ["https://api.example/a", "https://api.example/b"]
        try await h.storage.insertClient(client)
        let basic = (client.id, secret)
        let a = try await h.token([("grant_type", "client_credentials"), ("resource", "https://api.example/a")], basic: basic)
        #expect(try decodeJWT(a.accessToken).claims["aud"] as? String == "https://api.example/a")
        let both = try await h.token([("grant_type", "client_credentials"), ("resource", "https://api.example/a"), ("resource", "https://api.example/b")], basic: basic)
        #expect(try decodeJWT(both.accessToken).claims["aud"] as? [String] == ["https://api.example/a", "https://api.example/b"])
        let none = try await h.token([("grant_type", "client_credentials")], basic: basic)
        #expect(try decodeJWT(none.accessToken).claims["aud"] as? String == Fixtures.issuer)
        await expectOAuthError(.invalidTarget) {
            _ = try await h.token([("grant_type", "client_credentials"), ("resource", "https://other.example")], basic: basic)
        }
        await expectOAuthError(.invalidTarget) {
            _ = try await h.token([("grant_type", "client_credentials"), ("resource", "https://api.example/a#frag")], basic: basic)
        }
        await expectOAuthError(.invalidTarget) {
            _ = try await h.token([("grant_type", "client_credentials"), ("resource", "relative/path")], basic: basic)
        }
    }

    @Test("RFC 8707 §2.2: a refresh may narrow the audience but not widen it; the refresh token keeps the grant's audience")
    func refreshNarrowing() async throws {
        let h = try await CoreHarness()
        var (client, secret) = Fixtures.confidentialClient()
        client.resources = ["https://api.example/a", "https://api.example/b"]
        try await h.storage.insertClient(client)
        _ = try await h.addUser()
        let basic = (client.id, secret)
        let first = try await h.token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland"),
                                       ("resource", "https://api.example/a"), ("resource", "https://api.example/b")], basic: basic)
        let narrowed = try await h.token([("grant_type", "refresh_token"), ("refresh_token", first.refreshToken!), ("resource", "https://api.example/b")], basic: basic)
        #expect(try decodeJWT(narrowed.accessToken).claims["aud"] as? String == "https://api.example/b")
        let full = try await h.token([("grant_type", "refresh_token"), ("refresh_token", narrowed.refreshToken!)], basic: basic)
        #expect(try decodeJWT(full.accessToken).claims["aud"] as? [String] == ["https://api.example/a", "https://api.example/b"])
        await expectOAuthError(.invalidTarget) {
            _ = try await h.token([("grant_type", "refresh_token"), ("refresh_token", full.refreshToken!), ("resource", "https://other.example")], basic: basic)
        }
        #expect(throws: Never.self) { try ResourceIndicators.narrowed(requested: [], granted: ["x:y"]) }
    }
}

@Suite("Key rotation scheduling")
struct KeyRotationTests {
    @Test("a due key is pre-published, signs only from activatesAt, then the old key is retired and later purged")
    func prePublication() async throws {
        let h = try await CoreHarness()
        let policy = KeyRotationPolicy(interval: 30 * 86_400, prePublication: 3600)
        #expect(try await h.keys.rotateIfDue(policy).isEmpty, "fresh keys are not rotated")
        let before = try h.keys.current
        h.clock.advance(by: 30 * 86_400)
        let created = try await h.keys.rotateIfDue(policy)
        #expect(Set(created.map(\.algorithm)) == Set(SigningAlgorithm.allCases))
        let prepublished = try h.keys.current
        #expect(prepublished.activeKids == before.activeKids, "the new key does not sign yet")
        let jwks = try JSONSerialization.jsonObject(with: prepublished.jwksJSON) as? [String: Any]
        #expect((jwks?["keys"] as? [Any])?.count == 4, "but it is published")
        #expect(try await h.keys.rotateIfDue(policy).isEmpty, "a second node does nothing while a key is pending")
        h.clock.advance(by: 3600)
        _ = try await h.keys.rotateIfDue(policy)
        let after = try h.keys.current
        #expect(Set(after.activeKids.values) == Set(created.map(\.kid)))
        let retired = try await h.storage.signingKeys().filter { $0.retiredAt != nil }
        #expect(Set(retired.map(\.kid)) == Set(before.activeKids.values))
        h.clock.advance(by: h.keys.retention + 1)
        #expect(Set(try await h.keys.purgeExpired()) == Set(before.activeKids.values))
    }

    @Test("two nodes rotating at once end with exactly one signing key per algorithm")
    func concurrentNodes() async throws {
        let h = try await CoreHarness()
        let other = SigningKeyManager(store: h.storage, clock: h.clock, retention: 900, encryption: h.keyEncryption) // nodes share the KEK
        let policy = KeyRotationPolicy(interval: 86_400, prePublication: 60)
        h.clock.advance(by: 86_400)
        async let a = h.keys.rotateIfDue(policy)
        async let b = other.rotateIfDue(policy)
        let created = try await a.count + b.count
        #expect((2...4).contains(created), "each node adds at most one key per algorithm")
        h.clock.advance(by: 60)
        _ = try await h.keys.rotateIfDue(policy)
        _ = try await other.rotateIfDue(policy)
        let live = try await h.storage.signingKeys().filter { $0.retiredAt == nil }
        #expect(live.count == 2, "one live key per algorithm")
        try await other.reload()
        #expect(try h.keys.current.activeKids == other.current.activeKids, "both nodes sign with the same keys")
    }

    @Test("the plan tolerates duplicate inserts by concurrent nodes and is off at interval 0")
    func planIsIdempotent() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let old = try SigningKeyFactory.generate(.es256, now: now.addingTimeInterval(-40 * 86_400))
        let dup1 = try SigningKeyFactory.generate(.es256, now: now.addingTimeInterval(-7200), activatesAt: now.addingTimeInterval(-3600))
        let dup2 = try SigningKeyFactory.generate(.es256, now: now.addingTimeInterval(-7200), activatesAt: now.addingTimeInterval(-3599))
        let plan = KeyRotationPolicy(interval: 30 * 86_400, prePublication: 3600).plan(records: [old, dup1, dup2], now: now)
        #expect(plan.insert.isEmpty)
        #expect(Set(plan.retire.keys) == [old.kid, dup1.kid], "only the newest active key survives")
        #expect(KeyRotationPolicy(interval: 0, prePublication: 3600).plan(records: [old], now: now).isEmpty)
    }
}
