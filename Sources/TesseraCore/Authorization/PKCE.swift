import Crypto
import Foundation

/// Proof Key for Code Exchange (RFC 7636), `S256` only: `plain` offers no protection against a stolen
/// authorization request and is refused (RFC 9700 §2.1.1).
public enum PKCE {
    /// The only supported `code_challenge_method`.
    public static let method = "S256"

    /// `code_verifier = 43*128unreserved` (RFC 7636 §4.1); a challenge has the same grammar (§4.2, 43 chars for S256).
    public static func isWellFormed(_ value: String) -> Bool {
        guard (43...128).contains(value.utf8.count) else { return false }
        return value.utf8.allSatisfy { c in
            (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || (0x30...0x39).contains(c)
                || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "~")
        }
    }

    /// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
    public static func challenge(for verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncodedString()
    }

    /// Whether `verifier` proves `challenge` (RFC 7636 §4.6), compared in constant time.
    public static func verify(verifier: String, challenge: String) -> Bool {
        guard isWellFormed(verifier) else { return false }
        return Secrets.constantTimeEquals(Data(Self.challenge(for: verifier).utf8), Data(challenge.utf8))
    }
}
