import Foundation

/// Authenticates a client once per request (RFC 6749 §2.3, §3.2.1).
public struct ClientAuthenticator: Sendable {
    public let clients: any ClientStore
    public let clock: any TimeSource

    public init(clients: any ClientStore, clock: any TimeSource) {
        self.clients = clients
        self.clock = clock
    }

    /// Returns the authenticated client or throws `invalid_client` with one message for every failure,
    /// so a caller cannot learn which client ids exist.
    public func authenticate(_ credentials: ClientCredentials) async throws -> Client {
        let failure = OAuthError.invalidClient("Client authentication failed.")
        let client = try await clients.client(id: credentials.clientID)
        switch credentials {
        case .basic(_, let secret), .post(_, let secret):
            // Digest even when the client is unknown so both paths cost the same.
            let presented = Secrets.digest(secret)
            guard let client, let stored = client.secretDigest, !client.isPublic else { throw failure }
            guard Secrets.constantTimeEquals(presented, stored) else { throw failure }
            if let expiry = client.secretExpiresAt, expiry <= clock.now {
                throw OAuthError.invalidClient("The client secret has expired.")
            }
            return client
        case .none:
            guard let client, client.isPublic else { throw failure }
            return client
        }
    }
}

extension ClientAuthenticator {
    /// Resolves the request's credentials (exactly one method), authenticates the client once, and
    /// audits a failure — the first step of `/token`, `/revoke` and `/introspect` alike.
    public func authenticate(_ request: TokenRequest, at endpoint: String, audit: any AuditSink) async throws -> Client {
        let credentials = try request.clientCredentials()
        do {
            return try await authenticate(credentials)
        } catch let error as OAuthError {
            audit.record(AuditEvent(.clientAuthenticationFailed, at: clock.now,
                                    detail: ["endpoint": endpoint, "method": credentials.method.rawValue]))
            throw error
        }
    }
}
