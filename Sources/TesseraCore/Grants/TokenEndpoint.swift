import Foundation

/// The token endpoint pipeline (RFC 6749 §3.2): authenticate the client once, check the grant is
/// allowed, dispatch to its handler.
public struct TokenEndpoint: Sendable {
    public let services: GrantServices
    public let grants: GrantRegistry
    public let clientAuthenticator: ClientAuthenticator

    public init(services: GrantServices, clients: any ClientStore, grants: GrantRegistry, assertions: ClientAssertionVerifier? = nil) {
        self.services = services
        self.grants = grants
        self.clientAuthenticator = ClientAuthenticator(clients: clients, clock: services.clock, assertions: assertions)
    }

    public func handle(_ request: TokenRequest) async throws -> TokenResponse {
        guard let grantName = request["grant_type"] else {
            throw OAuthError.invalidRequest("Missing parameter 'grant_type'.")
        }
        let client = try await clientAuthenticator.authenticate(request, at: "token", audit: services.audit)
        let grantType = GrantType(rawValue: grantName)
        guard let handler = grants[grantType] else {
            throw OAuthError.unsupportedGrantType("Grant type '\(TokenRequest.printable(grantName))' is not supported.")
        }
        guard client.grantTypes.contains(grantType) else {
            throw OAuthError.unauthorizedClient("This client may not use the \(grantType.rawValue) grant.")
        }
        return try await handler.handle(request, client: client, services: services)
    }
}
