import Foundation
import JWTKit
import Testing

import TesseraCore
import TesseraResourceServer
import TesseraJOSE

@Suite("AccessTokenVerifier (RFC 9068 §4)")
struct AccessTokenVerifierTests {
    let issuer: TestIssuer
    let fetcher: FakeJWKSFetcher
    let verifier: AccessTokenVerifier

    init() async throws {
        self.issuer = try await TestIssuer.make()
        self.fetcher = FakeJWKSFetcher(self.issuer.jwks())
        self.verifier = makeVerifier(fetcher: self.fetcher)
    }

    // MARK: Accepted tokens

    @Test("a valid ES256 token is accepted and its claims are typed")
    func validES256() async throws {
        let token = try await self.verifier.verify(try self.issuer.token())
        #expect(token.issuer == TestIssuer.issuer)
        #expect(token.subject == "alice")
        #expect(token.clientID == "web-app")
        #expect(token.scopes == ["read", "profile"])
        #expect(token.scope == "profile read")
        #expect(token.audience == [TestIssuer.audience])
        #expect(token.expiresAt == TestIssuer.now.addingTimeInterval(300))
        #expect(token.issuedAt == TestIssuer.now.addingTimeInterval(-10))
        #expect(token.id == "token-1")
        #expect(token.claims["sub"] == "alice")
        #expect(token.hasScope("read") && !token.hasScope("write"))
        #expect(await self.fetcher.fetchCount == 1)
    }

    @Test("a valid RS256 token is accepted")
    func validRS256() async throws {
        let token = try await self.verifier.verify(try self.issuer.rsaToken())
        #expect(token.subject == "alice")
        #expect(token.scopes == ["read", "profile"])
    }

    @Test("typ is compared case-insensitively and may carry the application/ prefix", arguments: ["at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT"])
    func typVariants(typ: String) async throws {
        let token = try await self.verifier.verify(try self.issuer.token(typ: typ))
        #expect(token.subject == "alice")
    }

    @Test("a string aud, custom claims and a missing scope are accepted")
    func claimShapes() async throws {
        let token = try await self.verifier.verify(
            try self.issuer.token {
                $0["aud"] = .string(TestIssuer.audience)
                $0["scope"] = nil
                $0["roles"] = ["admin"]
            }
        )
        #expect(token.audience == [TestIssuer.audience])
        #expect(token.scopes.isEmpty)
        #expect(token.claims["roles"] == ["admin"])
    }

    @Test("scope is split on spaces, ignoring repeated spaces")
    func scopeParsing() async throws {
        let token = try await self.verifier.verify(try self.issuer.token { $0["scope"] = "  read   write " })
        #expect(token.scopes == ["read", "write"])
    }

    @Test("without a configured audience, aud is not checked")
    func noAudienceConfigured() async throws {
        let verifier = makeVerifier(fetcher: self.fetcher, audience: nil)
        let token = try await verifier.verify(try self.issuer.token { $0["aud"] = nil })
        #expect(token.audience.isEmpty)
        _ = try await verifier.verify(try self.issuer.token { $0["aud"] = "https://other.test" })
    }

    // MARK: Header checks (RFC 9068 §4, RFC 8725 §3.1)

    @Test("a token whose typ is not at+jwt is refused (e.g. an ID token)", arguments: ["JWT", "jwt", "at+jwt2", "", "application/jwt"])
    func wrongTyp(typ: String) async throws {
        let token = try self.issuer.token(typ: typ)
        #expect(await rejection { try await self.verifier.verify(token) } == .invalidType)
    }

    @Test("a token without typ is refused")
    func missingTyp() async throws {
        let token = try self.issuer.token(typ: nil)
        #expect(await rejection { try await self.verifier.verify(token) } == .invalidType)
    }

