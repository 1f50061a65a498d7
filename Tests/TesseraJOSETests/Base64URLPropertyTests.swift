import Foundation
import TesseraJOSE
import TesseraTesting
import Testing

/// Properties of the one strict base64url decoder (RFC 7515 §2, RFC 4648 §3.5) and of the compact-JWS
/// form check in front of jwt-kit. Seeded and deterministic.
@Suite("Strict base64url and compact JWS form (properties)")
struct Base64URLPropertyTests {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    @Test("encode is Foundation's base64 with the URL alphabet and no padding (RFC 4648 §5), appended after what was there")
    func encodeMatchesFoundation() {
        var random = SeededRandom(seed: 0x4648)
        for _ in 0..<5_000 {
            let bytes = random.bytes(maxCount: 100)
            let expected = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == expected)
            let prefix = random.bytes(maxCount: 5)
            var out = prefix
            Base64URL.encode(bytes, into: &out)
            #expect(out == prefix + Array(expected.utf8))
        }
    }

    @Test("decode(encode(x)) == x; padded, non-canonical last character and 4n+1 lengths are refused")
    func roundTripAndVariants() {
        var random = SeededRandom(seed: 0x7515)
        for _ in 0..<5_000 {
            let bytes = random.bytes(maxCount: 70)
            let encoded = Array(Base64URL.encode(bytes).utf8)
            #expect(Base64URL.decode(encoded) == bytes)
            #expect(Base64URL.isCanonical(encoded))
            #expect(!encoded.contains(UInt8(ascii: "=")))
            // Any padding, however much.
            let padded = encoded + Array(repeating: UInt8(ascii: "="), count: random.int(in: 1...3))
            #expect(Base64URL.decode(padded) == nil)
            #expect(!Base64URL.isCanonical(padded))
            // Every sibling of the last character that only changes pad bits.
            if let last = encoded.last, encoded.count % 4 != 0, let value = Self.alphabet.firstIndex(of: last) {
                let padBits = encoded.count % 4 == 2 ? 0b1111 : 0b11
                for bits in 1...padBits {
                    let sibling = Array(encoded.dropLast()) + [Self.alphabet[value | bits]]
                    #expect(Base64URL.decode(sibling) == nil, "\(String(decoding: sibling, as: UTF8.self))")
                    #expect(!Base64URL.isCanonical(sibling))
                }
            }
            // One more character makes an impossible length (4n+1) when the length was 4n.
            if encoded.count % 4 == 0 {
                let longer = encoded + [random.pick(Self.alphabet)]
                #expect(Base64URL.decode(longer) == nil)
                #expect(!Base64URL.isCanonical(longer))
            }
            // A character outside [A-Za-z0-9_-] anywhere.
            if !encoded.isEmpty {
                var foreign = encoded
                foreign[random.int(in: 0...(foreign.count - 1))] = random.pick(Array("+/=. \n%\0é".utf8))
                #expect(Base64URL.decode(foreign) == nil)
                #expect(!Base64URL.isCanonical(foreign))
            }
        }
    }

    @Test("over random strings, isCanonical agrees with decode, and what decodes re-encodes to itself")
    func canonicalAgreesWithDecode() {
        var random = SeededRandom(seed: 0x4648)
        let pool = Self.alphabet + Array("=+/.".utf8)
        for _ in 0..<10_000 {
            let input = (0..<random.int(in: 0...24)).map { _ in random.pick(pool) }
            let decoded = Base64URL.decode(input)
            #expect(Base64URL.isCanonical(input) == (decoded != nil), "\(String(decoding: input, as: UTF8.self))")
            if let decoded { #expect(Array(Base64URL.encode(decoded).utf8) == input) }
        }
    }

    @Test("RFC 7515 §7.1: the compact form is three non-empty canonical segments; every variant spelling is refused")
    func compactForm() {
        var random = SeededRandom(seed: 0x3515)
        for _ in 0..<2_000 {
            let token = (0..<3).map { _ in Base64URL.encode(random.bytes(maxCount: 50) + [random.byte()]) }.joined(separator: ".")
            #expect(JWSCompactForm.isCanonical(token))
            for variant in TokenSpellings.variants(of: token) {
                #expect(!JWSCompactForm.isCanonical(variant), "\(variant)")
            }
            let parts = token.split(separator: ".").map(String.init)
            #expect(!JWSCompactForm.isCanonical(parts[0] + "." + parts[1]))
            #expect(!JWSCompactForm.isCanonical(token + "." + parts[2]))
            #expect(!JWSCompactForm.isCanonical(parts[0] + ".." + parts[2]))
            #expect(!JWSCompactForm.isCanonical(parts[0] + "=." + parts[1] + "." + parts[2]))
        }
    }

    @Test("the kid is read from a canonical header only")
    func keyID() {
        let header = Base64URL.encode(Array(#"{"alg":"ES256","kid":"k-1"}"#.utf8))
        #expect(JWSCompactForm.keyID(header + ".e30.c2ln") == "k-1")
        #expect(JWSCompactForm.keyID(header + "=.e30.c2ln") == nil)
    }
}
