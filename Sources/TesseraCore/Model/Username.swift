import Foundation

/// A username in its canonical form: RFC 8265 §3.3 (PRECIS `UsernameCaseMapped`) plus a mixed-script
/// refusal (UTS #39 §5.2, "highly restrictive").
///
/// Every path that creates a user or looks one up goes through `init(_:)`, so `Alice`, `ALICE`, a
/// full-width `Ａｌｉｃｅ`, NFD and NFC `josé` name one user, and a zero-width or bidi variant, or a name
/// mixing a Cyrillic `а` into Latin letters, names none. The store compares canonical strings only.
///
/// The preparation and enforcement steps, in RFC 8265 §3.3.2–3.3.3 order:
/// 1. width mapping: full-width and half-width forms (U+FF00–U+FFEF) to their narrow/wide decomposition;
/// 2. case mapping: Unicode `toLowerCase`;
/// 3. normalisation: NFC;
/// 4. the `IdentifierClass` rule (RFC 8264 §4.2): letters, marks after a base character, decimal digits,
///    and printable ASCII; no spaces, controls, format characters (zero-width joiners, bidi controls, BOM),
///    non-ASCII symbols or punctuation, private-use or unassigned code points;
/// 5. one script (Common and Inherited characters aside), or Latin with Han and Japanese kana, Han with
///    Bopomofo, or Han with Hangul.
public struct Username: Sendable, Hashable, CustomStringConvertible {
    /// The canonical form: what is stored, compared and shown.
    public let value: String

    /// The longest username, in Unicode scalars.
    public static let maximumLength = 128

    /// Why a string is not a username.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case empty
        case tooLong
        /// A character the `IdentifierClass` refuses (space, control, zero-width, bidi control, symbol …).
        case disallowedCharacter(Unicode.Scalar)
        /// A combining mark with no base character before it.
        case leadingCombiningMark
        /// Letters of several scripts, e.g. a Cyrillic `а` among Latin letters (UTS #39 §5.2).
        case mixedScripts

        public var description: String {
            switch self {
            case .empty: "the username is empty"
            case .tooLong: "the username is longer than \(Username.maximumLength) characters"
            case .disallowedCharacter(let scalar):
                "the username contains U+\(String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)), which usernames may not contain (spaces, control, zero-width, bidi and symbol characters are refused)"
            case .leadingCombiningMark: "the username starts with a combining mark"
            case .mixedScripts: "the username mixes letters of different scripts (for example a Cyrillic letter among Latin ones)"
            }
        }
    }

    /// Canonicalises `raw`, or throws why it is not a username.
    public init(_ raw: String) throws(Problem) {
        value = try Self.canonicalize(raw)
    }

    /// The canonical form of `raw`, or `nil` when it is not a username.
    public static func canonical(_ raw: String) -> Username? { try? Username(raw) }

    public var description: String { value }

    // MARK: Preparation and enforcement

    /// RFC 8265 §3.3.2 steps 1–3 (width mapping, case mapping, NFC), without the IdentifierClass checks:
    /// also how display names are folded before comparing them with reserved names.
    static func mapped(_ raw: String) -> String {
        // 1. Width mapping: only the <wide>/<narrow> forms, not all of NFKC.
        var widthMapped = String.UnicodeScalarView()
        for scalar in raw.unicodeScalars {
            if (0xFF00...0xFFEF).contains(scalar.value) || scalar.value == 0x3000 {
                widthMapped.append(contentsOf: String(scalar).precomposedStringWithCompatibilityMapping.unicodeScalars)
            } else {
                widthMapped.append(scalar)
            }
        }
        // 2. Case mapping, 3. NFC.
        return String(widthMapped).lowercased().precomposedStringWithCanonicalMapping
    }

    static func canonicalize(_ raw: String) throws(Problem) -> String {
        guard !raw.isEmpty else { throw .empty }
        // Bound the work before any mapping: a mapping never shortens a valid name by much.
        guard raw.unicodeScalars.count <= maximumLength * 4 else { throw .tooLong }
        let mapped = Self.mapped(raw)
        let scalars = Array(mapped.unicodeScalars)
        guard !scalars.isEmpty else { throw .empty }
        guard scalars.count <= maximumLength else { throw .tooLong }
        // 4. IdentifierClass.
        var scripts = Set<Script>()
        for (index, scalar) in scalars.enumerated() {
            switch characterClass(scalar) {
            case .ascii: if scalar.properties.isAlphabetic { scripts.insert(.latin) }
            case .mark: if index == 0 { throw .leadingCombiningMark }
            case .letterOrDigit: scripts.insert(Script(scalar))
            case .disallowed: throw .disallowedCharacter(scalar)
            }
        }
        // 5. UTS #39 highly restrictive.
        guard Script.isHighlyRestrictive(scripts) else { throw .mixedScripts }
        return mapped
    }

    private enum CharacterClass { case ascii, letterOrDigit, mark, disallowed }

    private static func characterClass(_ scalar: Unicode.Scalar) -> CharacterClass {
        if scalar.isASCII { return (0x21...0x7E).contains(scalar.value) ? .ascii : .disallowed }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber:
            return .letterOrDigit
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return .mark
        default:
            return .disallowed
        }
    }
}

