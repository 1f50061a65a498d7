import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

@Suite("POST /token over HTTP (RFC 6749 §3.2, §5)")
struct TokenRouteTests {
    @Test("client_credentials with HTTP Basic returns a no-store JSON token response")
    func clientCredentialsBasic() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let response = try await client.postForm("grant_type=client_credentials&scope=read", authorization: harness.basic)
            #expect(response.status == .ok)
            #expect(response.headers[.cacheControl] == "no-store")
            #expect(response.headers[HTTPField.Name("Pragma")!] == "no-cache")
            #expect(response.json["token_type"] as? String == "Bearer")
            #expect(response.json["scope"] as? String == "read")
            #expect(response.json["expires_in"] as? Int == 900)
            #expect(response.json["refresh_token"] == nil)
        }
    }

    @Test("Content-Type: the media type in any case, with parameters and whitespace; anything else is invalid_request")
    func contentTypeSpellings() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            for accepted in ["application/x-www-form-urlencoded", "Application/X-WWW-Form-URLEncoded", " application/x-www-form-urlencoded\t",
                             "application/x-www-form-urlencoded; charset=utf-8", "APPLICATION/X-WWW-FORM-URLENCODED;charset=UTF-8"] {
                let response = try await client.postForm("grant_type=client_credentials", authorization: harness.basic, contentType: accepted)
                #expect(response.status == .ok, "\(accepted)")
            }
            // Near misses: a suffix, a prefix, another type, a Cyrillic а, a fullwidth letter, a Kelvin sign, nothing.
            for refused in ["application/x-www-form-urlencodedx", "xapplication/x-www-form-urlencoded", "application/json", "multipart/form-data",
                            "\u{430}pplication/x-www-form-urlencoded", "application/x-www-form-urlencode\u{FF44}", "application/x-www-form-\u{212A}rlencoded",
                            "application/x-www-form-urlencoded ,", ""] {
                let response = try await client.postForm("grant_type=client_credentials", authorization: harness.basic, contentType: refused)
                response.expectOAuthError(.badRequest, "invalid_request")
            }
        }
    }

    @Test("client_secret_post, password grant and refresh rotation")
    func passwordAndRefresh() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let login = try await client.postForm("grant_type=password&username=alice&password=wonderland&client_id=svc&client_secret=\(harness.clientSecret)")
            #expect(login.status == .ok)
            let refresh = try #require(login.json["refresh_token"] as? String)
            let rotated = try await client.postForm("grant_type=refresh_token&refresh_token=\(refresh)", authorization: harness.basic)
            #expect(rotated.status == .ok)
            #expect(rotated.json["refresh_token"] as? String != refresh)
            let replay = try await client.postForm("grant_type=refresh_token&refresh_token=\(refresh)", authorization: harness.basic)
            replay.expectOAuthError(.badRequest, "invalid_grant")
        }
    }

    @Test("a bad secret over Basic is 401 invalid_client with WWW-Authenticate: Basic")
    func invalidClientBasic() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let wrong = "Basic " + Data("svc:nope".utf8).base64EncodedString()
            let response = try await client.postForm("grant_type=client_credentials", authorization: wrong)
            response.expectOAuthError(.unauthorized, "invalid_client")
            #expect(response.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
            let unknown = try await client.postForm("grant_type=client_credentials&client_id=ghost&client_secret=x")
            unknown.expectOAuthError(.unauthorized, "invalid_client")
            #expect(String(buffer: unknown.body) == String(buffer: response.body), "unknown client and wrong secret look the same")
        }
    }

    @Test("protocol errors: two auth methods, repeated parameter, unknown grant, missing grant_type")
    func protocolErrors() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            try await client.postForm("grant_type=client_credentials&client_secret=\(harness.clientSecret)", authorization: harness.basic)
                .expectOAuthError(.badRequest, "invalid_request")
            try await client.postForm("grant_type=client_credentials&scope=read&scope=write", authorization: harness.basic)
                .expectOAuthError(.badRequest, "invalid_request")
            try await client.postForm("grant_type=urn:example:nope", authorization: harness.basic)
                .expectOAuthError(.badRequest, "unsupported_grant_type")
            try await client.postForm("scope=read", authorization: harness.basic)
                .expectOAuthError(.badRequest, "invalid_request")
            try await client.postForm("grant_type=client_credentials&scope=admin", authorization: harness.basic)
                .expectOAuthError(.badRequest, "invalid_scope")
            try await client.postForm("grant_type=client_credentials&client_id=spa")
                .expectOAuthError(.badRequest, "unauthorized_client")
            try await client.postForm("grant_type=client_credentials")
                .expectOAuthError(.unauthorized, "invalid_client")
        }
    }

    @Test("bad input is a 4xx RFC-shaped error, never a 5xx")
    func badInput() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            // wrong content type
            try await client.postForm("{\"grant_type\":\"client_credentials\"}", authorization: harness.basic, contentType: "application/json")
                .expectOAuthError(.badRequest, "invalid_request")
            // no body at all
            try await client.execute(uri: "/token", method: .post).expectOAuthError(.badRequest, "invalid_request")
            // malformed percent-encoding and non-UTF-8 bytes
            try await client.postForm("grant_type=client_%ZZcredentials", authorization: harness.basic).expectOAuthError(.badRequest, "invalid_request")
            try await client.postForm("grant_type=%", authorization: harness.basic).expectOAuthError(.badRequest, "invalid_request")
            try await client.postBytes(Array("grant_type=".utf8) + [0xFF, 0xFE], authorization: harness.basic).expectOAuthError(.badRequest, "invalid_request")
            try await client.postForm("grant_type=%C3%28", authorization: harness.basic).expectOAuthError(.badRequest, "invalid_request")
            // malformed Basic credentials: not base64, no colon, not UTF-8, not form-encoded properly
            for header in ["Basic !!!", "Basic " + Data("nocolon".utf8).base64EncodedString(), "Basic " + Data([0xFF, 0x3A, 0xFE]).base64EncodedString(),
                           "Basic " + Data("svc:%zz".utf8).base64EncodedString(), "Basic", "Bearer abc"] {
                try await client.postForm("grant_type=client_credentials", authorization: header).expectOAuthError(.unauthorized, "invalid_client")
            }
            // a body over the limit
            let large = "grant_type=client_credentials&pad=" + String(repeating: "a", count: 70_000)
            try await client.postForm(large, authorization: harness.basic).expectOAuthError(.contentTooLarge, "invalid_request")
            // an unknown endpoint and a wrong method
            let missing = try await client.execute(uri: "/nope", method: .get)
            #expect(missing.status == .notFound)
            #expect(missing.json["error"] as? String == "not_found")
            let wrongMethod = try await client.execute(uri: "/token", method: .get)
            #expect((400..<500).contains(wrongMethod.status.code))
        }
    }

    @Test("security headers on every response")
    func securityHeaders() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            for uri in ["/jwks.json", "/nope"] {
                let response = try await client.execute(uri: uri, method: .get)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(response.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
                #expect(response.headers[.strictTransportSecurity] != nil, "the issuer is https")
            }
        }
    }
}

