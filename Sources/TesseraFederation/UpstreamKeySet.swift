import Foundation
import TesseraCore
import TesseraJOSE

/// One fetched JSON Web Key Set of an upstream provider: the core's ``VerificationKeySet`` with where and when it
/// was fetched.
struct UpstreamKeySet: Sendable {
    typealias Key = VerificationKeySet.Key

    let uri: String
    let fetchedAt: Date
    let keySet: VerificationKeySet

    init(jwks data: Data, uri: String, fetchedAt: Date) async throws(FederationFailure) {
        do {
            self.keySet = try await VerificationKeySet(jwks: data)
        } catch {
            throw .providerUnavailable(detail: "\(UpstreamHTTP.describe(uri)) is not a JSON Web Key Set")
        }
        self.uri = uri
        self.fetchedAt = fetchedAt
    }

    /// The key for `algorithm` named `kid`; without a `kid`, the only key for `algorithm` (OIDC Core §10.1).
    func key(kid: String?, algorithm: String) -> Key? {
        guard let algorithm = JWSAlgorithm(name: algorithm) else { return nil }
        return keySet.key(kid: kid, algorithm: algorithm)
    }
}
