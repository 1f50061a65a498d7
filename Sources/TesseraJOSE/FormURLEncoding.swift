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
///
/// Contiguous input (a request body, `Data`, an array) is decoded in one pass over its bytes, and a component
/// without `%` or `+` becomes a `String` straight from them; other collections are copied first.
public enum FormURLEncoding {
    /// Parses a form (`name=value&…`) into ordered name/value pairs, duplicates kept for the caller to judge.
    /// Empty fields are skipped; a field without `=` has the empty value.
    public static func parse(_ bytes: some Collection<UInt8>) throws(FormDecodingError) -> [(String, String)] {
        let result = bytes.withContiguousStorageIfAvailable { parse(contiguous: $0) }
            ?? Array(bytes).withUnsafeBufferPointer { parse(contiguous: $0) }
        return try result.get()
    }

    /// Percent-decodes one component (`+` is a space) and validates UTF-8; the first malformed escape
    /// is reported before the UTF-8 check, which comes before the NUL check.
    public static func decode(_ component: some Collection<UInt8>) throws(FormDecodingError) -> String {
        let result = component.withContiguousStorageIfAvailable { decode(contiguous: $0) }
            ?? Array(component).withUnsafeBufferPointer { decode(contiguous: $0) }
        return try result.get()
    }

    private static func parse(contiguous bytes: UnsafeBufferPointer<UInt8>) -> Result<[(String, String)], FormDecodingError> {
        var pairs: [(String, String)] = []
        var fieldStart = 0
        while fieldStart < bytes.count {
            var fieldEnd = fieldStart
            var equals: Int?
            while fieldEnd < bytes.count, bytes[fieldEnd] != UInt8(ascii: "&") {
                if equals == nil, bytes[fieldEnd] == UInt8(ascii: "=") { equals = fieldEnd }
                fieldEnd += 1
            }
            if fieldEnd > fieldStart {
                let nameEnd = equals ?? fieldEnd
                switch decode(contiguous: UnsafeBufferPointer(rebasing: bytes[fieldStart..<nameEnd])) {
                case .failure(let error): return .failure(error)
                case .success(let name):
                    var value = ""
                    if let equals {
                        switch decode(contiguous: UnsafeBufferPointer(rebasing: bytes[(equals + 1)..<fieldEnd])) {
                        case .failure(let error): return .failure(error)
                        case .success(let decoded): value = decoded
                        }
                    }
                    pairs.append((name, value))
                }
            }
            fieldStart = fieldEnd + 1
        }
        return .success(pairs)
    }

    private static func decode(contiguous component: UnsafeBufferPointer<UInt8>) -> Result<String, FormDecodingError> {
        var needsDecoding = false
        var hasNUL = false
        for byte in component {
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "+") { needsDecoding = true; break }
            if byte == 0 { hasNUL = true }
        }
        if !needsDecoding {
            guard let string = String(validating: component, as: UTF8.self) else { return .failure(.invalidUTF8) }
            return hasNUL ? .failure(.nulCharacter) : .success(string)
        }
        var out: [UInt8] = []
        out.reserveCapacity(component.count)
        var index = 0
        while index < component.count {
            let byte = component[index]
            switch byte {
            case UInt8(ascii: "+"):
                out.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard index + 2 < component.count, let hi = hexValue(component[index + 1]), let lo = hexValue(component[index + 2]) else {
                    return .failure(.malformedPercentEncoding)
                }
                out.append(hi << 4 | lo)
                index += 2
            default:
                out.append(byte)
            }
            index += 1
        }
        guard let string = String(validating: out, as: UTF8.self) else { return .failure(.invalidUTF8) }
        // U+0000 is the byte 0 in UTF-8 and nowhere else.
        return out.contains(0) ? .failure(.nulCharacter) : .success(string)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
