public import Foundation

/// The three segments of a compact JWS (RFC 7515 §7.1), base64url-decoded (strictly, ``Base64URL``) but not
/// yet verified. Each verifier decodes ``headerBytes`` into its own header type and applies its policy
/// (``JWSAlgorithm`` allow-list, `crit`, `kid`), then checks ``signature`` over ``signingInput``.
public struct CompactJWS: Sendable {
    /// The token is not three non-empty, canonical unpadded base64url segments.
    public struct Malformed: Error, Sendable, Equatable {}

    /// The decoded protected header (JSON, not yet parsed).
    public let headerBytes: [UInt8]
    /// The decoded payload.
    public let payload: Data
    /// The decoded signature.
    public let signature: [UInt8]
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`, the bytes the signature covers (RFC 7515 §5.1).
    public let signingInput: [UInt8]

    /// Splits and decodes `token`.
    /// - Throws: ``Malformed`` unless `token` has exactly three non-empty canonical segments.
    public init(_ token: some StringProtocol) throws(Malformed) {
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }),
            let header = Base64URL.decode(parts[0]),
            let payload = Base64URL.decode(parts[1]),
            let signature = Base64URL.decode(parts[2])
        else {
            throw Malformed()
        }
        self.headerBytes = header
        self.payload = Data(payload)
        self.signature = signature
        self.signingInput = Array(parts[0]) + [UInt8(ascii: ".")] + Array(parts[1])
    }
}
