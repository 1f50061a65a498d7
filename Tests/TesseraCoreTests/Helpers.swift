import Foundation
import JWTKit
import TesseraCore
import TesseraTesting
import Testing

/// Expects `body` to throw an `OAuthError` with `code`.
func expectOAuthError(_ code: OAuthError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async {
    do {
        try await body()
        Issue.record("expected \(code.rawValue), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as OAuthError {
        #expect(error.code == code, "\(error.errorDescription)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(code.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

extension CoreHarness {
    /// Registers a confidential client and returns its Basic credentials.
    func confidentialClient(id: String = "svc", grants: Set<GrantType> = [.clientCredentials, .password, .refreshToken],
                            scopes: ScopeSet = ["read", "write", "admin"]) async throws -> (id: String, secret: String) {
        let (client, secret) = Fixtures.confidentialClient(id: id, grants: grants, scopes: scopes)
        try await storage.insertClient(client)
        return (id, secret)
    }

    func addUser(_ username: String = "alice", password: String = "wonderland", scopes: ScopeSet = ["read", "write"]) async throws -> User {
        let user = try await Fixtures.user(username, password: password, scopes: scopes, hasher: hasher)
        try await storage.insertUser(user)
        return user
    }

    func token(_ parameters: [(String, String)], basic: (id: String, secret: String)? = nil) async throws -> TokenResponse {
        try await tokenEndpoint.handle(try TokenRequest(parameters: parameters, basicCredentials: basic))
    }
}
