import Foundation
import TesseraCore
import TesseraResourceServer
import TesseraTesting
import Testing

/// The introspection verifier against Tessera's real introspection logic (the core endpoint as transport).
@Suite("IntrospectionTokenVerifier (RFC 7662)")
struct IntrospectionTokenVerifierTests {
    struct Setup {
        let core: CoreHarness
        let svc: (id: String, secret: String)
        let api: (id: String, secret: String)
        let calls = CallCounter()

        init() async throws {
            core = try await CoreHarness()
            let svcClient = Fixtures.confidentialClient()
            let apiClient = Fixtures.confidentialClient(id: "example-api", grants: [GrantType.clientCredentials], scopes: [])
            try await core.storage.insertClient(svcClient.client)
            try await core.storage.insertClient(apiClient.client)
            svc = (svcClient.client.id, svcClient.secret)
            api = (apiClient.client.id, apiClient.secret)
        }

        func verifier(cache: Duration = .seconds(30), audience: String? = nil) -> IntrospectionTokenVerifier {
            let endpoint = IntrospectionEndpoint(services: core.services, storage: core.storage)
            let calls = self.calls
            let clock = core.clock
            return IntrospectionTokenVerifier(
                configuration: .init(issuer: Fixtures.issuer, clientID: api.id, clientSecret: api.secret, audience: audience, cacheDuration: cache),
                transport: { token, configuration in
                    await calls.increment()
                    let request = try TokenRequest(parameters: [("token", token), ("token_type_hint", "access_token")],
                                                   basicCredentials: (configuration.clientID, configuration.clientSecret))
                    return try JSONEncoder().encode(try await endpoint.handle(request))
                },
                now: { clock.now })
        }

        func accessToken(scope: String = "read") async throws -> String {
            try await core.tokenEndpoint.handle(try TokenRequest(parameters: [("grant_type", "client_credentials"), ("scope", scope)], basicCredentials: svc)).accessToken
        }

        func revoke(_ token: String) async throws {
            try await RevocationEndpoint(services: core.services, storage: core.storage).handle(RevocationRequest(try TokenRequest(parameters: [("token", token)], basicCredentials: svc)))
        }
    }

    actor CallCounter {
        var count = 0
        func increment() { count += 1 }
    }

    @Test("an active token maps to AccessToken; a revoked one is refused once the cache has expired")
    func activeThenRevoked() async throws {
        let setup = try await Setup()
        let verifier = setup.verifier(cache: .seconds(30))
        let token = try await setup.accessToken()
        let verified = try await verifier.verify(token)
        #expect(verified.clientID == "svc" && verified.subject == "svc" && verified.scopes == ["read"])
        #expect(verified.audience == [Fixtures.issuer])
        _ = try await verifier.verify(token)
        #expect(await setup.calls.count == 1, "the positive answer is cached")
        try await setup.revoke(token)
        _ = try await verifier.verify(token) // still cached
        setup.core.clock.advance(by: 31)
        await #expect(throws: TokenVerificationError(.inactive, "")) { try await verifier.verify(token) }
    }

    @Test("with the cache off, revocation is seen at once; garbage is inactive; audience is checked")
    func noCacheAndAudience() async throws {
        let setup = try await Setup()
        let token = try await setup.accessToken()
        let verifier = setup.verifier(cache: .zero)
        _ = try await verifier.verify(token)
        try await setup.revoke(token)
        await #expect(throws: TokenVerificationError(.inactive, "")) { try await verifier.verify(token) }
        await #expect(throws: TokenVerificationError(.inactive, "")) { try await verifier.verify("garbage") }
        let other = try await setup.accessToken()
        await #expect(throws: TokenVerificationError(.audienceMismatch, "")) {
            try await setup.verifier(audience: "https://api.example").verify(other)
        }
    }

    @Test("a failing transport is introspection_unavailable (503 at the middleware), never a pass")
    func transportFailure() async throws {
        let verifier = IntrospectionTokenVerifier(
            configuration: .init(issuer: Fixtures.issuer, clientID: "a", clientSecret: "b"),
            transport: { _, _ in throw CancellationError() })
        await #expect(throws: TokenVerificationError(.introspectionUnavailable, "")) { try await verifier.verify("x") }
        let bad = IntrospectionTokenVerifier(configuration: .init(issuer: Fixtures.issuer, clientID: "a", clientSecret: "b"),
                                             transport: { _, _ in Data(#"{"active": true, "token_type": "refresh_token", "sub": "s", "client_id": "c", "exp": 9999999999}"#.utf8) })
        await #expect(throws: TokenVerificationError(.invalidType, "")) { try await bad.verify("x") }
    }
}
