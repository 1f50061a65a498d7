import Foundation
import Testing

import TesseraResourceServer

@Suite("JWKSCache: fetching, caching and rate-limited refresh")
struct JWKSCacheTests {
    let issuer: TestIssuer

    init() async throws {
        self.issuer = try await TestIssuer.make()
    }

    @Test("keys are fetched once and then served from the cache")
    func cachesKeys() async throws {
        let fetcher = FakeJWKSFetcher(self.issuer.jwks())
        let verifier = makeVerifier(fetcher: fetcher)
        for _ in 0..<5 {
            _ = try await verifier.verify(try self.issuer.token())
            _ = try await verifier.verify(try self.issuer.rsaToken())
        }
        #expect(await fetcher.fetchCount == 1)
        #expect(await verifier.keys.knownKeyIDs == ["ec-1", "rsa-1"])
    }

    @Test("an unknown kid refetches at most once per interval, so garbage kids cannot hammer the issuer")
    func unknownKidRateLimited() async throws {
        let fetcher = FakeJWKSFetcher(self.issuer.jwks())
        let keys = JWKSCache(fetcher: fetcher, configuration: .init(minimumRefreshInterval: .seconds(30)))
        let start = TestIssuer.now
        _ = try await makeVerifier(keys: keys, now: start).verify(try self.issuer.token())
        #expect(await fetcher.fetchCount == 1)

        // Within the interval of the first fetch: no refetch.
        let unknown = try self.issuer.token(kid: "no-such-key")
        let early = makeVerifier(keys: keys, now: start.addingTimeInterval(10))
        #expect(await rejection { try await early.verify(unknown) } == .unknownKey)
        #expect(await fetcher.fetchCount == 1)

        // After it: one refetch.
        let later = makeVerifier(keys: keys, now: start.addingTimeInterval(40))
        #expect(await rejection { try await later.verify(unknown) } == .unknownKey)
        #expect(await fetcher.fetchCount == 2)

        // More garbage kids within the new interval do not reach the issuer.
        let stillLater = makeVerifier(keys: keys, now: start.addingTimeInterval(69))
        for index in 0..<20 {
            let garbage = try self.issuer.token(kid: "garbage-\(index)")
            #expect(await rejection { try await later.verify(garbage) } == .unknownKey)
            #expect(await rejection { try await stillLater.verify(garbage) } == .unknownKey)
        }
        #expect(await fetcher.fetchCount == 2)
        // Known keys keep working meanwhile, without fetching.
        _ = try await stillLater.verify(try self.issuer.rsaToken())
        #expect(await fetcher.fetchCount == 2)

        let afterInterval = makeVerifier(keys: keys, now: start.addingTimeInterval(71))
        #expect(await rejection { try await afterInterval.verify(unknown) } == .unknownKey)
        #expect(await fetcher.fetchCount == 3)
    }

    @Test("a rotated-in key is picked up by the refetch an unknown kid triggers")
    func keyRotation() async throws {
        let fetcher = FakeJWKSFetcher(self.issuer.jwks([self.issuer.ecJWK()]))
        let verifier = makeVerifier(fetcher: fetcher)
        _ = try await verifier.verify(try self.issuer.token())

        await fetcher.setDocument(self.issuer.jwks([self.issuer.ecJWK(), self.issuer.ecJWK(kid: "ec-2", key: self.issuer.secondECKey)]))
        let rotated = try self.issuer.token(kid: "ec-2", signer: self.issuer.secondECSigner)
        // Right after the first fetch the unknown kid is not refetched…
        #expect(await rejection { try await verifier.verify(rotated) } == .unknownKey)
        #expect(await fetcher.fetchCount == 1)
        // …but once the minimum interval has passed it is.
        let later = makeVerifier(keys: verifier.keys, now: TestIssuer.now.addingTimeInterval(31))
        let token = try await later.verify(rotated)
        #expect(token.subject == "alice")
        #expect(await fetcher.fetchCount == 2)
    }

