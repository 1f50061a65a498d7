public import Foundation
import HummingbirdOTP

/// Time-based one-time passwords (RFC 6238) as authenticator apps compute them: 6 digits, 30-second
/// steps, HMAC-SHA-1, computed by hummingbird-auth's `HummingbirdOTP`.
///
/// The shared secret is a random ASCII string whose bytes are the HMAC key; apps receive those bytes
/// base32-encoded (RFC 4648, no padding).
public struct TOTPGenerator: Sendable {
    /// The HMAC key as `HummingbirdOTP` takes it (its UTF-8 bytes are the key).
    public let secret: String
    public static let digits = 6
    public static let period: TimeInterval = 30

    public init(secret: String) { self.secret = secret }

    /// A new random secret: 32 characters from a 62-letter alphabet (about 190 bits; RFC 4226 §4 asks for 128 or more).
    public static func newSecret() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// The time step (RFC 6238 §4: `T = floor(unix time / 30)`) of `date`.
    public static func step(at date: Date) -> Int64 { Int64((date.timeIntervalSince1970 / period).rounded(.down)) }

    /// The code of time step `step`, as six digits (leading zeros kept).
    public func code(step: Int64) -> String {
        let value = HummingbirdOTP.TOTP(secret: secret, length: Self.digits, timeStep: Int(Self.period), hashFunction: .sha1)
            .compute(date: Date(timeIntervalSince1970: Double(step) * Self.period))
        let text = String(value)
        return String(repeating: "0", count: max(0, Self.digits - text.count)) + text
    }

    /// The code valid at `date`.
    public func code(at date: Date) -> String { code(step: Self.step(at: date)) }

    /// The time step among `step-window ... step+window` whose code is `code`, compared in constant time; `nil` when none.
    public func matchingStep(_ code: String, around step: Int64, window: Int64 = 1) -> Int64? {
        var found: Int64?
        for candidate in (step - window)...(step + window) {
            // Check every step (no early exit) so the answer takes the same time.
            if Secrets.constantTimeEquals(Data(self.code(step: candidate).utf8), Data(code.utf8)), found == nil { found = candidate }
        }
        return found
    }

    /// The secret as authenticator apps take it: base32 of the key bytes.
    public var base32Secret: String { Base32.encode(Array(secret.utf8)) }

    /// The `otpauth://totp/…` URI (Key Uri Format) for `account`, issued by `issuer`.
    public func authenticatorURI(account: String, issuer: String) -> String {
        HummingbirdOTP.TOTP(secret: secret, length: Self.digits, timeStep: Int(Self.period), hashFunction: .sha1)
            .createAuthenticatorURL(label: "\(issuer):\(account)", issuer: issuer)
    }
}

/// RFC 4648 base32 (upper-case alphabet, no padding).
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var output: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                output.append(alphabet[Int((buffer >> UInt32(bits - 5)) & 0x1F)])
                bits -= 5
            }
        }
        if bits > 0 { output.append(alphabet[Int((buffer << UInt32(5 - bits)) & 0x1F)]) }
        return String(decoding: output, as: UTF8.self)
    }
}

/// Single-use recovery codes: 16 random base32 letters (80 bits) shown as `abcd-efgh-ijkl-mnop`; only
/// their SHA-256 digest is stored.
public enum RecoveryCodes {
    /// How many codes an enrolment gives.
    public static let count = 10

    /// `count` new codes, formatted for display.
    public static func generate(count: Int = RecoveryCodes.count) -> [String] {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        return (0..<count).map { _ in
            let letters = (0..<16).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] }
            return stride(from: 0, to: 16, by: 4).map { String(letters[$0..<$0 + 4]) }.joined(separator: "-")
        }
    }

    /// The canonical form: lower case, without dashes or spaces.
    public static func normalize(_ code: String) -> String {
        String(code.lowercased().filter { $0 != "-" && !$0.isWhitespace })
    }

    /// The at-rest digest of a code (normalized first).
    public static func digest(_ code: String) -> Data { Secrets.digest(normalize(code)) }

    /// Whether `input` looks like a recovery code rather than a TOTP code.
    public static func looksLikeRecoveryCode(_ input: String) -> Bool {
        let normalized = normalize(input)
        return normalized.count == 16 && normalized.allSatisfy { ("a"..."z").contains($0) || ("2"..."7").contains($0) }
    }
}
