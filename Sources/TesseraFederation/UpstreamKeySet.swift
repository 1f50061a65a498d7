import Foundation
import JWTKit
import TesseraCore

/// The asymmetric JWS algorithms an upstream ID token may use (RFC 7518 §3). `none` and the HMAC
/// algorithms are not here, so no configuration or provider metadata can make Tessera accept them.
enum UpstreamSignatureAlgorithm: String, Sendable, CaseIterable {
    case es256 = "ES256", es384 = "ES384", es512 = "ES512"
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"

    /// Whether a JWK of type `keyType` (and curve `curve`) can verify this algorithm.
    func isCompatible(keyType: String, curve: String?) -> Bool {
        switch self {
        case .es256: keyType == "EC" && curve == "P-256"
        case .es384: keyType == "EC" && curve == "P-384"
        case .es512: keyType == "EC" && curve == "P-521"
        case .rs256, .rs384, .rs512, .ps256, .ps384, .ps512: keyType == "RSA"
        }
    }

    /// The size of the algorithm's hash in bits, which also sizes `at_hash` (OIDC Core §3.1.3.6).
    var hashBits: Int {
        switch self {
        case .es256, .rs256, .ps256: 256
        case .es384, .rs384, .ps384: 384
        case .es512, .rs512, .ps512: 512
        }
    }
}

/// One fetched JSON Web Key Set (RFC 7517 §5), indexed by `kid` and algorithm.
///
/// A key is usable only with the algorithms its type and curve allow, and only with its `alg` when the set states
/// one. Keys for encryption (`use` other than `sig`), private keys and keys of unknown types are skipped; one bad
/// key does not discard the others.
struct UpstreamKeySet: Sendable {
    struct Key: Sendable {
        let kid: String?
        let algorithm: UpstreamSignatureAlgorithm
        let verifier: any JWTAlgorithm
    }

    let uri: String
    let fetchedAt: Date
    let keys: [Key]

    init(jwks data: Data, uri: String, fetchedAt: Date) async throws(FederationFailure) {
        guard let document = JSONValue.object(from: data), case .array(let entries)? = document["keys"] else {
            throw .providerUnavailable(detail: "\(UpstreamHTTP.describe(uri)) is not a JSON Web Key Set")
        }
        let collection = JWTKeyCollection()
        var keys: [Key] = []
        for (index, entry) in entries.enumerated() {
            guard case .object(let members) = entry, let keyType = members["kty"]?.stringValue,
                let raw = try? JSONEncoder().encode(entry), var jwk = try? JSONDecoder().decode(JWK.self, from: raw)
            else {
                continue
            }
            if let use = members["use"]?.stringValue, use != "sig" { continue }
            if let operations = members["key_ops"]?.stringArray, !operations.contains("verify") { continue }
            if members["d"] != nil { continue }
            let kid = members["kid"]?.stringValue
            let statedAlgorithm = members["alg"]?.stringValue
            let curve = members["crv"]?.stringValue
            for algorithm in UpstreamSignatureAlgorithm.allCases
            where algorithm.isCompatible(keyType: keyType, curve: curve) && (statedAlgorithm == nil || statedAlgorithm == algorithm.rawValue) {
                let identifier = JWKIdentifier(string: "\(index) \(algorithm.rawValue)")
                jwk.algorithm = JWK.Algorithm(rawValue: algorithm.rawValue)
                jwk.keyIdentifier = identifier
                do {
                    try await collection.add(jwk: jwk)
                    let verifier = try await collection.getKey(for: identifier, alg: algorithm.rawValue)
                    keys.append(Key(kid: kid, algorithm: algorithm, verifier: verifier))
                } catch {
                    continue
                }
            }
        }
        self.uri = uri
        self.fetchedAt = fetchedAt
        self.keys = keys
    }

    /// The key for `algorithm` named `kid`; without a `kid`, the only key for `algorithm` (OIDC Core §10.1).
    func key(kid: String?, algorithm: String) -> Key? {
        guard let algorithm = UpstreamSignatureAlgorithm(rawValue: algorithm) else { return nil }
        if let kid {
            return self.keys.first { $0.kid == kid && $0.algorithm == algorithm }
        }
        let candidates = self.keys.filter { $0.algorithm == algorithm }
        return candidates.count == 1 ? candidates[0] : nil
    }
}