/// The script of a non-ASCII letter or digit, by the blocks of the scripts usernames are written in
/// (Unicode `Scripts.txt`, coarsened to blocks). A letter outside them counts as a script of its own block.
enum Script: Hashable, Sendable {
    case latin, greek, cyrillic, armenian, hebrew, arabic, syriac, thaana, indic(UInt32), thai, lao, tibetan, myanmar
    case georgian, hangul, ethiopic, cherokee, khmer, mongolian, hiragana, katakana, bopomofo, han
    case other(UInt32)

    init(_ scalar: Unicode.Scalar) {
        let v = scalar.value
        for (range, script) in Self.table where range.contains(v) {
            // Each Indic block (Devanagari, Bengali, …) is a script of its own.
            if case .indic = script { self = .indic(v >> 7) } else { self = script }
            return
        }
        self = .other(v >> 7)
    }

    private static let table: [(ClosedRange<UInt32>, Script)] = [
        (0x00AA...0x00AA, .latin), (0x00BA...0x00BA, .latin), (0x00C0...0x024F, .latin), (0x0250...0x02AF, .latin),
        (0x1D00...0x1DBF, .latin), (0x1E00...0x1EFF, .latin), (0x2C60...0x2C7F, .latin), (0xA720...0xA7FF, .latin),
        (0xAB30...0xAB6F, .latin), (0xFB00...0xFB06, .latin),
        (0x0370...0x03FF, .greek), (0x1F00...0x1FFF, .greek),
        (0x0400...0x052F, .cyrillic), (0x1C80...0x1C8F, .cyrillic), (0x2DE0...0x2DFF, .cyrillic), (0xA640...0xA69F, .cyrillic),
        (0x0530...0x058F, .armenian), (0xFB13...0xFB17, .armenian),
        (0x0590...0x05FF, .hebrew), (0xFB1D...0xFB4F, .hebrew),
        (0x0600...0x06FF, .arabic), (0x0750...0x077F, .arabic), (0x08A0...0x08FF, .arabic), (0xFB50...0xFDFF, .arabic),
        (0xFE70...0xFEFF, .arabic),
        (0x0700...0x074F, .syriac), (0x0780...0x07BF, .thaana),
        (0x0900...0x0DFF, .indic(0)),
        (0x0E00...0x0E7F, .thai), (0x0E80...0x0EFF, .lao), (0x0F00...0x0FFF, .tibetan), (0x1000...0x109F, .myanmar),
        (0x10A0...0x10FF, .georgian), (0x2D00...0x2D2F, .georgian), (0x1C90...0x1CBF, .georgian),
        (0x1100...0x11FF, .hangul), (0x3130...0x318F, .hangul), (0xA960...0xA97F, .hangul), (0xAC00...0xD7FF, .hangul),
        (0x1200...0x139F, .ethiopic), (0x2D80...0x2DDF, .ethiopic), (0x13A0...0x13FF, .cherokee), (0xAB70...0xABBF, .cherokee),
        (0x1780...0x17FF, .khmer), (0x1800...0x18AF, .mongolian),
        (0x3040...0x309F, .hiragana), (0x30A0...0x30FF, .katakana), (0x31F0...0x31FF, .katakana),
        (0x3100...0x312F, .bopomofo), (0x31A0...0x31BF, .bopomofo),
        (0x3005...0x3007, .han), (0x3400...0x4DBF, .han), (0x4E00...0x9FFF, .han), (0xF900...0xFAFF, .han),
        (0x20000...0x3134F, .han),
    ]

