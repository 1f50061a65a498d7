public import JWTKit
import TesseraJOSE

extension SigningKeySet {
    /// jwt-kit's `verify`, for canonical compact JWSs only (``JWSCompactForm/isCanonical(_:)``); any other
    /// spelling is `invalid_token` before its signature is looked at.
    public func verifyCompact<Payload: JWTPayload>(_ token: String, as payload: Payload.Type) async throws -> Payload {
        guard JWSCompactForm.isCanonical(token) else {
            throw OAuthError(.invalidToken, "The token is not a well-formed JWT.")
        }
        return try await collection.verify(token, as: payload)
    }
}
