import Foundation
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// The hand-written token and introspection bodies must say exactly what `JSONEncoder` would.
@Suite("Token and introspection JSON bodies")
struct JSONWriterPropertyTests {
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
        var random = SeededRandom(seed: 20_261_124)
        for _ in 0..<2_000 {
            var response = TokenResponse(accessToken: random.jsonString(), expiresIn: random.int(in: -5...100_000), refreshToken: random.maybe { $0.jsonString() },
                                         scope: ["read"], idToken: random.maybe { $0.jsonString() })
            response.scope = random.maybe { $0.jsonString() }
            let ours = bytes(response.jsonBuffer)
            #expect(try parsed(ours) == parsed(try Self.encoder.encode(response)), "\(String(decoding: ours, as: UTF8.self))")
        }
    }

    @Test("random introspection responses: same JSON as JSONEncoder")
    func introspectionResponses() throws {
        var random = SeededRandom(seed: 7)
        for _ in 0..<2_000 {
            let response = IntrospectionResponse(active: random.bool(), scope: random.maybe { $0.jsonString() }, clientID: random.maybe { $0.jsonString() },
                                                 sub: random.maybe { $0.jsonString() }, exp: random.maybe { $0.int(in: 0...2_000_000_000) },
                                                 iat: random.maybe { $0.int(in: 0...2_000_000_000) }, iss: random.maybe { $0.jsonString() },
                                                 aud: random.maybe { g in (0..<g.int(in: 0...3)).map { _ in g.jsonString() } },
                                                 tokenType: random.maybe { $0.jsonString() }, jti: random.maybe { $0.jsonString() })
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

extension SeededRandom {
    /// Short strings that exercise JSON escaping: quotes, backslashes, control characters, non-ASCII.
    mutating func jsonString() -> String {
        let alphabet: [Character] = Array("abcXYZ019-._~/+= \"\\\n\r\t\u{0}\u{1}\u{1F}\u{7F}é€😀")
        return String((0..<int(in: 0...24)).map { _ in pick(alphabet) })
    }
}
