import Crypto
import _CryptoExtras
import Foundation
import TesseraJOSE

/// Signs compact JWS (RFC 7515 §3.1, §7.1) with one of Tessera's private keys, without going through an actor or
/// re-encoding a header per token: the protected header of each token type is encoded once, when the key is loaded.
///
/// The signature is over `BASE64URL(header) '.' BASE64URL(payload)`: ES256 is ECDSA P-256 with SHA-256, the 64-byte
/// `R || S` form (RFC 7518 §3.4); RS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3).
public struct CompactSigner: Sendable {
    /// The `typ` header parameter (RFC 7515 §4.1.9) of what is signed.
    public enum TokenType: Sendable {
        /// A JWT access token: `typ: at+jwt` (RFC 9068 §2.1).
        case accessToken
        /// Any other JWT (ID tokens): `typ: JWT` (RFC 7519 §5.1).
        case jwt
    }

    enum Key: Sendable {
        case es256(P256.Signing.PrivateKey)
        case rs256(_RSA.Signing.PrivateKey)
    }

    public let kid: String
    public let algorithm: SigningAlgorithm
    let key: Key
    /// `BASE64URL(header) '.'` for `at+jwt` and for `JWT`.
    let accessTokenPrefix: [UInt8]
    let jwtPrefix: [UInt8]

    /// Loads the private key of `record` (its PEM already opened).
    public init(record: SigningKeyRecord) throws {
        kid = record.kid
        algorithm = record.algorithm
        switch record.algorithm {
        case .es256: key = .es256(try P256.Signing.PrivateKey(pemRepresentation: record.privateKeyPEM))
        case .rs256: key = .rs256(try _RSA.Signing.PrivateKey(pemRepresentation: record.privateKeyPEM))
        }
        func prefix(_ typ: String) -> [UInt8] {
            var header = JSONObjectBytes(capacity: 96)
            header.field("alg", record.algorithm.rawValue)
            header.field("kid", record.kid)
            header.field("typ", typ)
            var out: [UInt8] = []
            Base64URL.encode(header.finish(), into: &out)
            out.append(UInt8(ascii: "."))
            return out
        }
        accessTokenPrefix = prefix("at+jwt")
        jwtPrefix = prefix("JWT")
    }

    /// The compact JWS of `payload` (JSON bytes).
    public func sign(payload: [UInt8], type: TokenType) throws -> String {
        var token = type == .accessToken ? accessTokenPrefix : jwtPrefix
        token.reserveCapacity(token.count + payload.count * 4 / 3 + 350)
        Base64URL.encode(payload, into: &token)
        let signature: Data
        switch key {
        case .es256(let key): signature = try key.signature(for: token).rawRepresentation
        case .rs256(let key): signature = try key.signature(for: token, padding: .insecurePKCS1v1_5).rawRepresentation
        }
        token.append(UInt8(ascii: "."))
        Base64URL.encode(signature, into: &token)
        return String(decoding: token, as: UTF8.self)
    }
}