    /// UTS #39 §5.2 "highly restrictive": one script, or a subset of Latin + Han + Hiragana + Katakana,
    /// Latin + Han + Bopomofo, or Latin + Han + Hangul.
    static func isHighlyRestrictive(_ scripts: Set<Script>) -> Bool {
        if scripts.count <= 1 { return true }
        let allowedSets: [Set<Script>] = [[.latin, .han, .hiragana, .katakana], [.latin, .han, .bopomofo], [.latin, .han, .hangul]]
        return allowedSets.contains { scripts.isSubset(of: $0) }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

/// Bringing usernames stored before RFC 8265 canonicalisation into canonical form without merging anyone.
public enum UsernameMigration {
    /// A stored username that cannot be canonicalised in place.
    public struct Unresolved: Sendable, Equatable {
        public enum Reason: Sendable, Equatable {
            /// Its canonical form names another user (e.g. `Alice` beside `alice`): both are kept, and this one
            /// cannot sign in by name until an administrator renames or deletes one of them.
            case collidesWith(String)
            /// It is not a valid username under the new rules (a space, a zero-width or bidi character, mixed scripts).
            case invalid(Username.Problem)
        }
        public let userID: String
        public let username: String
        public let reason: Reason
    }

    /// Which users to rename to their canonical form, and which to leave and report.
    /// `users` are `(id, username)`, oldest first. A name is renamed to its canonical form only when no other
    /// user maps to that form; otherwise every name of the group that is not already canonical is left as it
    /// is and reported (nobody is ever merged).
    public static func plan(_ users: [(id: String, username: String)]) -> (renames: [(id: String, username: String)], unresolved: [Unresolved]) {
        var canonicalOf: [String: Result<String, Username.Problem>] = [:]
        for user in users {
            do { canonicalOf[user.id] = .success(try Username(user.username).value) } catch { canonicalOf[user.id] = .failure(error) }
        }
        var holders: [String: [(id: String, username: String)]] = [:]  // canonical form → users mapping to it, oldest first
        for user in users {
            if case .success(let canonical) = canonicalOf[user.id] { holders[canonical, default: []].append(user) }
        }
        var renames: [(id: String, username: String)] = []
        var unresolved: [Unresolved] = []
        for user in users {
            switch canonicalOf[user.id]! {
            case .failure(let problem):
                unresolved.append(Unresolved(userID: user.id, username: user.username, reason: .invalid(problem)))
            case .success(let canonical):
                guard canonical != user.username else { continue }
                let group = holders[canonical] ?? []
                if group.count == 1 {
                    renames.append((user.id, canonical))
                } else {
                    let keeper = group.first { $0.username == canonical } ?? group.first { $0.id != user.id }!
                    unresolved.append(Unresolved(userID: user.id, username: user.username, reason: .collidesWith(keeper.username)))
                }
            }
        }
        return (renames, unresolved)
    }
}
