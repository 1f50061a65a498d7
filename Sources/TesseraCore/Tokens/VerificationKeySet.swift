public import Foundation
public import JWTKit
public import TesseraJOSE

/// A JSON Web Key Set (RFC 7517 §5) of someone else's public keys — an upstream provider's, or a client's for
/// `private_key_jwt` (RFC 7523 §2.2) — ready to verify signatures.
///
/// A key is usable only with the algorithms its type and curve allow, and only with its `alg` when the set states
/// one (RFC 8725 §3.1). Keys for encryption (`use` other than `sig`, `key_ops` without `verify`), private keys and
/// keys of unknown types are skipped; one bad key does not discard the others.
public struct VerificationKeySet: Sendable {
    public struct Key: Sendable {
        public let kid: String?
        public let algorithm: JWSAlgorithm
        public let verifier: any JWTAlgorithm
    }

    /// The document is not a JSON object with a `keys` array.
    public struct NotAKeySet: Error, Sendable {}

    public let keys: [Key]
    /// Whether the document held a private key (`d`): a registration must refuse it, a fetch logs it.
    public let containsPrivateKey: Bool

    public init(jwks data: Data) async throws(NotAKeySet) {
        guard let set = try? JSONDecoder().decode(LenientKeySet.self, from: data) else { throw NotAKeySet() }
        let collection = JWTKeyCollection()
        var keys: [Key] = []
        var containsPrivateKey = false
        for (index, entry) in set.keys.enumerated() {
            guard let metadata = entry.metadata, let keyType = metadata.kty, var jwk = entry.jwk else { continue }
            if metadata.d != nil {
                containsPrivateKey = true
                continue
            }
            if let use = metadata.use, use != "sig" { continue }
            if let operations = metadata.keyOperations, !operations.contains("verify") { continue }
            for algorithm in JWSAlgorithm.allSupported
            where algorithm.isCompatible(keyType: keyType, curve: metadata.crv) && (metadata.alg == nil || metadata.alg == algorithm.name) {
                let identifier = JWKIdentifier(string: "\(index) \(algorithm.name)")
                jwk.algorithm = JWK.Algorithm(rawValue: algorithm.name)
                jwk.keyIdentifier = identifier
                do {
                    try await collection.add(jwk: jwk)
                    let verifier = try await collection.getKey(for: identifier, alg: algorithm.name)
                    keys.append(Key(kid: metadata.kid, algorithm: algorithm, verifier: verifier))
                } catch {
                    continue
                }
            }
        }
        self.keys = keys
        self.containsPrivateKey = containsPrivateKey
    }

    /// The key for `algorithm` named `kid`; without a `kid`, the only key for `algorithm` (OIDC Core §10.1).
    public func key(kid: String?, algorithm: JWSAlgorithm) -> Key? {
        if let kid {
            return keys.first { $0.kid == kid && $0.algorithm == algorithm }
        }
        let candidates = keys.filter { $0.algorithm == algorithm }
        return candidates.count == 1 ? candidates[0] : nil
    }

    /// Whether some key named `kid` (any algorithm) is in the set; a miss may mean the set is stale.
    public func contains(kid: String) -> Bool { keys.contains { $0.kid == kid } }
}

/// A key set decoded entry by entry, so one key of an unknown type does not discard the others.
private struct LenientKeySet: Decodable {
    let keys: [Entry]

    struct Entry: Decodable {
        let metadata: Metadata?
        let jwk: JWK?

        init(from decoder: any Decoder) throws {
            self.metadata = try? Metadata(from: decoder)
            self.jwk = try? JWK(from: decoder)
        }
    }

    struct Metadata: Decodable {
        let kty: String?
        let kid: String?
        let use: String?
        let alg: String?
        let crv: String?
        let d: String?
        let keyOperations: [String]?

        enum CodingKeys: String, CodingKey {
            case kty, kid, use, alg, crv, d
            case keyOperations = "key_ops"
        }
    }
}