    @Test("alg none is refused, with or without a signature, and no keys are fetched")
    func algNone() async throws {
        let header = base64URL(Array(#"{"alg":"none","typ":"at+jwt","kid":"ec-1"}"#.utf8))
        let payload = base64URL(try JSONEncoder().encode(TestIssuer.claims()))
        #expect(await rejection { try await self.verifier.verify("\(header).\(payload).") } == .malformed)
        #expect(await rejection { try await self.verifier.verify("\(header).\(payload).AAAA") } == .algorithmNotAllowed)
        let lowercase = base64URL(Array(#"{"alg":"None","typ":"at+jwt","kid":"ec-1"}"#.utf8))
        #expect(await rejection { try await self.verifier.verify("\(lowercase).\(payload).AAAA") } == .algorithmNotAllowed)
        #expect(await self.fetcher.fetchCount == 0)
    }

    @Test("HS256 signed with the RSA public key as the secret (algorithm confusion) is refused")
    func hs256Confusion() async throws {
        let collection = JWTKeyCollection()
        await collection.add(hmac: HMACKey(from: self.issuer.rsaKey.publicKey.pemRepresentation), digestAlgorithm: .sha256, kid: "h")
        let hmac = try await collection.getKey(for: "h")
        let token = try self.issuer.token(alg: "HS256", kid: "rsa-1", signer: hmac)
        #expect(await rejection { try await self.verifier.verify(token) } == .algorithmNotAllowed)
        #expect(await self.fetcher.fetchCount == 0)
    }

    @Test("an algorithm outside the allow-list is refused even if the key could verify it")
    func algorithmOutsideAllowList() async throws {
        let verifier = makeVerifier(fetcher: self.fetcher, allowedAlgorithms: [.rs256])
        #expect(await rejection { try await verifier.verify(try self.issuer.token()) } == .algorithmNotAllowed)
        _ = try await verifier.verify(try self.issuer.rsaToken())
    }

    @Test("a kid used with an algorithm its key does not support is an unknown key")
    func algorithmKeyMismatch() async throws {
        // RS256 under the EC key's kid, and ES256 under the RSA key's kid.
        let rsaUnderECKid = try self.issuer.token(alg: "RS256", kid: "ec-1", signer: self.issuer.rsaSigner)
        #expect(await rejection { try await self.verifier.verify(rsaUnderECKid) } == .unknownKey)
        let ecUnderRSAKid = try self.issuer.token(alg: "ES256", kid: "rsa-1")
        #expect(await rejection { try await self.verifier.verify(ecUnderRSAKid) } == .unknownKey)
    }

    @Test("a JWK's own alg restricts it: an RSA key published for RS256 does not verify PS256")
    func jwkAlgRestricts() async throws {
        let verifier = makeVerifier(fetcher: self.fetcher, allowedAlgorithms: [.rs256, .ps256])
        let collection = JWTKeyCollection()
        await collection.add(pss: self.issuer.rsaKey, digestAlgorithm: .sha256, kid: "pss")
        let pss = try await collection.getKey(for: "pss")
        let token = try self.issuer.token(alg: "PS256", kid: "rsa-1", signer: pss)
        #expect(await rejection { try await verifier.verify(token) } == .unknownKey)

        // The same key published without alg may be used with any RSA algorithm allowed.
        let open = FakeJWKSFetcher(self.issuer.jwks([self.issuer.rsaJWK(alg: nil)]))
        let openVerifier = makeVerifier(fetcher: open, allowedAlgorithms: [.rs256, .ps256])
        _ = try await openVerifier.verify(token)
        _ = try await openVerifier.verify(try self.issuer.rsaToken())
    }

    @Test("a token without kid is refused without fetching keys")
    func missingKid() async throws {
        let token = try self.issuer.token(kid: nil)
        #expect(await rejection { try await self.verifier.verify(token) } == .unknownKey)
        #expect(await self.fetcher.fetchCount == 0)
    }

    @Test("a critical header extension is refused")
    func critHeader() async throws {
        let token = try self.issuer.token(extraHeader: ["crit": ["exp"], "exp": 1])
        #expect(await rejection { try await self.verifier.verify(token) } == .unsupportedCriticalHeader)
    }

    // MARK: Signature

    @Test("a tampered signature is refused")
    func tamperedSignature() async throws {
        let token = try self.issuer.token()
        var parts = token.split(separator: ".").map(String.init)
        var signature = Array(parts[2])
        signature[10] = signature[10] == "A" ? "B" : "A"
        parts[2] = String(signature)
        #expect(await rejection { try await self.verifier.verify(parts.joined(separator: ".")) } == .invalidSignature)
    }

    @Test("a tampered payload is refused")
    func tamperedPayload() async throws {
        let token = try self.issuer.token()
        let granted = try self.issuer.token { $0["scope"] = "read write admin" }
        var parts = token.split(separator: ".").map(String.init)
        parts[1] = String(granted.split(separator: ".")[1])
        #expect(await rejection { try await self.verifier.verify(parts.joined(separator: ".")) } == .invalidSignature)
    }

    @Test("a signature by another key with the right kid is refused")
    func wrongKey() async throws {
        let token = try self.issuer.token(kid: "ec-1", signer: self.issuer.secondECSigner)
        #expect(await rejection { try await self.verifier.verify(token) } == .invalidSignature)
    }

    @Test("a signature of the wrong length is refused", arguments: [-1, 1, -32])
    func wrongLengthSignature(delta: Int) async throws {
        for token in [try self.issuer.token(), try self.issuer.rsaToken()] {
            let parts = token.split(separator: ".").map(String.init)
            var signature = try #require(Base64URL.decode(Array(parts[2].utf8)))
            if delta < 0 { signature.removeLast(-delta) } else { signature.append(contentsOf: repeatElement(0, count: delta)) }
            let changed = parts[0] + "." + parts[1] + "." + base64URL(signature)
            #expect(await rejection { try await self.verifier.verify(changed) } == .invalidSignature)
        }
    }

    // MARK: Claims

    @Test("an expired token is refused")
    func expired() async throws {
        let token = try self.issuer.token { $0["exp"] = .number(TestIssuer.now.timeIntervalSince1970 - 60) }
        #expect(await rejection { try await self.verifier.verify(token) } == .expired)
    }

    @Test("exp is allowed the configured leeway, and no more")
    func expiryLeeway() async throws {
        let token = try self.issuer.token { $0["exp"] = .number(TestIssuer.now.timeIntervalSince1970 - 5) }
        _ = try await self.verifier.verify(token)
        let strict = makeVerifier(fetcher: self.fetcher, leeway: .zero)
        #expect(await rejection { try await strict.verify(token) } == .expired)
        let exactlyNow = try self.issuer.token { $0["exp"] = .number(TestIssuer.now.timeIntervalSince1970) }
        #expect(await rejection { try await strict.verify(exactlyNow) } == .expired)
    }

    @Test("a token issued in the future, or not valid yet, is refused")
    func futureToken() async throws {
        let future = try self.issuer.token { $0["iat"] = .number(TestIssuer.now.timeIntervalSince1970 + 3600) }
        #expect(await rejection { try await self.verifier.verify(future) } == .notYetValid)
        let notBefore = try self.issuer.token { $0["nbf"] = .number(TestIssuer.now.timeIntervalSince1970 + 60) }
        #expect(await rejection { try await self.verifier.verify(notBefore) } == .notYetValid)
        let slightSkew = try self.issuer.token { $0["iat"] = .number(TestIssuer.now.timeIntervalSince1970 + 5) }
        _ = try await self.verifier.verify(slightSkew)
    }

    @Test("iss must equal the configured issuer exactly", arguments: ["https://evil.test", "https://issuer.test/", "HTTPS://ISSUER.TEST", "https://issuer.test.evil"])
    func wrongIssuer(iss: String) async throws {
        let token = try self.issuer.token { $0["iss"] = .string(iss) }
        #expect(await rejection { try await self.verifier.verify(token) } == .issuerMismatch)
    }

    @Test("aud must contain the configured audience")
    func wrongAudience() async throws {
        let other = try self.issuer.token { $0["aud"] = ["https://other.test"] }
        #expect(await rejection { try await self.verifier.verify(other) } == .audienceMismatch)
        let missing = try self.issuer.token { $0["aud"] = nil }
        #expect(await rejection { try await self.verifier.verify(missing) } == .audienceMismatch)
        let several = try self.issuer.token { $0["aud"] = ["https://other.test", .string(TestIssuer.audience)] }
        #expect(try await self.verifier.verify(several).audience.count == 2)
    }

    @Test("required claims must be present with the right type", arguments: ["iss", "sub", "client_id", "jti", "exp", "iat"])
    func missingClaim(name: String) async throws {
        let missing = try self.issuer.token { $0[name] = nil }
        #expect(await rejection { try await self.verifier.verify(missing) } == .invalidClaims)
        let wrongType = try self.issuer.token { $0[name] = name == "exp" || name == "iat" ? "soon" : 42 }
        #expect(await rejection { try await self.verifier.verify(wrongType) } == .invalidClaims)
    }

    @Test("scope and aud of the wrong type are refused")
    func badScopeAndAudience() async throws {
        let scope = try self.issuer.token { $0["scope"] = ["read"] }
        #expect(await rejection { try await self.verifier.verify(scope) } == .invalidClaims)
        let audience = try self.issuer.token { $0["aud"] = [1, 2] }
        #expect(await rejection { try await self.verifier.verify(audience) } == .invalidClaims)
    }

    // MARK: Garbage

    static let garbage: [String] = [
        "", " ", "abc", "a.b", "a.b.c", "a.b.c.d", "....", "..", "eyJ.eyJ.sig",
        "ünïcødé.ünïcødé.ünïcødé", "W10.e30.AAAA", "bnVsbA.e30.AAAA",
        "eyJhbGciOiJFUzI1NiJ9=.e30.AAAA", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA+/", String(repeating: "A", count: 20_000),
        "eyJhbGciOjEsInR5cCI6ImF0K2p3dCJ9.e30.AAAA",
    ]

    @Test("garbage never verifies, never crashes and fetches no keys", arguments: Self.garbage)
    func garbageStrings(token: String) async throws {
        let code = await rejection { try await self.verifier.verify(token) }
        #expect(code == .malformed)
        #expect(await self.fetcher.fetchCount == 0)
    }

    @Test("an empty JSON header is refused for its missing typ, before any key lookup")
    func emptyHeader() async throws {
        #expect(await rejection { try await self.verifier.verify("e30.e30.e30") } == .invalidType)
        #expect(await self.fetcher.fetchCount == 0)
    }

    @Test("a payload that is not a JSON object is refused after the signature check")
    func nonObjectPayload() async throws {
        let header: [String: ClaimValue] = ["alg": "ES256", "typ": "at+jwt", "kid": "ec-1"]
        let input = try base64URL(JSONEncoder().encode(header)) + "." + base64URL(Array("[1,2]".utf8))
        let token = input + "." + base64URL(try self.issuer.ecSigner.sign(Array(input.utf8)))
        #expect(await rejection { try await self.verifier.verify(token) } == .malformed)
    }

    // MARK: Base64url

    @Test("base64url decoding is strict: no padding, no other alphabet, no stray bits")
    func base64URLStrictness() {
        #expect(Base64URL.decode(Array("AQID".utf8)) == [1, 2, 3])
        #expect(Base64URL.decode(Array("AQI".utf8)) == [1, 2])
        #expect(Base64URL.decode(Array("AQ".utf8)) == [1])
        #expect(Base64URL.decode(Array("-_8".utf8)) == [0xFB, 0xFF])
        #expect(Base64URL.decode(Array("AQ==".utf8)) == nil)
        #expect(Base64URL.decode(Array("+/8".utf8)) == nil)
        #expect(Base64URL.decode(Array("AR".utf8)) == nil)  // non-zero trailing bits
        #expect(Base64URL.decode(Array("AQIDB".utf8)) == nil)  // impossible length
        #expect(Base64URL.decode(Array("".utf8)) == [])
    }
}
