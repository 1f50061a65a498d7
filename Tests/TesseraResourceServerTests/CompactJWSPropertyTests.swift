import Foundation
import JWTKit
import TesseraTesting
import Testing

import TesseraCore
import TesseraResourceServer
import TesseraJOSE

/// Property tests for JWT parsing and verification (RFC 7515 compact serialization, RFC 9068): random
/// bytes and segments never crash and never verify; no single-bit change of a valid token verifies.
/// Seeded and deterministic.
@Suite("JWT parsing (properties)")
struct CompactJWSPropertyTests {
    let issuer: TestIssuer
    let verifier: AccessTokenVerifier

    init() async throws {
        issuer = try await TestIssuer.make()
        verifier = makeVerifier(fetcher: FakeJWKSFetcher(issuer.jwks()))
    }

    @Test("random strings and random three-segment tokens are refused, never crash")
    func randomTokens() async throws {
        var random = SeededRandom(seed: 0x1A7)
        let header = base64URL(Data(#"{"alg":"ES256","kid":"ec-1","typ":"at+jwt"}"#.utf8))
        for iteration in 0..<3_000 {
            let token: String
            switch iteration % 4 {
            case 0: token = String(decoding: random.bytes(maxCount: 200), as: UTF8.self)
            case 1: token = [random.base64URL(maxLength: 60), random.base64URL(maxLength: 120), random.base64URL(maxLength: 90)].joined(separator: ".")
            case 2: token = [header, base64URL(random.bytes(maxCount: 80)), base64URL(random.bytes(maxCount: 64))].joined(separator: ".")
            default: token = (0..<random.int(in: 0...5)).map { _ in random.base64URL(maxLength: 20) }.joined(separator: random.bool() ? "." : "..")
            }
            await #expect(throws: (any Error).self, "\(token)") { _ = try await verifier.verify(token) }
        }
    }

    @Test("base64url decoding accepts exactly the canonical encoding")
    func base64URLCanonical() {
        var random = SeededRandom(seed: 0xB64)
        for _ in 0..<5_000 {
            let bytes = random.bytes(maxCount: 40)
            let encoded = Base64URL.encode(bytes)
            #expect(Base64URL.decode(Array(encoded.utf8)) == bytes)
            #expect(Base64URL.decode(Array((encoded + "=").utf8)) == nil)
            let noise = Array(random.base64URL(maxLength: 30).utf8) + (random.bool() ? [random.bytes(maxCount: 1).first ?? 0x2B] : [])
            if let decoded = Base64URL.decode(noise) {
                #expect(Base64URL.encode(decoded) == String(decoding: noise, as: UTF8.self))
            }
        }
    }

    @Test("no single-bit flip of a valid ES256 or RS256 token verifies", arguments: ["ES256", "RS256"])
    func bitFlips(alg: String) async throws {
        var random = SeededRandom(seed: alg == "ES256" ? 0xE5256 : 0x45256)
        let token = alg == "ES256" ? try issuer.token() : try issuer.rsaToken()
        _ = try await verifier.verify(token)  // the original is valid
        var bytes = Array(token.utf8)
        for _ in 0..<1_500 {
            let index = random.int(in: 0...(bytes.count - 1))
            let bit = UInt8(1) << UInt8(random.int(in: 0...7))
            bytes[index] ^= bit
            let mutated = String(decoding: bytes, as: UTF8.self)
            await #expect(throws: (any Error).self, "flip \(bit) at \(index)") { _ = try await verifier.verify(mutated) }
            bytes[index] ^= bit
        }
    }

    @Test("RFC 7515 §2: padded or non-canonical spellings of a valid token never verify", arguments: ["ES256", "RS256"])
    func spellings(alg: String) async throws {
        var random = SeededRandom(seed: alg == "ES256" ? 0x7515E : 0x7515F)
        for _ in 0..<20 {
            let subject = ClaimValue.string("s-\(random.next())")  // varies every segment's last character
            let token = alg == "ES256" ? try issuer.token { $0["sub"] = subject } : try issuer.rsaToken { $0["sub"] = subject }
            _ = try await verifier.verify(token)  // the canonical spelling is valid
            let variants = TokenSpellings.variants(of: token)
            #expect(variants.count == 2, "ES256 (64 bytes) and RS256 (256 bytes) signatures leave pad bits")
            for variant in variants {
                await #expect(throws: TokenVerificationError.self, "\(variant)") { _ = try await verifier.verify(variant) }
            }
            // A padded or non-canonical header or payload segment as well.
            let parts = token.split(separator: ".").map(String.init)
            let segment = random.int(in: 0...1)
            var changed = parts
            changed[segment] = random.bool() ? parts[segment] + "=" : (TokenSpellings.nonCanonicalLastCharacter(parts[segment]) ?? parts[segment] + "==")
            await #expect(throws: TokenVerificationError.self) { _ = try await verifier.verify(changed.joined(separator: ".")) }
        }
    }

    @Test("a valid token's segments recombined or truncated never verify")
    func recombined() async throws {
        var random = SeededRandom(seed: 0x5E6)
        let first = try issuer.token()
        let second = try issuer.token { $0["sub"] = "mallory" }
        let a = first.split(separator: ".").map(String.init)
        let b = second.split(separator: ".").map(String.init)
        #expect(a.count == 3 && b.count == 3)
        for _ in 0..<500 {
            let mixed = [random.bool() ? a[0] : b[0], a[1], b[2]].joined(separator: ".")
            await #expect(throws: (any Error).self) { _ = try await verifier.verify(mixed) }
            let cut = random.int(in: 0...(first.utf8.count - 2))
            let truncated = String(first.utf8.prefix(cut))!
            await #expect(throws: (any Error).self) { _ = try await verifier.verify(truncated) }
        }
    }
}

extension SeededRandom {
    mutating func base64URL(maxLength: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        return String((0..<int(in: 0...maxLength)).map { _ in alphabet[int(in: 0...(alphabet.count - 1))] })
    }
}
