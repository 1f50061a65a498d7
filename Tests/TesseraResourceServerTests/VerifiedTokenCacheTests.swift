import Foundation
import Synchronization
import Testing

import TesseraResourceServer

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date) { self.current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite("VerifiedTokenCache (AccessTokenVerifier)")
struct VerifiedTokenCacheTests {
    let issuer: TestIssuer
    let fetcher: FakeJWKSFetcher
    let clock = TestClock(TestIssuer.now)

    init() async throws {
        self.issuer = try await TestIssuer.make()
        self.fetcher = FakeJWKSFetcher(self.issuer.jwks())
    }

    func verifier(cacheSize: Int = 10_000, keys: JWKSCache? = nil) -> AccessTokenVerifier {
        let clock = self.clock
        return AccessTokenVerifier(
            configuration: .init(issuer: TestIssuer.issuer, audience: TestIssuer.audience, verifiedTokenCacheSize: cacheSize),
            keys: keys ?? JWKSCache(fetcher: self.fetcher),
            now: { clock.now }
        )
    }

    @Test("a token verified once is answered from the cache, with the same claims")
    func hit() async throws {
        let verifier = self.verifier()
        let token = try self.issuer.token()
        let first = try await verifier.verify(token)
        #expect(verifier.cache?.count == 1)
        let second = try await verifier.verify(token)
        #expect(second == first)
        #expect(verifier.cache?.count == 1)
        #expect(await self.fetcher.fetchCount == 1)
    }

    @Test("refusals are not cached")
    func refusalsNotCached() async throws {
        let verifier = self.verifier()
        let token = try self.issuer.token { $0["iss"] = "https://other.test" }
        #expect(await rejection { try await verifier.verify(token) } == .issuerMismatch)
        #expect(await rejection { try await verifier.verify(token) } == .issuerMismatch)
        #expect(verifier.cache?.count == 0)
    }

    @Test("a cached token stops being accepted at exp (plus leeway) on the injected clock, and leaves the cache")
    func expiry() async throws {
        let verifier = self.verifier()
        let token = try self.issuer.token() // exp = now + 300
        _ = try await verifier.verify(token)
        self.clock.advance(by: 309)
        _ = try await verifier.verify(token) // within the 10 s leeway
        #expect(verifier.cache?.count == 1)
        self.clock.advance(by: 1)
        #expect(await rejection { try await verifier.verify(token) } == .expired)
        #expect(verifier.cache?.count == 0)
    }

    @Test("a cached token is dropped once its signing key leaves the key set")
    func keyRemoval() async throws {
        let keys = JWKSCache(fetcher: self.fetcher)
        let verifier = self.verifier(keys: keys)
        let token = try self.issuer.token()
        _ = try await verifier.verify(token)
        #expect(verifier.cache?.count == 1)
        await self.fetcher.setDocument(self.issuer.jwks([self.issuer.rsaJWK()]))
        try await keys.refresh(now: self.clock.now)
        #expect(await rejection { try await verifier.verify(token) } == .unknownKey)
        #expect(verifier.cache?.count == 0)
        #expect(try await verifier.verify(try self.issuer.rsaToken()).subject == "alice", "tokens of remaining keys still verify")
    }

    @Test("a hit on a key set older than maximumKeyAge verifies in full, which refreshes the keys")
    func staleKeySet() async throws {
        let verifier = self.verifier()
        let token = try self.issuer.token { $0["exp"] = .number(TestIssuer.now.timeIntervalSince1970 + 7200) }
        _ = try await verifier.verify(token)
        self.clock.advance(by: 3600)
        _ = try await verifier.verify(token)
        #expect(await self.fetcher.fetchCount == 2)
    }

    @Test("the cache holds at most its capacity, dropping the oldest first")
    func bound() async throws {
        let verifier = self.verifier(cacheSize: 2)
        let tokens = try (1...3).map { n in try self.issuer.token { $0["jti"] = .string("token-\(n)") } }
        for token in tokens { _ = try await verifier.verify(token) }
        #expect(verifier.cache?.count == 2)
        for token in tokens { #expect(try await verifier.verify(token).id.hasPrefix("token-")) }
        #expect(verifier.cache?.count == 2)
    }

    @Test("size 0 turns the cache off")
    func off() async throws {
        let verifier = self.verifier(cacheSize: 0)
        _ = try await verifier.verify(try self.issuer.token())
        #expect(verifier.cache == nil)
    }
}
