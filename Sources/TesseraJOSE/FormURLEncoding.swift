// Strict `application/x-www-form-urlencoded` decoding (WHATWG URL §5.1), shared by the server's form
// bodies and the form-encoded id and secret of HTTP Basic client credentials (RFC 6749 §2.3.1).

/// Why a form-encoded component was refused.
public enum FormDecodingError: Error, Equatable, Sendable {
    /// A `%` not followed by two hex digits.
    case malformedPercentEncoding
    /// The decoded bytes are not UTF-8.
    case invalidUTF8
    /// The decoded text contains U+0000.
    case nulCharacter
}

/// `application/x-www-form-urlencoded` decoding, strict about what it accepts: malformed percent-escapes,
/// bytes that are not UTF-8 and NUL characters are refused, never guessed at; `+` is a space.
public enum FormURLEncoding {
    /// Parses a form (`name=value&…`) into ordered name/value pairs, duplicates kept for the caller to judge.
    /// Empty fields are skipped; a field without `=` has the empty value.
    @inlinable
    public static func parse(_ bytes: some Collection<UInt8>) throws(FormDecodingError) -> [(String, String)] {
        var pairs: [(String, String)] = []
        for field in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = field.firstIndex(of: UInt8(ascii: "="))
            let name = try decode(field[field.startIndex..<(equals ?? field.endIndex)])
            var value = ""
            if let equals { value = try decode(field[field.index(after: equals)...]) }
            pairs.append((name, value))
        }
        return pairs
    }

    /// Percent-decodes one component (`+` is a space) and validates UTF-8; the first malformed escape
    /// is reported before the UTF-8 check, which comes before the NUL check.
    @inlinable
    public static func decode(_ component: some Collection<UInt8>) throws(FormDecodingError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(component.count)
        var index = component.startIndex
        while index != component.endIndex {
            let byte = component[index]
            switch byte {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                let first = component.index(after: index)
                guard first != component.endIndex else { throw .malformedPercentEncoding }
                let second = component.index(after: first)
                guard second != component.endIndex, let hi = hexValue(component[first]), let lo = hexValue(component[second]) else {
                    throw .malformedPercentEncoding
                }
                out.append(hi << 4 | lo)
                index = second
            default:
                out.append(byte)
            }
            index = component.index(after: index)
        }
        guard let string = String(validating: out, as: UTF8.self) else { throw .invalidUTF8 }
        guard !string.unicodeScalars.contains(where: { $0.value == 0 }) else { throw .nulCharacter }
        return string
    }

    @usableFromInline
    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
