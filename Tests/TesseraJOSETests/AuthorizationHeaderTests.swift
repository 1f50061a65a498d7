import Foundation
import TesseraJOSE
import TesseraTesting
import Testing

/// The shared `Authorization` parsers on plain header values: Bearer (RFC 6750 §2.1) and Basic (RFC 7617 §2 with
/// RFC 6749 §2.3.1's form-encoded id and secret).
@Suite("Authorization header parsing")
struct AuthorizationHeaderTests {
    static func basic(_ userPass: some Sequence<UInt8>) -> String { "Basic " + Data(userPass).base64EncodedString() }

    @Test("Bearer: no header, other schemes, case-insensitive scheme, spaces, empty and non-b64token credentials")
    func bearer() {
        #expect(BearerCredentials.parse(nil as String?) == .none)
        #expect(BearerCredentials.parse("Basic abc") == .none)
        #expect(BearerCredentials.parse("Bearerabc") == .none)
        #expect(BearerCredentials.parse("Bearer") == .empty)
        #expect(BearerCredentials.parse("") == .none)
        #expect(BearerCredentials.parse("Bearer   \t ") == .empty)
        #expect(BearerCredentials.parse("bEaReR abc") == .token("abc"))
        #expect(BearerCredentials.parse("  Bearer \t  a.b-c_d~e+f/g==  ") == .token("a.b-c_d~e+f/g=="))
        #expect(BearerCredentials.parse("Bearer a b") == .malformed)
        #expect(BearerCredentials.parse("Bearer ===") == .malformed)
        #expect(BearerCredentials.parse("Bearer a=b") == .malformed)
        #expect(BearerCredentials.parse("Bearer caf\u{E9}") == .malformed)
        #expect(BearerCredentials.parse(["Bearer a", "Bearer a"]) == .multipleHeaders)
    }

    @Test("Basic: case-insensitive scheme, spaces around the credentials, other schemes and absence")
    func basicScheme() {
        let encoded = Data("client:secret".utf8).base64EncodedString()
        #expect(BasicAuthorization(header: nil) == .absent)
        #expect(BasicAuthorization(header: "Bearer abc") == .otherScheme)
        #expect(BasicAuthorization(header: "") == .otherScheme)
        for header in ["Basic " + encoded, "basic " + encoded, "BASIC   " + encoded + " \t", "BaSiC \t" + encoded] {
            #expect(BasicAuthorization(header: header) == .credentials(id: "client", secret: "secret"), "\(header)")
        }
        #expect(BasicAuthorization(header: "Basic " + encoded).clientID == "client")
        #expect(BasicAuthorization(header: "Bearer x").clientID == nil)
    }

    @Test("Basic: empty, not base64, no colon, empty id are malformed; an empty secret is allowed")
    func basicMalformed() {
        #expect(BasicAuthorization(header: "Basic") == .malformed)
        #expect(BasicAuthorization(header: "Basic    ") == .malformed)
        #expect(BasicAuthorization(header: "Basic ###") == .malformed)
        #expect(BasicAuthorization(header: Self.basic(Array("nocolon".utf8))) == .malformed)
        #expect(BasicAuthorization(header: Self.basic(Array(":secret".utf8))) == .malformed)
        #expect(BasicAuthorization(header: Self.basic(Array("id:".utf8))) == .credentials(id: "id", secret: ""))
        // Only the first colon separates: the secret may contain colons (RFC 7617 §2).
        #expect(BasicAuthorization(header: Self.basic(Array("id:a:b".utf8))) == .credentials(id: "id", secret: "a:b"))
    }

    @Test("Basic: percent-encoded and UTF-8 ids and secrets decode (RFC 6749 §2.3.1); non-UTF-8, bad escapes and NUL are malformed")
    func basicEncoding() {
        #expect(BasicAuthorization(header: Self.basic(Array("my%20client:p%3Ass+word%25".utf8)))
            == .credentials(id: "my client", secret: "p:ss word%"))
        #expect(BasicAuthorization(header: Self.basic(Array("caf%C3%A9:%E2%82%AC".utf8))) == .credentials(id: "café", secret: "€"))
        // Raw UTF-8 (RFC 7617 §2.1 charset="UTF-8") is accepted as is.
        #expect(BasicAuthorization(header: Self.basic(Array("café:€".utf8))) == .credentials(id: "café", secret: "€"))
        #expect(BasicAuthorization(header: Self.basic([0x63, 0xE9, 0x3A, 0x73])) == .malformed)  // Latin-1 "é": not UTF-8
        #expect(BasicAuthorization(header: Self.basic(Array("caf%E9:s".utf8))) == .malformed)  // percent-encoded Latin-1
        #expect(BasicAuthorization(header: Self.basic(Array("id:%zz".utf8))) == .malformed)
        #expect(BasicAuthorization(header: Self.basic(Array("id:%4".utf8))) == .malformed)
        #expect(BasicAuthorization(header: Self.basic(Array("id:a%00b".utf8))) == .malformed)
    }

    @Test("property: form-encoded random ids and secrets round-trip under any scheme case and spacing; random headers never crash")
    func roundTrip() {
        var random = SeededRandom(seed: 0x7617)
        for _ in 0..<3_000 {
            let id = String(decoding: random.bytes(maxCount: 24), as: UTF8.self) + "c"
            let secret = String(decoding: random.bytes(maxCount: 24), as: UTF8.self)
            let idNUL = id.unicodeScalars.contains { $0.value == 0 }
            let secretNUL = secret.unicodeScalars.contains { $0.value == 0 }
            let pair = Self.formEncode(id) + ":" + Self.formEncode(secret)
            let scheme = String("basic".map { random.bool() ? Character($0.uppercased()) : $0 })
            let space = String(repeating: " ", count: random.int(in: 1...3))
            let trailing = random.bool() ? "" : String(repeating: random.bool() ? " " : "\t", count: random.int(in: 1...2))
            let header = scheme + space + Data(pair.utf8).base64EncodedString() + trailing
            let parsed = BasicAuthorization(header: header)
            if idNUL || secretNUL {
                #expect(parsed == .malformed)
            } else {
                #expect(parsed == .credentials(id: id, secret: secret), "\(header)")
            }

            let noise = String(decoding: random.bytes(maxCount: 60), as: UTF8.self)
            let basicNoise = BasicAuthorization(header: noise)
            if case .credentials(let id, _) = basicNoise { #expect(!id.isEmpty) }
            let bearerNoise = BearerCredentials.parse("Bearer " + noise)
            if case .token(let token) = bearerNoise {
                #expect(!token.isEmpty && !token.contains(" ") && !token.hasPrefix("="))
            }
        }
    }

    /// `application/x-www-form-urlencoded` encoding of everything but unreserved characters.
    static func formEncode(_ string: String) -> String {
        string.utf8.map { byte in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                String(UnicodeScalar(byte))
            default:
                String(format: "%%%02X", byte)
            }
        }.joined()
    }
}
