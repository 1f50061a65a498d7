/// The rule for a client's display name (`client_name`, RFC 7591 §2; `tessera client add`): the name is shown
/// to users on the login, consent and account pages, where they decide whom to trust.
///
/// Refused: control characters (NUL, newlines, C1), format characters (bidi embeddings and overrides
/// U+202A–U+202E, isolates U+2066–U+2069, marks U+200E/U+200F/U+061C, zero-width U+200B–U+200D, U+FEFF,
/// U+0600–U+0605…), line and paragraph separators, private-use, surrogate and unassigned code points: they
/// reorder or hide what the user reads (Unicode TR #36 §2, "Visual Security Issues"). Also refused: a
/// leading combining mark, surrounding whitespace, and a name over 200 characters or 800 UTF-8 bytes (one
/// character may carry many combining marks).
public enum DisplayName {
    public static let maxCharacters = 200
    public static let maxUTF8Bytes = 800

    /// Why a name was refused; `description` is a sentence for an error message.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case tooLong
        case surroundingWhitespace
        case leadingCombiningMark
        /// A control, format, separator, private-use or unassigned code point.
        case forbidden(Unicode.Scalar)

        public var description: String {
            switch self {
            case .empty: "must not be empty or only spaces"
            case .tooLong: "must be at most \(DisplayName.maxCharacters) characters (\(DisplayName.maxUTF8Bytes) bytes)"
            case .surroundingWhitespace: "must not start or end with whitespace"
            case .leadingCombiningMark: "must not start with a combining mark"
            case .forbidden(let scalar):
                "must not contain U+\(String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)) "
                    + "(control, formatting, text-direction or invisible characters are refused)"
            }
        }
    }

    /// Throws the first problem of `name`, or returns when it may be shown to users.
    public static func validate(_ name: String) throws(Problem) {
        if let scalar = name.unicodeScalars.first(where: isForbidden) { throw .forbidden(scalar) }
        guard name.contains(where: { !$0.isWhitespace }) else { throw .empty }
        guard name.count <= maxCharacters, name.utf8.count <= maxUTF8Bytes else { throw .tooLong }
        guard let first = name.unicodeScalars.first, let last = name.unicodeScalars.last,
              !first.properties.isWhitespace, !last.properties.isWhitespace else { throw .surroundingWhitespace }
        switch first.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: throw .leadingCombiningMark
        default: break
        }
    }

    /// Whether `name` passes ``validate(_:)``.
    public static func isValid(_ name: String) -> Bool {
        do { try validate(name); return true } catch { return false }
    }

    /// Cc, Cf, Cs, Co, Cn, Zl and Zp.
    static func isForbidden(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator: true
        default: false
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
