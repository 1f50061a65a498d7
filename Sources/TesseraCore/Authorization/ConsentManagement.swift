import Foundation
public import JWTKit

/// A user's view of their grants: list them, revoke one (with the refresh tokens it produced).
public struct ConsentManagement: Sendable {
    public let services: GrantServices
    /// Consents, and the refresh tokens issued under one (`ConsentStore.revokeRefreshTokens(subject:clientID:at:)`).
    public let consents: any ConsentStore

    public init(services: GrantServices, consents: any ConsentStore) {
        self.services = services
        self.consents = consents
    }

    /// Forgets the consent and revokes every refresh token the client holds for the user, so the
    /// next authorization asks again and nothing issued under the grant can be refreshed.
    @discardableResult
    public func revoke(subject: String, clientID: String) async throws -> Int {
        let now = services.clock.now
        _ = try await consents.deleteConsent(subject: subject, clientID: clientID)
        let revoked = try await consents.revokeRefreshTokens(subject: subject, clientID: clientID, at: now)
        services.audit.record(AuditEvent(.consentRevoked, at: now, clientID: clientID, subject: subject, detail: ["revoked": String(revoked)]))
        return revoked
    }
}

/// Verifies Tessera's own ID tokens presented back to it (logout hints); `/userinfo` is ``UserInfoEndpoint``.
public struct OpenIDTokens: Sendable {
    public let services: GrantServices
    public init(services: GrantServices) { self.services = services }

    /// The claims of an ID token we issued, signature and issuer checked, expiry ignored
    /// (OIDC RP-Initiated Logout §2: an expired hint is still a hint). Only the canonical spelling of the
    /// compact JWS is accepted (``JWSCompactForm``).
    public func verifyIDTokenHint(_ token: String) async -> IDTokenHint? {
        guard let hint = try? await services.accessTokens.keys.current.verifyCompact(token, as: IDTokenHint.self),
              hint.iss == services.settings.issuer else { return nil }
        return hint
    }
}

/// The parts of an ID token used as a logout hint.
public struct IDTokenHint: JWTPayload {
    public var iss: String
    public var sub: String
    public var aud: [String]

    enum CodingKeys: String, CodingKey { case iss, sub, aud }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iss = try c.decode(String.self, forKey: .iss)
        sub = try c.decode(String.self, forKey: .sub)
        if let one = try? c.decode(String.self, forKey: .aud) { aud = [one] } else { aud = try c.decode([String].self, forKey: .aud) }
    }

    /// Expiry is deliberately not checked.
    public func verify(using algorithm: some JWTAlgorithm) async throws {}
}
