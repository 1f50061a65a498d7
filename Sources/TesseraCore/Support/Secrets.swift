import Crypto
public import Foundation

/// Random secrets and their at-rest digests.
///
/// Tokens, codes and client secrets are high-entropy random values, so a fast SHA-256 digest is the
/// right at-rest form: it is infeasible to invert and keeps `/token` fast (DESIGN.md).
public enum Secrets {
    /// A URL-safe random string carrying `bytes` bytes (default 32 = 256 bits) of randomness.
    public static func random(bytes: Int = 32) -> String {
        // Eight bytes per draw: each draw of the system generator is a syscall (getrandom).
        var generator = SystemRandomNumberGenerator()
        var data = Data(capacity: bytes + 8)
        while data.count < bytes { withUnsafeBytes(of: generator.next() as UInt64) { data.append(contentsOf: $0) } }
        return data.prefix(bytes).base64URLEncodedString()
    }

    /// A random identifier (client ids): like ``random(bytes:)`` but never starting with `-` or `_`, so it
    /// reads as a value, not an option, on any command line (`tessera audit --client ID`).
    public static func identifier(bytes: Int = 16) -> String {
        while true {
            let candidate = random(bytes: bytes)
            if let first = candidate.utf8.first, first != UInt8(ascii: "-"), first != UInt8(ascii: "_") { return candidate }
        }
    }

    /// The SHA-256 digest of a secret, as stored in the database.
    public static func digest(_ secret: String) -> Data {
        Data(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Compares two byte strings in time independent of where they differ.
    public static func constantTimeEquals(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

extension Data {
    /// base64url without padding (RFC 4648 §5).
    public func base64URLEncodedString() -> String {
        // One pass over the bytes (three replacingOccurrences calls were a few % of /token).
        var bytes = [UInt8](base64EncodedData())
        while bytes.last == UInt8(ascii: "=") { bytes.removeLast() }
        for index in bytes.indices {
            if bytes[index] == UInt8(ascii: "+") { bytes[index] = UInt8(ascii: "-") } else if bytes[index] == UInt8(ascii: "/") { bytes[index] = UInt8(ascii: "_") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes base64url with or without padding; `nil` when malformed.
    public init?(base64URLEncoded string: String) {
        var s = string.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard !s.contains("=") || string.hasSuffix("=") else { return nil }
        while s.count % 4 != 0 { s.append("=") }
        self.init(base64Encoded: s)
    }
}
