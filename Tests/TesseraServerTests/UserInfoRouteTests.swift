import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// `/userinfo` (OIDC Core §5.3) and `/introspect` (RFC 7662) over HTTP: audience restriction (RFC 8707,
/// RFC 9700 §2.3), revocation, deleted clients (RFC 7592 §2.3) and strict JWS spelling (RFC 7515 §2).
@Suite("GET /userinfo and token spellings over HTTP")
struct UserInfoRouteTests {
    static let other = "https://api.other.example"

    /// The harness plus a client `oidc` (password grant, `openid profile`, resource `other`) and a user `carol`.
    func harness() async throws -> (ServerHarness, basic: String) {
        let harness = try await ServerHarness.make()
        let provisioning = harness.provisioning
        let created = try await provisioning.addClient(name: "OIDC", grants: ["password"], scopes: ["openid", "profile"], id: "oidc",
                                                       resources: [Self.other])
        _ = try await provisioning.addUser(username: "carol", password: "carol-password", scopes: ["openid", "profile"])
        return (harness, "Basic " + Data("oidc:\(created.secret!)".utf8).base64EncodedString())
    }

    func token(_ client: some TestClientProtocol, _ basic: String, resource: String? = nil) async throws -> String {
        let form = "grant_type=password&username=carol&password=carol-password&scope=openid%20profile"
            + (resource.map { "&resource=\(AuthorizationRedirect.percentEncode($0))" } ?? "")
        let response = try await client.postForm(form, authorization: basic)
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        return try #require(response.json["access_token"] as? String)
    }

    func userInfo(_ client: some TestClientProtocol, _ token: String) async throws -> TestResponse {
        try await client.execute(uri: "/userinfo", method: .get, headers: [.authorization: "Bearer \(token)"])
    }

    func expectInvalidToken(_ response: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == .unauthorized, sourceLocation: sourceLocation)
        #expect(response.headers[.wwwAuthenticate]?.contains(#"error="invalid_token""#) == true, sourceLocation: sourceLocation)
        #expect(response.json["error"] as? String == "invalid_token", sourceLocation: sourceLocation)
    }

    @Test("a default-audience openid token works; one for another resource only is 401 invalid_token (RFC 8707)")
    func audience() async throws {
        let (harness, basic) = try await harness()
        try await harness.test { client in
            let ok = try await userInfo(client, try await token(client, basic))
            #expect(ok.status == .ok)
            #expect(ok.json["preferred_username"] as? String == "carol")
            expectInvalidToken(try await userInfo(client, try await token(client, basic, resource: Self.other)))
        }
    }

    @Test("a revoked token and a token of a client deleted through RFC 7592 are 401 invalid_token")
    func revokedAndDeleted() async throws {
        let (harness, basic) = try await harness()
        try await harness.test { client in
            let revoked = try await token(client, basic)
            #expect(try await userInfo(client, revoked).status == .ok)
            #expect(try await client.postForm("token=\(revoked)", to: "/revoke", authorization: basic).status == .ok)
            expectInvalidToken(try await userInfo(client, revoked))

            let orphan = try await token(client, basic)
            #expect(try await harness.store.deleteClient(id: "oidc"))
            expectInvalidToken(try await userInfo(client, orphan))
        }
    }

    @Test("RFC 7515 §2: a padded or non-canonical spelling of a valid token is inactive at /introspect and 401 at /userinfo")
    func spellings() async throws {
        let (harness, basic) = try await harness()
        try await harness.test { client in
            let valid = try await token(client, basic)
            #expect(try await userInfo(client, valid).status == .ok)
            let introspected = try await client.postForm("token=\(valid)", to: "/introspect", authorization: harness.basic)
            #expect(introspected.json["active"] as? Bool == true)
            let variants = TokenSpellings.variants(of: valid)
            #expect(variants.count == 2)
            for variant in variants {
                let answer = try await client.postForm("token=\(AuthorizationRedirect.percentEncode(variant))", to: "/introspect",
                                                       authorization: harness.basic)
                #expect(answer.status == .ok)
                #expect(String(buffer: answer.body) == #"{"active":false}"#, "\(variant)")
                expectInvalidToken(try await userInfo(client, variant))
            }
        }
    }
}
