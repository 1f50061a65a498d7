import Foundation

/// Strict unpadded base64url (RFC 7515 §2, RFC 4648 §5): rejects padding, characters outside
/// `[A-Za-z0-9_-]`, lengths ≡ 1 (mod 4) and non-zero trailing bits (RFC 4648 §3.5), so every byte
/// string has exactly one accepted encoding.
///
/// The one decoder for JOSE in Tessera: the server's JWT checks (``JWSCompactForm``), the resource-server
/// toolkit and the federation client all use it.
public enum Base64URL {
    /// The decoded bytes, or `nil` unless `input` is the one canonical unpadded encoding.
    public static func decode(_ input: some Collection<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(input.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in input {
            guard let value = sextet(character) else { return nil }
            accumulator = (accumulator << 6) | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        // 6 leftover bits means a length of 4n+1, which no byte string encodes to;
        // otherwise the leftover bits must be zero.
        guard bits < 6, accumulator == 0 else { return nil }
        return output
    }

    /// Whether `input` is a canonical unpadded encoding (``decode(_:)`` without building the bytes).
    public static func isCanonical(_ input: some Collection<UInt8>) -> Bool {
        var last: UInt8 = 0
        for character in input {
            guard let value = sextet(character) else { return false }
            last = value
        }
        switch input.count % 4 {
        case 1: return false
        case 2: return last & 0b1111 == 0 // 12 bits carry 8: the low 4 must be zero
        case 3: return last & 0b11 == 0 // 18 bits carry 16: the low 2 must be zero
        default: return true
        }
    }

    /// Unpadded base64url (RFC 4648 §5).
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        encode(bytes, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the unpadded base64url (RFC 4648 §5) of `bytes` to `out`.
    public static func encode(_ bytes: some Sequence<UInt8>, into out: inout [UInt8]) {
        // One loop over contiguous memory: a generic, unspecialised walk over the sequence cost 100k instructions per token.
        if bytes.withContiguousStorageIfAvailable({ encode(contiguous: $0, into: &out) }) != nil { return }
        Array(bytes).withUnsafeBufferPointer { encode(contiguous: $0, into: &out) }
    }

    private static func encode(contiguous bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        out.reserveCapacity(out.count + (bytes.count * 4 + 2) / 3)
        alphabet.withUnsafeBufferPointer { table in
            var index = 0
            while index + 3 <= bytes.count {
                let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
                out.append(table[Int(chunk >> 18 & 0x3F)])
                out.append(table[Int(chunk >> 12 & 0x3F)])
                out.append(table[Int(chunk >> 6 & 0x3F)])
                out.append(table[Int(chunk & 0x3F)])
                index += 3
            }
            switch bytes.count - index {
            case 1:
                let chunk = UInt32(bytes[index]) << 16
                out.append(table[Int(chunk >> 18 & 0x3F)])
                out.append(table[Int(chunk >> 12 & 0x3F)])
            case 2:
                let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
                out.append(table[Int(chunk >> 18 & 0x3F)])
                out.append(table[Int(chunk >> 12 & 0x3F)])
                out.append(table[Int(chunk >> 6 & 0x3F)])
            default:
                break
            }
        }
    }

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }
}

/// The form of a JWS compact serialization (RFC 7515 §7.1), checked before jwt-kit sees a token.
///
/// jwt-kit decodes base64url leniently (it accepts `=` padding and non-zero trailing bits), so without
/// this check one token had several accepted spellings — each a different cache key, revocation
/// digest or replay identity. Every JWT Tessera reads (introspection, userinfo, revocation,
/// `id_token_hint`) goes through the core's `SigningKeySet.verifyCompact(_:as:)`, which checks this first.
public enum JWSCompactForm {
    /// Whether `token` is exactly three non-empty, canonical unpadded base64url segments.
    public static func isCanonical(_ token: some StringProtocol) -> Bool {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count == 3 && parts.allSatisfy { !$0.isEmpty && Base64URL.isCanonical($0) }
    }

    /// The `kid` in the protected header of a canonical compact JWS, or `nil`.
    public static func keyID(_ token: some StringProtocol) -> String? {
        guard let header = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false).first,
              let bytes = Base64URL.decode(header),
              let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else { return nil }
        return object["kid"] as? String
    }
}
