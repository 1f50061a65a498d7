/// Anything that turns a bearer token into a verified ``AccessToken``: ``AccessTokenVerifier`` (local JWT
/// verification against the issuer's JWKS) or ``IntrospectionTokenVerifier`` (RFC 7662, asks the issuer,
/// so revocation takes effect within the cache time). ``BearerTokenMiddleware`` takes either.
public protocol BearerTokenVerifier: Sendable {
    /// Verifies `token`.
    /// - Throws: ``TokenVerificationError``.
    func verify(_ token: some StringProtocol) async throws -> AccessToken
}

extension AccessTokenVerifier: BearerTokenVerifier {}
