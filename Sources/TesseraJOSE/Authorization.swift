import Foundation

// Parsers for the `Authorization` request header (RFC 9110 §11.6.2) on plain header values, so the
// server, the resource-server toolkit and tests share them without any HTTP types.

/// The outcome of reading `Authorization` headers (RFC 6750 §2.1; the scheme is case-insensitive).
public enum BearerCredentials: Equatable, Sendable {
    /// No `Authorization` header, or one with another scheme.
    case none
    case multipleHeaders
    case empty
    /// Not RFC 6750 `b64token` syntax.
    case malformed
    case token(Substring)

    /// Reads one `Authorization` header value (`nil`: no header).
    public static func parse(_ value: String?) -> BearerCredentials {
        parse(value.map { [$0] } ?? [])
    }

    /// Reads the values of every `Authorization` header of a request.
    public static func parse(_ values: [String]) -> BearerCredentials {
        guard let value = values.first else { return .none }
        guard values.count == 1 else { return .multipleHeaders }
        let trimmed = value.drop(while: { $0 == " " || $0 == "\t" })
        let scheme = trimmed.prefix(while: { $0 != " " && $0 != "\t" })
        guard scheme.lowercased() == "bearer" else { return .none }
        var credentials = trimmed.dropFirst(scheme.count).drop(while: { $0 == " " || $0 == "\t" })
        while let last = credentials.last, last == " " || last == "\t" { credentials = credentials.dropLast() }
        guard !credentials.isEmpty else { return .empty }
        // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
        // One forward pass (reversed UTF-8 views index slowly): characters, then only padding.
        var characters = 0
        var inPadding = false
        for byte in credentials.utf8 {
            if byte == UInt8(ascii: "=") {
                inPadding = true
            } else {
                guard !inPadding, Self.isB64TokenCharacter(byte) else { return .malformed }
                characters += 1
            }
        }
        guard characters > 0 else { return .malformed }
        return .token(credentials)
    }

    private static func isB64TokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            true
        default:
            false
        }
    }
}

/// An `Authorization` header read as HTTP Basic (RFC 7617 §2), with the user-id and password
/// form-decoded as OAuth client credentials are (RFC 6749 §2.3.1: `application/x-www-form-urlencoded`
/// id and secret, then base64). The scheme is case-insensitive (RFC 9110 §11.1).
public enum BasicAuthorization: Sendable, Equatable {
    /// No `Authorization` header.
    case absent
    /// Well-formed Basic credentials: a non-empty id and a (possibly empty) secret.
    case credentials(id: String, secret: String)
    /// Another scheme (e.g. Bearer).
    case otherScheme
    /// Basic, but malformed: not base64, no `:`, an empty id, a malformed percent-escape, bytes that
    /// are not UTF-8 or a NUL character.
    case malformed

    /// Reads one `Authorization` header value (`nil`: no header).
    public init(header: String?) {
        guard let header else { self = .absent; return }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard let scheme = parts.first, scheme.lowercased() == "basic" else { self = .otherScheme; return }
        // Trim by hand: Foundation's trimmingCharacters bridges through NSString (a tenth of /introspect's CPU).
        var encoded = parts.count == 2 ? parts[1].drop(while: { $0 == " " || $0 == "\t" }) : ""
        while let last = encoded.last, last == " " || last == "\t" { encoded = encoded.dropLast() }
        guard parts.count == 2, let decoded = Data(base64Encoded: String(encoded)),
            let colon = decoded.firstIndex(of: UInt8(ascii: ":")),
            let id = try? FormURLEncoding.decode(decoded[decoded.startIndex..<colon]), !id.isEmpty,
            let secret = try? FormURLEncoding.decode(decoded[decoded.index(after: colon)...])
        else {
            self = .malformed
            return
        }
        self = .credentials(id: id, secret: secret)
    }

    /// The client id named by well-formed credentials (not yet authenticated).
    public var clientID: String? {
        if case .credentials(let id, _) = self { return id }
        return nil
    }
}
