import TesseraJOSE
import TesseraTesting
import Testing

/// The shared strict `application/x-www-form-urlencoded` decoder (WHATWG URL §5.1): seeded property tests
/// (a failure reproduces with the same seed) and the edge cases by name.
@Suite("Form URL encoding (properties)")
struct FormURLEncodingPropertyTests {
    static let iterations = 3_000

    @Test("examples: + is a space, escapes in either case, each malformed input refused with its reason")
    func examples() throws {
        #expect(try FormURLEncoding.decode(Array("a+b%2F%2f%C3%A9".utf8)) == "a b//é")
        #expect(try FormURLEncoding.decode(Array("%2B".utf8)) == "+")
        #expect(try FormURLEncoding.decode([UInt8]()) == "")
        for bad in ["%", "a%", "%4", "%zz", "%4g", "%g4", "a=%"] {
            #expect(throws: FormDecodingError.malformedPercentEncoding) { try FormURLEncoding.decode(Array(bad.utf8)) }
        }
        #expect(throws: FormDecodingError.invalidUTF8) { try FormURLEncoding.decode(Array("caf%E9".utf8)) }
        #expect(throws: FormDecodingError.invalidUTF8) { try FormURLEncoding.decode([0x63, 0xE9]) }
        #expect(throws: FormDecodingError.invalidUTF8) { try FormURLEncoding.decode(Array("%C3".utf8)) }
        #expect(throws: FormDecodingError.nulCharacter) { try FormURLEncoding.decode(Array("a%00b".utf8)) }
        #expect(throws: FormDecodingError.nulCharacter) { try FormURLEncoding.decode([0x61, 0x00]) }
        let pairs = try FormURLEncoding.parse(Array("a=1+2&&b=%2F&flag&=empty&a=3".utf8))
        #expect(pairs.map(\.0) == ["a", "b", "flag", "", "a"])
        #expect(pairs.map(\.1) == ["1 2", "/", "", "empty", "3"])
    }

    /// Whole forms (pairs, `&`, `=`) round-trip through `FormBody.parse` in `FormBodyPropertyTests`.
    @Test("property: random text (ASCII, Latin-1, CJK, emoji) encoded with random valid choices decodes to itself")
    func roundTrip() throws {
        var random = SeededRandom(seed: 0xF0_4D_E1C0)
        for _ in 0..<Self.iterations {
            let text = random.text(maxLength: 30)
            let encoded = random.formEncode(text)
            #expect(try FormURLEncoding.decode(Array(encoded.utf8)) == text, "\(encoded)")
        }
    }

    @Test("property: a % not followed by two hex digits is refused wherever it stands")
    func malformedEscapesRejected() {
        var random = SeededRandom(seed: 0xBAD_E5C)
        for _ in 0..<Self.iterations {
            let bad = random.pick(["%", "%" + String(random.hexDigit()), "%" + String(random.hexDigit()) + "x", "%g" + String(random.hexDigit()), "%-1"])
            // What follows starts with a non-hex character, so it cannot complete the bad escape.
            let encoded = random.formEncode(random.text(maxLength: 8)) + bad + "z" + random.formEncode(random.text(maxLength: 8))
            #expect(throws: FormDecodingError.malformedPercentEncoding, "\(encoded)") { try FormURLEncoding.decode(Array(encoded.utf8)) }
        }
    }

    @Test("property: escaped bytes that are not UTF-8 are refused; random bytes decode to NUL-free text or are refused")
    func invalidUTF8Rejected() {
        var random = SeededRandom(seed: 0x0DD_B17E)
        for _ in 0..<Self.iterations {
            // A lone continuation byte, a truncated two-byte lead, or a byte never valid in UTF-8.
            let bad = random.pick([random.int(in: 0x80...0xBF), random.int(in: 0xC2...0xDF), random.int(in: 0xF8...0xFF)])
            let encoded = random.formEncode(random.text(maxLength: 8)) + "%" + String(bad, radix: 16) + random.formEncode("x" + random.text(maxLength: 4))
            #expect(throws: FormDecodingError.invalidUTF8, "\(encoded)") { try FormURLEncoding.decode(Array(encoded.utf8)) }

            let bytes = random.bytes(maxCount: 30)
            do {
                let decoded = try FormURLEncoding.decode(bytes)
                #expect(!decoded.unicodeScalars.contains { $0.value == 0 })
                #expect(decoded.utf8.count <= bytes.count)
            } catch {
                #expect([.malformedPercentEncoding, .invalidUTF8, .nulCharacter].contains(error))
            }
        }
    }

    @Test("property: contiguous and non-contiguous input (the two decoding paths) give the same pairs or the same error")
    func contiguousAndGenericPathsAgree() {
        var random = SeededRandom(seed: 0xC0_7116)
        for _ in 0..<Self.iterations {
            var form = (0..<random.int(in: 0...4)).map { _ in random.formEncode(random.text(maxLength: 8)) + "=" + random.formEncode(random.text(maxLength: 8)) }
                .joined(separator: "&")
            if random.int(in: 0...3) == 0 { form += random.pick(["%", "%4", "%zz", "%00", "%C3", "&&", "=", "%e9"]) }
            let bytes = Array(form.utf8)
            let contiguous = Result { () throws(FormDecodingError) in try FormURLEncoding.parse(bytes) }
            let generic = Result { () throws(FormDecodingError) in try FormURLEncoding.parse(AnyCollection(bytes)) }
            switch (contiguous, generic) {
            case (.success(let a), .success(let b)):
                #expect(a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1), "\(form)")
            case (.failure(let a), .failure(let b)):
                #expect(a == b, "\(form)")
            default:
                Issue.record("the two paths disagree on \(form)")
            }
        }
    }
}
