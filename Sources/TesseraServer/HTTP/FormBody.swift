import Foundation
import TesseraCore
import TesseraJOSE

/// `application/x-www-form-urlencoded` parsing (WHATWG URL §5.1), strict about what it accepts:
/// malformed percent-escapes and bytes that are not UTF-8 are refused, never guessed at.
public enum FormBody {
    /// Parses a form body into ordered name/value pairs, duplicates kept for the caller to judge.
    public static func parse(_ bytes: some Collection<UInt8>) throws(OAuthError) -> [(String, String)] {
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

    /// Percent-decodes one component (`+` is a space) and validates UTF-8.
    public static func decode(_ component: some Collection<UInt8>) throws(OAuthError) -> String {
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
                guard first != component.endIndex else { throw malformed }
                let second = component.index(after: first)
                guard second != component.endIndex, let hi = hexValue(component[first]), let lo = hexValue(component[second]) else { throw malformed }
                out.append(hi << 4 | lo)
                index = second
            default:
                out.append(byte)
            }
            index = component.index(after: index)
        }
        guard let string = String(validating: out, as: UTF8.self) else {
            throw OAuthError.invalidRequest("The request body is not valid UTF-8.")
        }
        guard !string.unicodeScalars.contains(where: { $0.value == 0 }) else {
            throw OAuthError.invalidRequest("The request body contains a NUL character.")
        }
        return string
    }

    private static var malformed: OAuthError { .invalidRequest("The request body has a malformed percent-encoding.") }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// HTTP Basic client credentials (RFC 7617, with RFC 6749 §2.3.1's form-encoding of id and secret): the
/// shared parser (`TesseraJOSE.BasicAuthorization`) with its failure as the OAuth error to answer.
public enum BasicCredentials {
    /// The `invalid_client` error for malformed Basic credentials.
    public static var malformed: OAuthError { .invalidClient("Malformed HTTP Basic credentials.") }

    /// Parses an `Authorization` header value.
    /// - Returns: `nil` when the header uses another scheme.
    /// - Throws: `invalid_client` when the Basic credentials are malformed.
    public static func parse(authorization: String) throws(OAuthError) -> (id: String, secret: String)? {
        switch BasicAuthorization(header: authorization) {
        case .credentials(let id, let secret): return (id, secret)
        case .absent, .otherScheme: return nil
        case .malformed: throw malformed
        }
    }
}
