import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// Client display names (RFC 7591 §2 `client_name`) shown on the login, consent and account pages: no
/// control, bidi, zero-width or other format characters (Unicode TR #36 §2).
@Suite("Display names (client_name)")
struct DisplayNameTests {
    /// Code points that reorder, hide or break what a user reads; every one must be refused.
    static let dangerous: [Unicode.Scalar] = {
        var values: [UInt32] = Array(0x00...0x1F) + Array(0x7F...0x9F)  // C0, DEL, C1 (NUL, tab, newlines, NEL…)
        values += Array(0x202A...0x202E) + Array(0x2066...0x2069) + [0x200E, 0x200F, 0x061C]  // bidi controls
        values += Array(0x200B...0x200D) + [0xFEFF, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0x00AD, 0x180E]  // zero-width, invisible
        values += Array(0x0600...0x0605) + [0x06DD, 0x070F, 0x110BD]  // prepended concatenation marks
        values += [0x2028, 0x2029, 0xE000, 0xF8FF, 0xF0000, 0x10FFFD, 0xFFFE, 0xFFFF, 0xE0001, 0xE007F]  // separators, private use, noncharacters, tags
        return values.map { Unicode.Scalar($0)! }
    }()

    @Test("ordinary names in any script pass, emoji and accents included")
    func accepted() throws {
        for name in ["Photo App", "Café Müller", "写真アプリ", "تطبيق الصور", "Ünïcödé 2.0 (beta)", "A", "📷 Photos", "e\u{301}cole",
                     "Tom & Jerry's \"<app>\"", String(repeating: "x", count: 200)] {
            try DisplayName.validate(name)
        }
    }

    @Test("NUL, control, bidi, zero-width and format characters are refused, anywhere in the name")
    func refused() {
        for scalar in Self.dangerous {
            for name in ["App\(Character(scalar))", "\(Character(scalar))App", "Ap\(Character(scalar))p"] {
                #expect(throws: DisplayName.Problem.forbidden(scalar), "U+\(String(scalar.value, radix: 16))") { try DisplayName.validate(name) }
            }
        }
    }

    @Test("empty, blank, padded, leading-combining and over-long names are refused")
    func shape() {
        #expect(throws: DisplayName.Problem.empty) { try DisplayName.validate("") }
        #expect(throws: DisplayName.Problem.empty) { try DisplayName.validate("   ") }
        #expect(throws: DisplayName.Problem.surroundingWhitespace) { try DisplayName.validate(" App") }
        #expect(throws: DisplayName.Problem.surroundingWhitespace) { try DisplayName.validate("App\u{3000}") }
        #expect(throws: DisplayName.Problem.leadingCombiningMark) { try DisplayName.validate("\u{301}App") }
        #expect(throws: DisplayName.Problem.tooLong) { try DisplayName.validate(String(repeating: "x", count: 201)) }
        // One character carrying hundreds of combining marks: 1 character, far over the byte limit.
        #expect(throws: DisplayName.Problem.tooLong) { try DisplayName.validate("a" + String(repeating: "\u{301}", count: 500)) }
        #expect(DisplayName.Problem.forbidden("\u{202E}").description.contains("U+202E"))
    }

    @Test("RFC 7591 §2: /register refuses such a client_name with invalid_client_metadata")
    func registration() throws {
        let policy = ClientMetadata.Policy(allowedScopes: ["read"], defaultScopes: ["read"], allowResources: false)
        for name in ["Evil\u{0}", "Pay\u{202E}lapyap", "\u{2066}App\u{2069}", "Goo\u{200B}gle", "App\n<b>", " ", ""] {
            let body = try JSONSerialization.data(withJSONObject: ["client_name": name, "grant_types": ["client_credentials"], "response_types": []])
            #expect(throws: OAuthError.self, "\(name.debugDescription)") { try ClientMetadata(json: body, policy: policy) }
            do { _ = try ClientMetadata(json: body, policy: policy) } catch {
                #expect(error.code == .invalidClientMetadata)
                #expect(error.errorDescription.hasPrefix("client_name must"))
            }
        }
    }

    // MARK: Properties

    static let iterations = 4_000

    @Test("property: a name is refused exactly when it holds a dangerous scalar (or has a bad shape); /register agrees")
    func property() throws {
        var random = SeededRandom(seed: 0xD15_9A7E)
        let policy = ClientMetadata.Policy(allowedScopes: ["read"], defaultScopes: ["read"], allowResources: false)
        var refusedCount = 0
        for _ in 0..<Self.iterations {
            var scalars = random.safeDisplayScalars()
            let poisoned = random.int(in: 0...1) == 0
            if poisoned {
                let bad = random.pick(Self.dangerous)
                scalars.insert(bad, at: random.int(in: 0...scalars.count))
            }
            var name = ""
            name.unicodeScalars.append(contentsOf: scalars)
            let result = Result { () throws(DisplayName.Problem) in try DisplayName.validate(name) }
            if poisoned {
                guard case .failure(.forbidden(let scalar)) = result else {
                    Issue.record("accepted \(name.unicodeScalars.map { String($0.value, radix: 16) })")
                    continue
                }
                #expect(Self.dangerous.contains(scalar))
                refusedCount += 1
            } else {
                #expect(throws: Never.self, "\(name.unicodeScalars.map { String($0.value, radix: 16) })") { try result.get() }
            }
            // Every non-ASCII code point as a \u escape, as a hostile registrant may send it.
            let body = Data(#"{"client_name": "\#(Self.jsonEscaped(name))", "grant_types": ["client_credentials"], "response_types": []}"#.utf8)
            let registered = Result { () throws(OAuthError) in try ClientMetadata(json: body, policy: policy) }
            switch (registered, result) {
            case (.success(let metadata), .success): #expect(metadata.clientName == name)
            case (.failure(let error), .failure): #expect(error.code == .invalidClientMetadata)
            default: Issue.record("registration (\(registered)) and DisplayName (\(result)) disagree on \(name.unicodeScalars.map { String($0.value, radix: 16) })")
            }
        }
        #expect(refusedCount > Self.iterations / 3)
    }

    /// A JSON string body with every scalar outside printable ASCII as `\uXXXX` (UTF-16, RFC 8259 §7).
    static func jsonEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if (0x20...0x7E).contains(scalar.value), scalar != "\"", scalar != "\\" {
                out.unicodeScalars.append(scalar)
            } else {
                for unit in String(scalar).utf16 {
                    let hex = String(unit, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
            }
        }
        return out
    }
}

extension SeededRandom {
    /// 1–40 scalars a display name may hold: ASCII (markup characters too), Latin with combining accents,
    /// Arabic, CJK, emoji; never starting or ending with a space or a combining mark.
    mutating func safeDisplayScalars() -> [Unicode.Scalar] {
        let first: [ClosedRange<UInt32>] = [0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0xC0...0x24F, 0x0627...0x064A, 0x4E00...0x9FFF, 0x1F600...0x1F64F]
        let inner = first + [0x21...0x7E, 0x20...0x20, 0x0300...0x036F, 0x3000...0x3000]
        let count = int(in: 1...40)
        return (0..<count).map { index in
            let ranges = index == 0 || index == count - 1 ? first : inner
            let range = pick(ranges)
            return Unicode.Scalar(UInt32(int(in: Int(range.lowerBound)...Int(range.upperBound))))!
        }
    }
}
