import Foundation
import TesseraServer
import TesseraTesting
import Testing

/// Property tests for the pages' HTML escaping: whatever a value holds (markup characters glued to combining
/// marks, prepended concatenation marks, ZWJ, bidi controls), no raw `<`, `>`, `"` or `'` of it reaches the
/// page, in every template, the layout and the partials (HTML §13.2 reads code points, not grapheme clusters).
@Suite("Pages escape every value (properties)")
struct PagePropertyTests {
    static let iterations = 4_000

    /// The scalars that open or close markup, tags and attribute values.
    static func markupCount(_ html: String) -> Int {
        html.unicodeScalars.reduce(0) { $0 + ("<>\"'".unicodeScalars.contains($1) ? 1 : 0) }
    }

    /// Names a template reads: variables (`{{x}}`), sections (`{{#x}}`, `{{^x}}`), unescaped (`{{{x}}}`, `{{&x}}`).
    static func names(in source: String) -> Set<String> {
        let tag = try! NSRegularExpression(pattern: #"\{\{(\{?)\s*([#^&]?)\s*([A-Za-z0-9_.\-]+)\s*\}?\}\}"#)
        let range = NSRange(source.startIndex..., in: source)
        return Set(tag.matches(in: source, range: range).compactMap { match in
            Range(match.range(at: 3), in: source).map { String(source[$0]) }
        }.filter { $0 != "." })
    }

    static let pageNames = Pages.templateSources.keys.filter { $0 != "layout" }.sorted()
    /// Every name any template reads, except the layout's `body` (our own rendered page) and its `title`
    /// and `refresh` (given to `render` separately).
    static let contextNames = Pages.templateSources.values.reduce(into: Set<String>()) { $0.formUnion(names(in: $1)) }
        .subtracting(["body", "title", "refresh"]).sorted()

    @Test("the scan finds the templates and their names (the property below is not vacuous)")
    func scan() {
        #expect(Self.pageNames.count >= 12)
        for name in ["login", "consent", "account", "account-mfa", "logout", "error", "mfa", "continue"] { #expect(Self.pageNames.contains(name)) }
        for name in ["username", "returnTo", "clientName", "params", "value", "mfaError", "message", "csrf", "displayName"] {
            #expect(Self.contextNames.contains(name), "\(name)")
        }
    }

    @Test("only the layout's {{{body}}} is unescaped")
    func onlyBodyIsTriple() {
        for (name, source) in Pages.templateSources {
            let unescaped = try! NSRegularExpression(pattern: #"\{\{\{\s*([^}\s]+)\s*\}\}\}|\{\{&\s*([^}\s]+)\s*\}\}"#)
            let matches = unescaped.matches(in: source, range: NSRange(source.startIndex..., in: source))
            #expect(matches.count == (name == "layout" ? 1 : 0), "\(name)")
            #expect(!source.contains("{{="), "\(name): no delimiter change (it would hide tags from this scan)")
        }
    }

    @Test("property: every page, layout and partial shows as many markup scalars for hostile values as for \"x\"")
    func noRawMarkup() {
        var random = SeededRandom(seed: 0x4A7_E5C)
        for iteration in 0..<Self.iterations {
            let page = Self.pageNames[iteration % Self.pageNames.count]
            var hostile: [String: Any] = [:]
            var benign: [String: Any] = [:]
            for name in Self.contextNames {
                hostile[name] = random.hostileText()
                benign[name] = "x"
            }
            let title = random.hostileText(), refresh = random.hostileText()
            let attacked = Pages.render(page, title: title, hostile, refresh: refresh)
            let expected = Pages.render(page, title: "x", benign, refresh: "x")
            #expect(attacked.contains("</html>") && expected.contains("</html>"))
            let (got, want) = (Self.markupCount(attacked), Self.markupCount(expected))
            if got != want {
                Issue.record("\(page): \(got) markup scalars, expected \(want); title \(title.unicodeScalars.map { String($0.value, radix: 16) })\n\(attacked)")
                return
            }
        }
    }

    @Test("property: escape leaves no markup scalar and unescapes back to the input")
    func escapeRoundTrip() {
        var random = SeededRandom(seed: 0xE5C_A9E)
        for _ in 0..<Self.iterations {
            let text = random.hostileText()
            let escaped = HTMLEscaping.escape(text)
            #expect(Self.markupCount(escaped) == 0)
            #expect(Self.unescape(escaped) == Array(text.unicodeScalars))
        }
    }
}

extension PagePropertyTests {
    /// Decodes the five references over scalars (String's `replacingOccurrences` compares grapheme clusters:
    /// it would not find `&quot;` when the `;` carries a combining mark, the very bug this suite is about).
    static func unescape(_ html: String) -> [Unicode.Scalar] {
        let references: [(String, Unicode.Scalar)] = [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")]
        let scalars = Array(html.unicodeScalars)
        var out: [Unicode.Scalar] = []
        var index = 0
        outer: while index < scalars.count {
            for (reference, scalar) in references {
                let pattern = Array(reference.unicodeScalars)
                if scalars[index...].starts(with: pattern) {
                    out.append(scalar)
                    index += pattern.count
                    continue outer
                }
            }
            out.append(scalars[index])
            index += 1
        }
        return out
    }
}

extension SeededRandom {
    /// 1–24 scalars from `< > & " '`, combining marks, U+0600–U+0605, ZWJ/ZWNJ, bidi controls and ASCII,
    /// so markup characters are often glued into one grapheme cluster with their neighbours.
    mutating func hostileText() -> String {
        let markup: [Unicode.Scalar] = ["<", ">", "&", "\"", "'"]
        let glue: [Unicode.Scalar] = ["\u{301}", "\u{300}", "\u{20DD}", "\u{0308}", "\u{600}", "\u{601}", "\u{602}", "\u{603}", "\u{604}", "\u{605}",
                                      "\u{200D}", "\u{200C}", "\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}",
                                      "\u{2068}", "\u{2069}", "\u{200E}", "\u{200F}", "\u{061C}", "\u{FE0F}"]
        let ascii: [Unicode.Scalar] = Array("abcXYZ019 =/;:.-_#?".unicodeScalars)
        var text = ""
        for _ in 0..<int(in: 1...24) {
            switch int(in: 0...4) {
            case 0, 1: text.unicodeScalars.append(pick(markup))
            case 2, 3: text.unicodeScalars.append(pick(glue))
            default: text.unicodeScalars.append(pick(ascii))
            }
        }
        return text
    }
}
