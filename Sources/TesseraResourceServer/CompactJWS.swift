import Foundation

/// The three segments of a compact JWS (RFC 7515 §7.1), decoded but not yet verified.
struct CompactJWS {
    struct Header: Decodable {
        let alg: String?
        let typ: String?
        let kid: String?
        let crit: ClaimValue?
    }

    let header: Header
    let signingInput: [UInt8]
    let payload: Data
    let signature: [UInt8]

    init(_ token: some StringProtocol) throws {
        let malformed = TokenVerificationError(.malformed, "The access token is not a well-formed JWT")
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else { throw malformed }
        guard let headerBytes = Base64URL.decode(parts[0]),
            let payloadBytes = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else {
            throw malformed
        }
        do {
            self.header = try JSONDecoder().decode(Header.self, from: Data(headerBytes))
        } catch {
            throw malformed
        }
        self.payload = Data(payloadBytes)
        self.signature = signature
        self.signingInput = Array(parts[0]) + [UInt8(ascii: ".")] + Array(parts[1])
    }
}

/// Strict unpadded base64url (RFC 7515 §2): rejects padding, other alphabets, impossible
/// lengths and non-zero trailing bits, so every byte string has exactly one accepted encoding.
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

    /// Unpadded base64url.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

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
