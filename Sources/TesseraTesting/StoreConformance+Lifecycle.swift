import Foundation
public import TesseraCore
public import TesseraStore
import Testing

/// Conformance checks for the token lifecycle stores (revocation list, initial access tokens, client updates).
extension StoreConformance {
    public static func clientUpdate(_ store: any TesseraStorage) async throws {
        var client = Client(id: "c-1", name: "Registered", secretDigest: Secrets.digest("s"), authMethod: .clientSecretBasic,
                            grantTypes: [.authorizationCode], allowedScopes: ["read"], redirectURIs: ["https://app.example/cb"],
                            createdAt: epoch, resources: ["https://api.example"], registrationTokenDigest: Secrets.digest("rat-1"))
        try await store.insertClient(client)
        #expect(try await store.client(id: "c-1") == client, "resources and the registration token digest round-trip")
        client.name = "Renamed"
        client.redirectURIs = ["http://127.0.0.1:9000/cb"]
        client.grantTypes = [.authorizationCode, .refreshToken]
        client.resources = []
        client.registrationTokenDigest = Secrets.digest("rat-2")
        try await store.updateClient(client)
        #expect(try await store.client(id: "c-1") == client)
        var ghost = client
        ghost.id = "ghost"
        await #expect(throws: StoreError.self) { try await store.updateClient(ghost) }
        #expect(try await store.client(id: "ghost") == nil)
    }

    public static func clientKeysRoundTrip(_ store: any TesseraStorage) async throws {
        var client = Client(id: "c-jwt", name: "Agent", secretDigest: nil, authMethod: .privateKeyJWT, grantTypes: [.clientCredentials],
                            allowedScopes: ["read"], createdAt: epoch)
        client.jwks = #"{"keys":[{"kty":"EC","crv":"P-256","x":"x","y":"y"}]}"#
        try await store.insertClient(client)
        #expect(try await store.client(id: "c-jwt") == client, "jwks and the auth method round-trip")
        client.jwks = nil
        client.jwksURI = "https://agent.example/jwks.json"
        try await store.updateClient(client)
        #expect(try await store.client(id: "c-jwt") == client, "jwks_uri replaces jwks")
    }

    public static func clientAssertionsAreSingleUse(_ store: any TesseraStorage) async throws {
        let jti = Secrets.digest("jti-1")
        #expect(try await store.recordClientAssertion(clientID: "c", jtiDigest: jti, expiresAt: epoch.addingTimeInterval(60)))
        #expect(try await store.recordClientAssertion(clientID: "c", jtiDigest: jti, expiresAt: epoch.addingTimeInterval(60)) == false,
                "a jti is used once")
        #expect(try await store.recordClientAssertion(clientID: "other", jtiDigest: jti, expiresAt: epoch.addingTimeInterval(60)),
                "jtis are per client (RFC 7523 §3: unique per issuer)")
        #expect(try await store.recordClientAssertion(clientID: "c", jtiDigest: Secrets.digest("old"), expiresAt: epoch.addingTimeInterval(-1)))
        #expect(try await store.purgeClientAssertions(before: epoch) == 1, "only assertions past their exp are forgotten")
        #expect(try await store.recordClientAssertion(clientID: "c", jtiDigest: jti, expiresAt: epoch.addingTimeInterval(60)) == false,
                "a live jti survives the purge")
    }

    public static func concurrentClientAssertionUsesHaveOneWinner(_ store: any TesseraStorage) async throws {
        let jti = Secrets.digest("raced")
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask { try await store.recordClientAssertion(clientID: "c", jtiDigest: jti, expiresAt: epoch.addingTimeInterval(60)) }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1, "20 parallel uses of one assertion: exactly one wins")
    }

    public static func accessTokenRevocationList(_ store: any TesseraStorage) async throws {
        #expect(try await store.isAccessTokenRevoked(jti: "j-1") == false)
        try await store.revokeAccessToken(jti: "j-1", clientID: "c", expiresAt: epoch.addingTimeInterval(900), at: epoch)
        try await store.revokeAccessToken(jti: "j-1", clientID: "c", expiresAt: epoch.addingTimeInterval(900), at: epoch)
        try await store.revokeAccessToken(jti: "j-old", clientID: "c", expiresAt: epoch.addingTimeInterval(-1), at: epoch)
        #expect(try await store.isAccessTokenRevoked(jti: "j-1"))
        #expect(try await store.isAccessTokenRevoked(jti: "j-old"))
        #expect(try await store.purgeExpiredAccessTokenRevocations(before: epoch) == 1, "only entries past their token's exp are purged")
        #expect(try await store.isAccessTokenRevoked(jti: "j-old") == false)
        #expect(try await store.isAccessTokenRevoked(jti: "j-1"))
    }

    public static func initialAccessTokens(_ store: any TesseraStorage) async throws {
        let live = Secrets.digest("iat-live")
        let dead = Secrets.digest("iat-dead")
        try await store.insertInitialAccessToken(digest: live, expiresAt: epoch.addingTimeInterval(3600), createdAt: epoch)
        try await store.insertInitialAccessToken(digest: dead, expiresAt: epoch.addingTimeInterval(-1), createdAt: epoch)
        #expect(try await store.initialAccessTokenExpiry(digest: live) == epoch.addingTimeInterval(3600))
        #expect(try await store.initialAccessTokenExpiry(digest: Secrets.digest("unknown")) == nil)
        #expect(try await store.purgeExpiredInitialAccessTokens(before: epoch) == 1)
        #expect(try await store.initialAccessTokenExpiry(digest: dead) == nil)
        #expect(try await store.initialAccessTokenExpiry(digest: live) != nil)
    }
}
