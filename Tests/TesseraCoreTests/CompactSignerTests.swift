import Foundation
import JWTKit
import TesseraCore
import TesseraJOSE
import TesseraTesting
import Testing

/// Tessera's own JWS signing (`CompactSigner`) checked by an independent implementation (jwt-kit), and the
/// hand-written access-token payload checked against `Codable`.
@Suite("Compact JWS signing")
struct CompactSignerTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("ES256 and RS256 tokens verify with jwt-kit; the header is alg, kid and typ; the payload is kept byte for byte",
          arguments: [SigningAlgorithm.es256, .rs256])
    func signsVerifiably(_ algorithm: SigningAlgorithm) async throws {
        let record = try SigningKeyFactory.generate(algorithm, now: now)
        let signer = try CompactSigner(record: record)
        let claims = AccessTokenClaims(iss: "https://auth.test", sub: "u-1", aud: ["https://api.test/"], exp: now.addingTimeInterval(900),
                                       iat: now, jti: "j-1", clientID: "svc", scope: "read write", authTime: now)
        let set = try await SigningKeySet.build(from: [record], now: now, retention: 3600)
        for type in [CompactSigner.TokenType.accessToken, .jwt] {
            let token = try signer.sign(payload: claims.jsonBytes, type: type)
            let verified = try await set.collection.verify(token, as: AccessTokenClaims.self)
            #expect(verified == claims)
            let jws = try CompactJWS(token)
            let header = try JSONDecoder().decode([String: String].self, from: Data(jws.headerBytes))
            #expect(header == ["alg": algorithm.rawValue, "kid": record.kid, "typ": type == .accessToken ? "at+jwt" : "JWT"])
            #expect(Array(jws.payload) == claims.jsonBytes)
        }
        // Another key's signature does not verify.
        let other = try CompactSigner(record: try SigningKeyFactory.generate(algorithm, now: now))
        let forged = try other.sign(payload: claims.jsonBytes, type: .accessToken)
        let parts = forged.split(separator: ".")
        let spliced = (try signer.sign(payload: claims.jsonBytes, type: .accessToken)).split(separator: ".")[0...1].joined(separator: ".") + "." + parts[2]
        await #expect(throws: (any Error).self) { try await set.collection.verify(spliced, as: AccessTokenClaims.self) }
    }

    @Test("property: the hand-written access-token payload decodes to the same claims as Codable's, for random values")
    func payloadMatchesCodable() throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        var random = SeededRandom(seed: 9068)
        let alphabet: [Character] = Array("aZ09-._~/:+= \"\\\n\t\u{1}\u{7F}é€😀")
        func text(_ random: inout SeededRandom) -> String { String((0..<random.int(in: 0...16)).map { _ in random.pick(alphabet) }) }
        for _ in 0..<2_000 {
            let audience = (0..<random.int(in: 0...3)).map { _ in text(&random) }
            let claims = AccessTokenClaims(iss: text(&random), sub: text(&random), aud: audience,
                                           exp: now.addingTimeInterval(Double(random.int(in: 0...100_000))),
                                           iat: now, jti: text(&random), clientID: text(&random), scope: random.maybe { text(&$0) },
                                           authTime: random.maybe { $0.int(in: 0...1) == 0 ? now : now.addingTimeInterval(-60) })
            let decoded = try decoder.decode(AccessTokenClaims.self, from: Data(claims.jsonBytes))
            #expect(decoded == claims)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(claims.jsonBytes)) as? [String: Any])
            // RFC 7519 §4.1.3: one audience is a string, several an array.
            if audience.count == 1 { #expect(object["aud"] as? String == audience[0]) } else { #expect(object["aud"] as? [String] == audience) }
        }
    }
}
