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
