import Foundation
// The one strict base64url decoder (RFC 7515 §2, RFC 4648 §3.5) is the core's `Base64URL`.
import TesseraCore

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