    @Test("concurrent callers share one in-flight fetch")
    func sharedFetch() async throws {
        let fetcher = FakeJWKSFetcher(self.issuer.jwks())
        await fetcher.setDelay(.milliseconds(200))
        let verifier = makeVerifier(fetcher: fetcher)
        let token = try self.issuer.token()
        let subjects = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<25 {
                group.addTask { try await verifier.verify(token).subject }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(subjects.count == 25)
        #expect(subjects.allSatisfy { $0 == "alice" })
        #expect(await fetcher.fetchCount == 1)
    }

    @Test("when no key set can be fetched the error says so, and retries are rate limited")
    func fetchFailure() async throws {
        let fetcher = FakeJWKSFetcher(self.issuer.jwks())
        await fetcher.setFailure(FetchFailed())
        let keys = JWKSCache(fetcher: fetcher)
        let token = try self.issuer.token()
        let verifier = makeVerifier(keys: keys, now: TestIssuer.now)
        #expect(await rejection { try await verifier.verify(token) } == .keySetUnavailable)
        #expect(await rejection { try await verifier.verify(token) } == .keySetUnavailable)
        #expect(await fetcher.fetchCount == 1)

        await fetcher.setFailure(nil)
        let later = makeVerifier(keys: keys, now: TestIssuer.now.addingTimeInterval(30))
        #expect(try await later.verify(token).subject == "alice")
        #expect(await fetcher.fetchCount == 2)
    }

    @Test("refresh() reports a fetch error and a malformed key set")
    func explicitRefresh() async throws {
        let fetcher = FakeJWKSFetcher(Data("not json".utf8))
        let keys = JWKSCache(fetcher: fetcher)
        await #expect(throws: JWKSFetchError.self) { try await keys.refresh() }
        await fetcher.setDocument(Data(#"{"keys": 5}"#.utf8))
        await #expect(throws: JWKSFetchError.self) { try await keys.refresh() }
        await fetcher.setFailure(FetchFailed())
        await #expect(throws: FetchFailed.self) { try await keys.refresh() }
        await fetcher.setFailure(nil)
        await fetcher.setDocument(self.issuer.jwks())
        try await keys.refresh()
        #expect(await keys.knownKeyIDs == ["ec-1", "rsa-1"])
        #expect(await fetcher.fetchCount == 4)
    }

    @Test("old keys are refetched after maximumKeyAge; a removed key stops working")
    func maximumKeyAge() async throws {
        let fetcher = FakeJWKSFetcher(self.issuer.jwks())
        let keys = JWKSCache(fetcher: fetcher, configuration: .init(maximumKeyAge: .seconds(600)))
        let token = try self.issuer.rsaToken { $0["exp"] = .number(TestIssuer.now.timeIntervalSince1970 + 7200) }
        _ = try await makeVerifier(keys: keys, now: TestIssuer.now).verify(token)

        await fetcher.setDocument(self.issuer.jwks([self.issuer.ecJWK()]))
        _ = try await makeVerifier(keys: keys, now: TestIssuer.now.addingTimeInterval(599)).verify(token)
        #expect(await fetcher.fetchCount == 1)

        let expiredKeys = makeVerifier(keys: keys, now: TestIssuer.now.addingTimeInterval(601))
        #expect(await rejection { try await expiredKeys.verify(token) } == .unknownKey)
        #expect(await fetcher.fetchCount == 2)
    }

    @Test("if a refresh of old keys fails, the old keys stay in use")
    func staleWhileError() async throws {
        let fetcher = FakeJWKSFetcher(self.issuer.jwks())
        let keys = JWKSCache(fetcher: fetcher, configuration: .init(maximumKeyAge: .seconds(600)))
        let token = try self.issuer.token { $0["exp"] = .number(TestIssuer.now.timeIntervalSince1970 + 7200) }
        _ = try await makeVerifier(keys: keys, now: TestIssuer.now).verify(token)
        await fetcher.setFailure(FetchFailed())
        let later = makeVerifier(keys: keys, now: TestIssuer.now.addingTimeInterval(700))
        #expect(try await later.verify(token).subject == "alice")
        #expect(await fetcher.fetchCount == 2)
    }

    @Test("unusable entries are skipped without discarding the usable keys")
    func lenientKeySet() async throws {
        var encryptionKey = self.issuer.ecJWK(kid: "enc-1")
        encryptionKey["use"] = "enc"
        var noKid = self.issuer.ecJWK()
        noKid["kid"] = nil
        var privateKey = self.issuer.ecJWK(kid: "leaked")
        privateKey["d"] = "AAAA"
        var verifyOnly = self.issuer.ecJWK(kid: "ops-sign-only")
        verifyOnly["key_ops"] = ["sign"]
        let wrongCurve = self.issuer.ecJWK(kid: "p384", alg: "ES384")
        let document = self.issuer.jwks(entries: [
            ["kty": "oct", "k": "c2VjcmV0", "kid": "hmac", "alg": "HS256"],
            ["kty": "OKP", "crv": "X25519", "x": "AAAA", "kid": "x25519"],
            ["kty": "RSA", "kid": "oaep", "alg": "RSA-OAEP", "n": "AQAB", "e": "AQAB"],
            ["kty": "EC", "crv": "P-256", "kid": "not-on-curve", "x": "AAAA", "y": "AAAA"],
            "just a string",
            .object(encryptionKey), .object(noKid), .object(privateKey), .object(verifyOnly), .object(wrongCurve),
            .object(self.issuer.ecJWK()), .object(self.issuer.rsaJWK()),
        ])
        let fetcher = FakeJWKSFetcher(document)
        let verifier = makeVerifier(fetcher: fetcher)
        _ = try await verifier.verify(try self.issuer.token())
        _ = try await verifier.verify(try self.issuer.rsaToken())
        #expect(await verifier.keys.knownKeyIDs == ["ec-1", "rsa-1"])
        let underEncryptionKid = try self.issuer.token(kid: "enc-1")
        #expect(await rejection { try await verifier.verify(underEncryptionKid) } == .unknownKey)
    }
}

extension TestIssuer {
    /// A key set with arbitrary entries, including ones that are not objects.
    func jwks(entries: [ClaimValue]) -> Data {
        try! JSONEncoder().encode(["keys": ClaimValue.array(entries)])
    }
}
