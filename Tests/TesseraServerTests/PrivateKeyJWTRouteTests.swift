import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

@Suite("private_key_jwt over HTTP (RFC 7523 §2.2)")
struct PrivateKeyJWTRouteTests {
    static func form(_ pairs: [(String, String)]) -> String {
        pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.1)" }.joined(separator: "&")
    }

    @Test("/token, /introspect and /revoke accept a signed assertion once; discovery advertises the method and its algorithms")
    func endToEnd() async throws {
        let harness = try await ServerHarness.make()
        let key = ClientKeyPair()
        _ = try await harness.provisioning.addClient(name: "Agent", grants: ["client_credentials"], scopes: ["read"], id: "agent", jwks: key.jwks)
        let assertionType = ClientAssertionVerifier.jwtBearerType
        try await harness.test { client in
            let assertion = key.assertion(clientID: "agent", audience: "https://auth.test", now: Date())
            let token = try await client.postForm(Self.form([("grant_type", "client_credentials"), ("scope", "read"),
                                                             ("client_assertion_type", assertionType), ("client_assertion", assertion)]))
            #expect(token.status == .ok, "\(String(buffer: token.body))")
            let accessToken = try #require(token.json["access_token"] as? String)

            let replay = try await client.postForm(Self.form([("grant_type", "client_credentials"), ("client_assertion_type", assertionType),
                                                              ("client_assertion", assertion)]))
            replay.expectOAuthError(.unauthorized, "invalid_client")
            #expect((replay.json["error_description"] as? String)?.contains("already used") == true)

            let introspection = try await client.postForm(
                Self.form([("token", accessToken), ("client_assertion_type", assertionType),
                           ("client_assertion", key.assertion(clientID: "agent", audience: "https://auth.test/introspect", now: Date()))]),
                to: "/introspect")
            #expect(introspection.status == .ok && introspection.json["active"] as? Bool == true, "\(String(buffer: introspection.body))")

            let revocation = try await client.postForm(
                Self.form([("token", accessToken), ("client_assertion_type", assertionType),
                           ("client_assertion", key.assertion(clientID: "agent", audience: "https://auth.test", now: Date()))]),
                to: "/revoke")
            #expect(revocation.status == .ok)

            // A secret-holding client cannot switch to assertions, and an assertion with a secret is malformed.
            let mixed = try await client.postForm(Self.form([("grant_type", "client_credentials"), ("client_id", "agent"), ("client_secret", "x"),
                                                             ("client_assertion_type", assertionType), ("client_assertion", assertion)]))
            mixed.expectOAuthError(.badRequest, "invalid_request")

            for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
                let metadata = try await client.execute(uri: path, method: .get).json
                #expect((metadata["token_endpoint_auth_methods_supported"] as? [String])?.contains("private_key_jwt") == true, "\(path)")
                #expect((metadata["introspection_endpoint_auth_methods_supported"] as? [String])?.contains("private_key_jwt") == true, "\(path)")
                let algorithms = metadata["token_endpoint_auth_signing_alg_values_supported"] as? [String] ?? []
                #expect(algorithms.contains("ES256") && algorithms.contains("RS256") && !algorithms.contains("none") && !algorithms.contains("HS256"), "\(path)")
            }
        }
        try await harness.runtime.auditSink.flush()
        let failures = try await harness.store.auditEvents(AuditEventFilter(kind: .clientAuthenticationFailed))
        #expect(failures.contains { $0.detail["method"] == "private_key_jwt" && $0.detail["reason"]?.contains("already used") == true },
                "a refused assertion is audited with its reason")
    }

    @Test("the CLI's rules: keys exclude --public, must be public keys, and the jwks_uri must be https")
    func provisioningRules() async throws {
        let harness = try await ServerHarness.make()
        let key = ClientKeyPair()
        var withPrivate = key.jwk
        withPrivate["d"] = "c2VjcmV0"
        let privateSet = String(decoding: try JSONSerialization.data(withJSONObject: ["keys": [withPrivate]]), as: UTF8.self)
        for attempt: @Sendable () async throws -> Void in [
            { _ = try await harness.provisioning.addClient(name: "A", grants: ["authorization_code"], scopes: ["read"],
                                                           redirectURIs: ["https://a.example/cb"], isPublic: true, jwks: key.jwks) },
            { _ = try await harness.provisioning.addClient(name: "B", grants: ["client_credentials"], scopes: ["read"], jwks: privateSet) },
            { _ = try await harness.provisioning.addClient(name: "C", grants: ["client_credentials"], scopes: ["read"], jwks: "not json") },
            { _ = try await harness.provisioning.addClient(name: "D", grants: ["client_credentials"], scopes: ["read"], jwksURI: "http://a.example/jwks") },
        ] {
            await #expect(throws: Provisioning.Invalid.self) { try await attempt() }
        }
        let created = try await harness.provisioning.addClient(name: "E", grants: ["client_credentials"], scopes: ["read"],
                                                               jwksURI: "https://a.example/jwks")
        #expect(created.secret == nil && created.client.authMethod == .privateKeyJWT)
    }
}
