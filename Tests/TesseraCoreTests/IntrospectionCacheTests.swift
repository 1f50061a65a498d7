import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// The node-local introspection cache: signature checks are cached, revocation still applies.
@Suite("Introspection cache (core)")
struct IntrospectionCacheTests {
    func introspect(_ h: CoreHarness, _ services: GrantServices, _ token: String, as client: (id: String, secret: String)) async throws -> IntrospectionResponse {
        try await IntrospectionEndpoint(services: services, storage: h.storage).handle(try TokenRequest(parameters: [("token", token)], basicCredentials: client))
    }

    func revoke(_ h: CoreHarness, _ services: GrantServices, _ token: String, as client: (id: String, secret: String)) async throws {
        try await RevocationEndpoint(services: services, storage: h.storage).handle(RevocationRequest(try TokenRequest(parameters: [("token", token)], basicCredentials: client)))
    }

    /// A second node: same database and keys, its own caches.
    func otherNode(_ h: CoreHarness) -> GrantServices {
        GrantServices(settings: h.services.settings, clock: h.clock, accessTokens: h.services.accessTokens,
                      passwords: h.services.passwords, audit: h.services.audit)
    }

    @Test("a token introspected twice is cached once, with the same answer")
    func hit() async throws {
        let h = try await CoreHarness()
        let svc = try await h.confidentialClient()
        let token = try await h.token([("grant_type", "client_credentials"), ("scope", "read")], basic: svc)
        let first = try await introspect(h, h.services, token.accessToken, as: svc)
        #expect(first.active)
        #expect(h.services.introspectionCache.count == 1)
        #expect(try await introspect(h, h.services, token.accessToken, as: svc) == first)
        #expect(h.services.introspectionCache.count == 1)
    }

    @Test("revoke then introspect on the same node: inactive at once, although the token was cached")
    func revokeThenIntrospect() async throws {
        let h = try await CoreHarness()
        let svc = try await h.confidentialClient()
        let token = try await h.token([("grant_type", "client_credentials"), ("scope", "read")], basic: svc)
        #expect(try await introspect(h, h.services, token.accessToken, as: svc).active)
        try await revoke(h, h.services, token.accessToken, as: svc)
        #expect(try await introspect(h, h.services, token.accessToken, as: svc) == .inactive)
    }

    @Test("a revocation on another node is seen within recheckInterval")
    func revokeOnOtherNode() async throws {
        let h = try await CoreHarness()
        let svc = try await h.confidentialClient()
        let nodeB = otherNode(h)
        let token = try await h.token([("grant_type", "client_credentials"), ("scope", "read")], basic: svc)
        #expect(try await introspect(h, nodeB, token.accessToken, as: svc).active)
        try await revoke(h, h.services, token.accessToken, as: svc)
        #expect(try await introspect(h, h.services, token.accessToken, as: svc) == .inactive)
        // Node B answers from its cache until the bound, then asks the database.
        h.clock.advance(by: IntrospectionCache.defaultRecheckInterval)
        #expect(try await introspect(h, nodeB, token.accessToken, as: svc) == .inactive)
        #expect(nodeB.introspectionCache.count == 0)
    }

    @Test("a cached token is inactive from its exp on, and leaves the cache")
    func expiry() async throws {
        let h = try await CoreHarness()
        let svc = try await h.confidentialClient()
        let token = try await h.token([("grant_type", "client_credentials"), ("scope", "read")], basic: svc)
        #expect(try await introspect(h, h.services, token.accessToken, as: svc).active)
        h.clock.advance(by: TimeInterval(token.expiresIn))
        #expect(try await introspect(h, h.services, token.accessToken, as: svc) == .inactive)
        #expect(h.services.introspectionCache.count == 0)
    }

    @Test("the cache keeps at most its capacity, oldest first out")
    func bound() {
        let cache = IntrospectionCache(capacity: 2)
        #expect(cache.capacity == 2)
        #expect(cache.count == 0)
        #expect(!cache.isRevokedLocally(jti: "x"))
        cache.revoked(jti: "x", expiresAt: Date(timeIntervalSince1970: 10), now: Date(timeIntervalSince1970: 0))
        #expect(cache.isRevokedLocally(jti: "x"))
    }
}
