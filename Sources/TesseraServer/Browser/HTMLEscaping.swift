import Mustache

/// HTML escaping over UTF-8 bytes: the one escaper for every value placed in a page.
///
/// swift-mustache's built-in `HTML` content type compares Swift `Character`s (grapheme clusters), so `"` or
/// `>` followed by a combining mark (U+0301), or `<` preceded by a prepended concatenation mark
/// (U+0600–U+0605), is one `Character` that matches none of `< > & " '` and reaches the page raw. An HTML
/// parser reads code points (HTML §13.2), not grapheme clusters: escaping must too. The five characters are
/// ASCII and a UTF-8 continuation or lead byte is never ASCII, so a byte walk finds every one of them.
public enum HTMLEscaping {
    /// The name of the swift-mustache content type (`{{% CONTENT_TYPE: TESSERA_HTML }}`).
    public static let contentTypeName = "TESSERA_HTML"

    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references (HTML §13.1.4), safe in
    /// element content and in double- or single-quoted attribute values. Every other scalar is kept.
    public static func escape(_ text: String) -> String {
        let utf8 = text.utf8
        // Fast path: most values (ids, tokens, names) have nothing to escape.
        guard utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">")
            || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") }) else { return text }
        var output: [UInt8] = []
        output.reserveCapacity(utf8.count + 16)
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "&"): output.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): output.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): output.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): output.append(contentsOf: "&quot;".utf8)
            case UInt8(ascii: "'"): output.append(contentsOf: "&#39;".utf8)
            default: output.append(byte)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The swift-mustache content type that escapes with ``escape(_:)``.
    struct ContentType: MustacheContentType {
        func escapeText(_ text: String) -> String { HTMLEscaping.escape(text) }
    }

    /// Registers the content type with swift-mustache (idempotent); call before parsing a template that names it.
    static func register() {
        MustacheContentTypes.register(ContentType(), named: contentTypeName)
    }
}
