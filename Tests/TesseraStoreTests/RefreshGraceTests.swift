import Foundation
import TesseraCore
import TesseraStore
import TesseraTesting
import Testing

/// The refresh rotation grace window end to end on each real store (Hydra's `rotation_grace_period`): a retry within
/// the window gets a fresh pair, one retry too many or a retry after it revokes the family as before (RFC 9700 §4.14.2).
@Suite("Refresh rotation grace window on every store")
struct RefreshGraceTests {
    struct Setup {
        let core: CoreHarness
        let svc: (id: String, secret: String)

        init(_ store: any TesseraStorage, grace: TimeInterval, clientGrace: Int? = nil) async throws {
            var settings = OAuthSettings(issuer: Fixtures.issuer)
            settings.refreshRotationGracePeriod = grace
            core = try await CoreHarness(storage: store, settings: settings)
            var (client, secret) = Fixtures.confidentialClient()
            client.refreshGracePeriod = clientGrace
            try await store.insertClient(client)
            svc = (client.id, secret)
            try await store.insertUser(try await Fixtures.user(hasher: core.hasher))
        }

        func login() async throws -> String {
            try #require(try await token([("grant_type", "password"), ("username", "alice"), ("password", "wonderland")]).refreshToken)
        }

        func refresh(_ token: String) async throws -> String {
            try #require(try await self.token([("grant_type", "refresh_token"), ("refresh_token", token)]).refreshToken)
        }

        func token(_ parameters: [(String, String)]) async throws -> TokenResponse {
            try await core.tokenEndpoint.handle(try TokenRequest(parameters: parameters, basicCredentials: svc))
        }

        func isRefused(_ token: String) async -> Bool {
            do {
                _ = try await refresh(token)
                return false
            } catch let error as OAuthError {
                return error.code == .invalidGrant
            } catch {
                return false
            }
        }
    }

    @Test("within the window one retry gets a valid pair; a second retry revokes the family", arguments: StoreKind.available)
    func withinWindow(kind: StoreKind) async throws {
        try await withFreshStore(kind) { store in
            let s = try await Setup(store, grace: 30)
            let first = try await s.login()
            let second = try await s.refresh(first)
            s.core.clock.advance(by: 10)
            let retried = try await s.refresh(first)  // the answer to the first refresh was lost: the client retries
            #expect(retried != second)
            let third = try await s.refresh(second)   // the pair the client never saw still works too
            #expect(await s.isRefused(first), "the reuse budget (1) is spent: reuse detection again")
            #expect(await s.isRefused(retried), "… and the family is revoked, every branch")
            #expect(await s.isRefused(third))
        }
    }

    @Test("after the window, or with grace off for the client, a reuse revokes the family", arguments: StoreKind.available)
    func afterWindow(kind: StoreKind) async throws {
        try await withFreshStore(kind) { store in
            let s = try await Setup(store, grace: 30)
            let first = try await s.login()
            let second = try await s.refresh(first)
            s.core.clock.advance(by: 31)
            #expect(await s.isRefused(first))
            #expect(await s.isRefused(second), "the family is revoked")
        }
        try await withFreshStore(kind) { store in
            let s = try await Setup(store, grace: 30, clientGrace: 0)
            let first = try await s.login()
            let second = try await s.refresh(first)
            #expect(await s.isRefused(first), "the client's 0 overrides the server's 30 s")
            #expect(await s.isRefused(second))
        }
        try await withFreshStore(kind) { store in
            let s = try await Setup(store, grace: 0, clientGrace: 20)
            let first = try await s.login()
            _ = try await s.refresh(first)
            _ = try await s.refresh(first)  // the client's own window applies although the server's is off
        }
    }

    @Test("20 parallel refreshes of one token: one rotation and one grace retry win, the rest revoke the family", arguments: StoreKind.available)
    func race(kind: StoreKind) async throws {
        try await withFreshStore(kind) { store in
            let s = try await Setup(store, grace: 30)
            let first = try await s.login()
            let winners = await withTaskGroup(of: String?.self) { group in
                for _ in 0..<20 { group.addTask { try? await s.refresh(first) } }
                return await group.reduce(into: [String]()) { if let token = $1 { $0.append(token) } }
            }
            #expect(winners.count == 2, "one rotation plus the one permitted reuse; got \(winners.count)")
            for token in winners { #expect(await s.isRefused(token), "the 18 over-budget reuses revoked the family") }
        }
    }
}