@Suite("Discovery: /jwks.json (RFC 7517) and metadata (RFC 8414)")
struct DiscoveryRouteTests {
    @Test("JWKS publishes public keys with kid, and tokens name one of them")
    func jwks() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let jwks = try await client.execute(uri: "/jwks.json", method: .get)
            #expect(jwks.status == .ok)
            let keys = try #require(jwks.json["keys"] as? [[String: String]])
            #expect(Set(keys.compactMap { $0["alg"] }) == ["ES256", "RS256"])
            #expect(keys.allSatisfy { $0["kid"] != nil && $0["d"] == nil })
            let token = try await client.postForm("grant_type=client_credentials", authorization: harness.basic)
            let jwt = try #require(token.json["access_token"] as? String)
            let header = try JSONSerialization.jsonObject(with: Data(base64URLEncoded: String(jwt.split(separator: ".")[0]))!) as! [String: Any]
            #expect(keys.contains { $0["kid"] == header["kid"] as? String })
        }
    }

    @Test("metadata advertises exactly what is implemented")
    func metadata() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let response = try await client.execute(uri: "/.well-known/oauth-authorization-server", method: .get)
            #expect(response.status == .ok)
            #expect(response.json["issuer"] as? String == "https://auth.test")
            #expect(response.json["token_endpoint"] as? String == "https://auth.test/token")
            #expect(response.json["jwks_uri"] as? String == "https://auth.test/jwks.json")
            #expect(Set(response.json["grant_types_supported"] as? [String] ?? []) == ["authorization_code", "client_credentials", "implicit", "password", "refresh_token"], "implicit: token is a response type")
            #expect(Set(response.json["token_endpoint_auth_methods_supported"] as? [String] ?? []) == ["client_secret_basic", "client_secret_post", "none", "private_key_jwt"])
            #expect(response.json["authorization_endpoint"] as? String == "https://auth.test/authorize")
        }
    }

    @Test("health and readiness")
    func health() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(health.status == .ok)
            #expect(ready.status == .ok)
        }
    }
}
