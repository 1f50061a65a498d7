import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

@Suite("CORS for browser-based clients (Fetch standard)")
struct CORSRouteTests {
    static func harness(_ adjust: (inout TesseraConfiguration) -> Void = { _ in }) async throws -> ServerHarness {
        let harness = try await ServerHarness.make(adjust)
        _ = try await harness.provisioning.addClient(name: "Web app", grants: ["authorization_code", "refresh_token"], scopes: ["read"],
                                                     redirectURIs: ["https://app.example/callback"], isPublic: true, id: "web")
        return harness
    }

    func request(_ client: any TestClientProtocol, _ uri: String, _ method: HTTPRequest.Method, origin: String?,
                 headers extra: HTTPFields = [:], body: String? = nil) async throws -> TestResponse {
        var headers = extra
        if let origin { headers[.origin] = origin }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    @Test("preflight and answers at /token, /revoke, /register, /userinfo: the redirect origins of public clients only")
    func clientEndpoints() async throws {
        let harness = try await Self.harness()
        try await harness.test { client in
            let preflightHeaders: HTTPFields = [.accessControlRequestMethod: "POST", .accessControlRequestHeaders: "content-type"]
            for path in ["/token", "/revoke", "/register", "/userinfo"] {
                let allowed = try await request(client, path, .options, origin: "https://app.example", headers: preflightHeaders)
                #expect(allowed.status == .noContent, "\(path)")
                #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example", "\(path)")
                #expect(allowed.headers[.accessControlAllowMethods]?.contains("POST") == true, "\(path)")
                #expect(allowed.headers[.accessControlAllowHeaders]?.contains("Authorization") == true, "\(path)")
                #expect(allowed.headers[.vary] == "Origin", "\(path)")
                #expect(allowed.headers[.accessControlAllowCredentials] == nil, "no credentials, ever")
                for stranger in ["https://evil.example", "https://app.example.evil.example", "http://app.example", "null",
                                 "https://app.example:444", "https://APP.example.", "https://аpp.example"] {
                    let refused = try await request(client, path, .options, origin: stranger, headers: preflightHeaders)
                    #expect(refused.headers[.accessControlAllowOrigin] == nil, "\(path) from \(stranger)")
                }
            }
            // Spellings of the allowed origin that are the same origin (RFC 6454): case and the default port.
            for same in ["HTTPS://APP.EXAMPLE", "https://app.example:443"] {
                let response = try await request(client, "/token", .options, origin: same, headers: preflightHeaders)
                #expect(response.headers[.accessControlAllowOrigin] == same)
            }
            // An error answer is readable by the allowed script too.
            let error = try await request(client, "/token", .post, origin: "https://app.example",
                                          headers: [.contentType: "application/x-www-form-urlencoded"], body: "grant_type=refresh_token&refresh_token=x&client_id=web")
            #expect(error.status == .badRequest)
            #expect(error.headers[.accessControlAllowOrigin] == "https://app.example")
            #expect(error.headers[.accessControlExposeHeaders]?.contains("WWW-Authenticate") == true)
        }
    }

    @Test("discovery and JWKS: any origin; HTML pages and introspection: none")
    func publicDocumentsAndPages() async throws {
        let harness = try await Self.harness()
        try await harness.test { client in
            for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/jwks.json"] {
                let response = try await request(client, path, .get, origin: "https://anywhere.example")
                #expect(response.status == .ok && response.headers[.accessControlAllowOrigin] == "*", "\(path)")
                let preflight = try await request(client, path, .options, origin: "https://anywhere.example",
                                                  headers: [.accessControlRequestMethod: "GET"])
                #expect(preflight.status == .noContent && preflight.headers[.accessControlAllowOrigin] == "*", "\(path)")
            }
            for path in ["/login", "/authorize?client_id=web", "/account", "/consent"] {
                let response = try await request(client, path, .get, origin: "https://app.example")
                #expect(response.headers[.accessControlAllowOrigin] == nil, "\(path) is a page: no CORS")
            }
            let introspect = try await request(client, "/introspect", .options, origin: "https://app.example",
                                               headers: [.accessControlRequestMethod: "POST"])
            #expect(introspect.headers[.accessControlAllowOrigin] == nil, "introspection is server to server")
        }
    }

    @Test("TESSERA_CORS_ORIGINS replaces the default")
    func configured() async throws {
        let harness = try await Self.harness { $0.corsOrigins = ["https://console.example"] }
        try await harness.test { client in
            let headers: HTTPFields = [.accessControlRequestMethod: "POST"]
            let console = try await request(client, "/token", .options, origin: "https://console.example", headers: headers)
            #expect(console.headers[.accessControlAllowOrigin] == "https://console.example")
            let app = try await request(client, "/token", .options, origin: "https://app.example", headers: headers)
            #expect(app.headers[.accessControlAllowOrigin] == nil)
        }
    }
}

@Suite("Discovery: RFC 8414 and OpenID Connect documents agree")
struct DiscoveryAgreementTests {
    @Test("every key both documents have has one value; userinfo, end_session, configured scopes and implicit are in both")
    func agree() async throws {
        let harness = try await ServerHarness.make { $0.defaultScopes = ["read", "mcp:tools"] }
        try await harness.test { client in
            let oauth = try await client.execute(uri: "/.well-known/oauth-authorization-server", method: .get).json
            let oidc = try await client.execute(uri: "/.well-known/openid-configuration", method: .get).json
            for key in Set(oauth.keys).intersection(oidc.keys) {
                let a = try JSONSerialization.data(withJSONObject: ["v": oauth[key]!], options: [.sortedKeys])
                let b = try JSONSerialization.data(withJSONObject: ["v": oidc[key]!], options: [.sortedKeys])
                #expect(a == b, "\(key) differs")
            }
            for document in [oauth, oidc] {
                #expect(document["userinfo_endpoint"] as? String == "https://auth.test/userinfo")
                #expect(document["end_session_endpoint"] as? String == "https://auth.test/logout")
                let scopes = Set(document["scopes_supported"] as? [String] ?? [])
                #expect(scopes.isSuperset(of: ["openid", "profile", "email", "read", "mcp:tools"]), "\(scopes)")
                let grants = document["grant_types_supported"] as? [String] ?? []
                let responses = document["response_types_supported"] as? [String] ?? []
                #expect(!responses.contains("token") || grants.contains("implicit"), "token response type needs the implicit grant listed")
            }
        }
    }
}
