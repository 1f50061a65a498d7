import Foundation
import TesseraCore
import TesseraStore
import TesseraTesting
import Testing

/// The SQLite engine caches client and user rows briefly (the hot reads of `/token` and refresh). Every
/// change made through the store must be visible to the very next read, on the same node.
@Suite("SQLite read cache")
struct SQLiteReadCacheTests {
    func openStore() async throws -> SQLStore {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).sqlite").path
        let store = try await SQLStore.open(.sqlite(path: path))
        _ = try await store.migrate()
        return store
    }

    @Test("client updates and deletions are seen by the next read")
    func clientChanges() async throws {
        let store = try await openStore()
        var (client, _) = Fixtures.confidentialClient(id: "cached-client")
        try await store.insertClient(client)
        #expect(try await store.client(id: client.id)?.name == client.name) // now cached
        client.name = "renamed"
        try await store.updateClient(client)
        #expect(try await store.client(id: client.id)?.name == "renamed")
        #expect(try await store.deleteClient(id: client.id))
        #expect(try await store.client(id: client.id) == nil)
        await store.shutdown()
    }

    @Test("user changes are seen by the next read, also after unrelated writes kept the entry")
    func userChanges() async throws {
        let store = try await openStore()
        let user = User(id: "cached-user", username: "cache-alice", passwordHash: "x", allowedScopes: ["read"],
                        createdAt: Date(timeIntervalSince1970: 1_800_000_000))
        try await store.insertUser(user)
        #expect(try await store.user(id: user.id)?.disabled == false) // now cached
        // A write to another table (a refresh token) leaves the cached row in place and correct.
        let (_, record) = Fixtures.refreshToken(clientID: "svc", subject: user.id, now: Date(timeIntervalSince1970: 1_800_000_000))
        try await store.insertRefreshToken(record)
        #expect(try await store.user(id: user.id)?.disabled == false)
        try await store.setDisabled(userID: user.id, disabled: true)
        #expect(try await store.user(id: user.id)?.disabled == true)
        try await store.updatePasswordHash(userID: user.id, hash: "y")
        #expect(try await store.user(id: user.id)?.passwordHash == "y")
        await store.shutdown()
    }
}
