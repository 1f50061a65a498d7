import Foundation
import NIOCore
import TesseraCore
import TesseraServer
import Testing

/// The hand-written token and introspection bodies must say exactly what `JSONEncoder` would.
@Suite("Token and introspection JSON bodies")
struct JSONWriterPropertyTests {
    /// A deterministic generator (SplitMix64), so a failure reproduces.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
        mutating func string() -> String {
            let alphabet: [Character] = Array("abcXYZ019-._~/+= \"\\\n\r\t\u{0}\u{1}\u{1F}\u{7F}é€😀")
            return String((0..<int(0...24)).map { _ in alphabet[int(0...(alphabet.count - 1))] })
        }
        mutating func maybe<T>(_ make: (inout Generator) -> T) -> T? { next() % 3 == 0 ? nil : make(&self) }
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    func parsed(_ data: Data) throws -> NSDictionary {
        try #require(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
    }

    func bytes(_ buffer: ByteBuffer) -> Data { Data(buffer.readableBytesView) }

    @Test("random token responses: same JSON as JSONEncoder")
    func tokenResponses() throws {
        var random = Generator(state: 20_261_124)
        for _ in 0..<2_000 {
            var response = TokenResponse(accessToken: random.string(), expiresIn: random.int(-5...100_000), refreshToken: random.maybe { $0.string() },
                                         scope: ["read"], idToken: random.maybe { $0.string() })
            response.scope = random.maybe { $0.string() }
            let ours = bytes(response.jsonBuffer)
            #expect(try parsed(ours) == parsed(try Self.encoder.encode(response)), "\(String(decoding: ours, as: UTF8.self))")
        }
    }

    @Test("random introspection responses: same JSON as JSONEncoder")
    func introspectionResponses() throws {
        var random = Generator(state: 7)
        for _ in 0..<2_000 {
            let response = IntrospectionResponse(active: random.next() % 2 == 0, scope: random.maybe { $0.string() }, clientID: random.maybe { $0.string() },
                                                 sub: random.maybe { $0.string() }, exp: random.maybe { $0.int(0...2_000_000_000) },
                                                 iat: random.maybe { $0.int(0...2_000_000_000) }, iss: random.maybe { $0.string() },
                                                 aud: random.maybe { g in (0..<g.int(0...3)).map { _ in g.string() } },
                                                 tokenType: random.maybe { $0.string() }, jti: random.maybe { $0.string() })
            let ours = bytes(response.jsonBuffer)
            #expect(try parsed(ours) == parsed(try Self.encoder.encode(response)), "\(String(decoding: ours, as: UTF8.self))")
        }
    }

    @Test("typical answers are byte-for-byte what JSONEncoder writes")
    func byteIdentical() throws {
        let token = TokenResponse(accessToken: "eyJ.a-b_c.d", expiresIn: 900, refreshToken: "r_1", scope: ["read", "write"], idToken: "eyJ.x.y")
        #expect(bytes(token.jsonBuffer) == (try Self.encoder.encode(token)))
        let introspection = IntrospectionResponse(active: true, scope: "read", clientID: "svc", sub: "u-1", exp: 1_800_000_900, iat: 1_800_000_000,
                                                  iss: "https://auth.test", aud: ["https://api.test/"], tokenType: "access_token", jti: "j-1")
        #expect(bytes(introspection.jsonBuffer) == (try Self.encoder.encode(introspection)))
        #expect(bytes(IntrospectionResponse.inactive.jsonBuffer) == (try Self.encoder.encode(IntrospectionResponse.inactive)))
    }
}
