import Foundation
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// Property tests for the HTTP parsers (form bodies, HTTP Basic credentials): seeded, deterministic
/// generators (a failure reproduces with the same seed), thousands of cases each, never a crash.
@Suite("Form and Basic parsing (properties)")
struct FormBodyPropertyTests {
    static let iterations = 3_000

    @Test("encode then parse returns the same pairs, whatever the encoding choices")
    func formRoundTrip() throws {
        var random = SeededRandom(seed: 0x5EED_F0F1)
        for _ in 0..<Self.iterations {
            let pairs = (0..<random.int(in: 0...6)).map { _ in (random.text(maxLength: 12), random.text(maxLength: 24)) }
            let body = pairs.map { random.formEncode($0.0) + "=" + random.formEncode($0.1) }.joined(separator: "&")
            let parsed = try FormBody.parse(Array(body.utf8))
            #expect(parsed.map(\.0) == pairs.map(\.0), "\(body)")
            #expect(parsed.map(\.1) == pairs.map(\.1), "\(body)")
        }
    }

    @Test("random bytes either parse to NUL-free strings or fail with invalid_request")
    func formRandomBytes() {
        var random = SeededRandom(seed: 0xB17E5)
        let alphabet = Array("ab=&%+2F0g\u{00}".utf8) + [0xC3, 0xA9, 0xFF, 0x80]
        for iteration in 0..<(Self.iterations * 3) {
            // Half fully random bytes, half from a small alphabet that hits the escapes' edge cases.
            let bytes: [UInt8] = (0..<random.int(in: 0...40)).map { _ in
                iteration.isMultiple(of: 2) ? random.byte() : alphabet[random.int(in: 0...(alphabet.count - 1))]
            }
            do {
                let pairs = try FormBody.parse(bytes)
                for (name, value) in pairs {
                    #expect(!name.unicodeScalars.contains { $0.value == 0 } && !value.unicodeScalars.contains { $0.value == 0 })
                }
                #expect(pairs.count <= bytes.count)
            } catch {
                #expect(error.code == .invalidRequest)
            }
        }
    }

    @Test("a percent sign not followed by two hex digits is always refused")
    func malformedEscapes() {
        var random = SeededRandom(seed: 0xE5CA9E)
        for _ in 0..<Self.iterations {
            let prefix = random.formEncode(random.text(maxLength: 8))
            let bad = ["%", "%" + String(random.hexDigit()), "%" + String(random.hexDigit()) + "x", "%g" + String(random.hexDigit())][random.int(in: 0...3)]
            let body = "a=" + prefix + bad
            #expect(throws: OAuthError.self) { try FormBody.parse(Array(body.utf8)) }
        }
    }

    @Test("Basic credentials: form-encoded id and secret round-trip in any scheme case")
    func basicRoundTrip() throws {
        var random = SeededRandom(seed: 0xBA51C)
        for _ in 0..<Self.iterations {
            var id = random.text(maxLength: 20)
            if id.isEmpty { id = "c" }
            let secret = random.text(maxLength: 40)
            let raw = random.formEncode(id) + ":" + random.formEncode(secret)
            let scheme = ["Basic", "basic", "BASIC", "bAsIc"][random.int(in: 0...3)]
            let header = scheme + String(repeating: " ", count: random.int(in: 1...3)) + Data(raw.utf8).base64EncodedString()
            let parsed = try #require(try BasicCredentials.parse(authorization: header))
            #expect(parsed.id == id)
            #expect(parsed.secret == secret)
        }
    }

    @Test("random Authorization headers never crash: nil for other schemes, else credentials or invalid_client")
    func basicRandomHeaders() {
        var random = SeededRandom(seed: 0x4EAD)
        for iteration in 0..<(Self.iterations * 2) {
            let header: String
            switch iteration % 4 {
            case 0: header = random.text(maxLength: 60)
            case 1: header = "Basic " + random.base64Like(maxLength: 40)
            case 2: header = "Basic " + Data((0..<random.int(in: 0...30)).map { _ in random.byte() }).base64EncodedString()
            default: header = ["Bearer", "Digest", "Negotiate", "Basicx"][random.int(in: 0...3)] + " " + random.base64Like(maxLength: 30)
            }
            let isBasic = header.split(separator: " ").first.map { $0.lowercased() == "basic" } ?? false
            do {
                if let credentials = try BasicCredentials.parse(authorization: header) {
                    #expect(!credentials.id.isEmpty)
                    #expect(isBasic)
                } else {
                    #expect(!isBasic)
                }
            } catch {
                #expect(error.code == .invalidClient)
            }
        }
    }
}

extension SeededRandom {
    /// Characters of base64 plus a few that are not.
    mutating func base64Like(maxLength: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_:. ")
        return String((0..<int(in: 0...maxLength)).map { _ in alphabet[int(in: 0...(alphabet.count - 1))] })
    }
}
