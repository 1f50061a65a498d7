import Foundation
import JWTKit
import TesseraCore
import TesseraJOSE

/// One fetched JSON Web Key Set (RFC 7517 §5), indexed by `kid` and algorithm.
///
/// A key is usable only with the algorithms its type and curve allow, and only with its `alg` when the set states
/// one. Keys for encryption (`use` other than `sig`), private keys and keys of unknown types are skipped; one bad
/// key does not discard the others.
struct UpstreamKeySet: Sendable {
    struct Key: Sendable {
        let kid: String?
        let algorithm: JWSAlgorithm
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
            for algorithm in JWSAlgorithm.allSupported
            where algorithm.isCompatible(keyType: keyType, curve: curve) && (statedAlgorithm == nil || statedAlgorithm == algorithm.name) {
                let identifier = JWKIdentifier(string: "\(index) \(algorithm.name)")
                jwk.algorithm = JWK.Algorithm(rawValue: algorithm.name)
                jwk.keyIdentifier = identifier
                do {
                    try await collection.add(jwk: jwk)
                    let verifier = try await collection.getKey(for: identifier, alg: algorithm.name)
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
        guard let algorithm = JWSAlgorithm(name: algorithm) else { return nil }
        if let kid {
            return self.keys.first { $0.kid == kid && $0.algorithm == algorithm }
        }
        let candidates = self.keys.filter { $0.algorithm == algorithm }
        return candidates.count == 1 ? candidates[0] : nil
    }
}
