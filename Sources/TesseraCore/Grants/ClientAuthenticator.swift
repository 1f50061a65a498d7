import Foundation

/// Authenticates a client once per request (RFC 6749 §2.3, §3.2.1).
public struct ClientAuthenticator: Sendable {
    public let clients: any ClientStore
    public let clock: any TimeSource
    /// Verifies `private_key_jwt` assertions; `nil` refuses them (a deployment or test without outbound keys).
    public let assertions: ClientAssertionVerifier?

    public init(clients: any ClientStore, clock: any TimeSource, assertions: ClientAssertionVerifier? = nil) {
        self.clients = clients
        self.clock = clock
        self.assertions = assertions
    }

    /// Returns the authenticated client or throws `invalid_client` with one message for every failure,
    /// so a caller cannot learn which client ids exist.
    public func authenticate(_ credentials: ClientCredentials, at endpoint: String = "token") async throws -> Client {
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
        case .assertion(_, let assertion):
            guard let client, client.authMethod == .privateKeyJWT, let assertions else { throw failure }
            try await assertions.verify(assertion, client: client, at: endpoint)
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
            return try await authenticate(credentials, at: endpoint)
        } catch let error as OAuthError {
            var detail = ["endpoint": endpoint, "method": credentials.method.rawValue]
            if case .assertion = credentials { detail["reason"] = error.errorDescription }
            audit.record(AuditEvent(.clientAuthenticationFailed, at: clock.now, detail: detail))
            throw error
        }
    }
}
