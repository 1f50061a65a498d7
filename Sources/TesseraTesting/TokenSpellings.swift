import Foundation

/// Other spellings of a compact JWS that lenient base64url decoders read as the same token
/// (RFC 7515 §2 allows exactly one): each must be refused wherever a token is accepted.
public enum TokenSpellings {
    /// `token` with `=` padding appended to its last segment.
    public static func padded(_ token: String) -> String { token + "=" }

    /// `token` with its last character replaced by a sibling that decodes to the same bytes but has
    /// non-zero pad bits (RFC 4648 §3.5); `nil` when the last segment's length leaves no pad bits.
    public static func nonCanonicalLastCharacter(_ token: String) -> String? {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        guard let last = token.last, let value = alphabet.firstIndex(of: last) else { return nil }
        let segmentLength = token.utf8.count - (token.utf8.lastIndex(of: UInt8(ascii: ".")).map { token.utf8.distance(from: token.utf8.startIndex, to: $0) + 1 } ?? 0)
        switch segmentLength % 4 {
        case 2, 3: return String(token.dropLast()) + String(alphabet[value ^ 1]) // the lowest pad bit set
        default: return nil
        }
    }

    /// The non-canonical spellings of `token` that exist for it.
    public static func variants(of token: String) -> [String] {
        [padded(token), nonCanonicalLastCharacter(token)].compactMap { $0 }
    }
}
