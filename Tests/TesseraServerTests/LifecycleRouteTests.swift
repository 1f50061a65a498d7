import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

extension TestClientProtocol {
    func sendJSON(_ json: String, to uri: String, method: HTTPRequest.Method = .post, bearer: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await execute(uri: uri, method: method, headers: headers, body: ByteBuffer(string: json))
    }

    func withBearer(_ uri: String, method: HTTPRequest.Method, bearer: String?) async throws -> TestResponse {
        var headers: HTTPFields = [:]
        if let bearer { headers[.authorization] = "Bearer \(bearer)" }
        return try await execute(uri: uri, method: method, headers: headers)
    }
}

@Suite("POST /revoke (RFC 7009)")
struct RevocationRouteTests {
    @Test("§2.1: a client revokes its refresh token (the family dies) and its access token (introspection says inactive)")
    func revokes() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let login = try await client.postForm("grant_type=password&username=alice&password=wonderland", authorization: harness.basic)
            let access = try #require(login.json["access_token"] as? String)
            let refresh = try #require(login.json["refresh_token"] as? String)
            let revoked = try await client.postForm("token=\(refresh)&token_type_hint=refresh_token", to: "/revoke", authorization: harness.basic)
            #expect(revoked.status == .ok)
            #expect(revoked.body.readableBytes == 0)
            let reuse = try await client.postForm("grant_type=refresh_token&refresh_token=\(refresh)", authorization: harness.basic)
            reuse.expectOAuthError(.badRequest, "invalid_grant")

            #expect(try await client.postForm("token=\(access)", to: "/introspect", authorization: harness.basic).json["active"] as? Bool == true)
            let revokedAccess = try await client.postForm("token=\(access)&token_type_hint=access_token", to: "/revoke", authorization: harness.basic)
            #expect(revokedAccess.status == .ok)
            let after = try await client.postForm("token=\(access)", to: "/introspect", authorization: harness.basic)
            #expect(String(buffer: after.body) == #"{"active":false}"#)
        }
    }

    @Test("§2.2: unknown, garbage and foreign tokens get 200 and nothing is revoked; a bad client gets 401 invalid_client")
    func unknownAndInvalidClient() async throws {
        let harness = try await ServerHarness.make()
        let other = try await harness.provisioning
            .addClient(name: "Other", grants: ["client_credentials"], scopes: ["read"], id: "other")
        let otherBasic = "Basic " + Data("other:\(other.secret!)".utf8).base64EncodedString()
        try await harness.test { client in
            #expect(try await client.postForm("token=garbage", to: "/revoke", authorization: harness.basic).status == .ok)
            #expect(try await client.postForm("token=a.b.c&token_type_hint=unknown_hint", to: "/revoke", authorization: harness.basic).status == .ok)
            let theirs = try #require(try await client.postForm("grant_type=client_credentials", authorization: otherBasic).json["access_token"] as? String)
            #expect(try await client.postForm("token=\(theirs)", to: "/revoke", authorization: harness.basic).status == .ok)
            #expect(try await client.postForm("token=\(theirs)", to: "/introspect", authorization: otherBasic).json["active"] as? Bool == true,
                    "a foreign token is not revoked")
            let wrong = "Basic " + Data("svc:nope".utf8).base64EncodedString()
            let bad = try await client.postForm("token=\(theirs)", to: "/revoke", authorization: wrong)
            bad.expectOAuthError(.unauthorized, "invalid_client")
            try await client.postForm("token_type_hint=access_token", to: "/revoke", authorization: harness.basic).expectOAuthError(.badRequest, "invalid_request")
        }
    }
}

@Suite("POST /introspect (RFC 7662)")
struct IntrospectionRouteTests {
    @Test("§2.1: no client credentials is 401 invalid_client with WWW-Authenticate")
    func needsClient() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let response = try await client.postForm("token=x", to: "/introspect")
            response.expectOAuthError(.unauthorized, "invalid_client")
            #expect(response.headers[.wwwAuthenticate] != nil)
            try await client.postForm("token=x&client_id=spa", to: "/introspect").expectOAuthError(.unauthorized, "invalid_client")
        }
    }

    @Test("§2.2: an active access token's claims; a refresh token; garbage is exactly {\"active\":false}")
    func answers() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let login = try await client.postForm("grant_type=password&username=alice&password=wonderland&scope=read", authorization: harness.basic)
            let access = try #require(login.json["access_token"] as? String)
            let answer = try await client.postForm("token=\(access)", to: "/introspect", authorization: harness.basic)
            #expect(answer.status == .ok)
            #expect(answer.headers[.cacheControl] == "no-store")
            let json = answer.json
            #expect(json["active"] as? Bool == true)
            #expect(json["scope"] as? String == "read")
            #expect(json["client_id"] as? String == "svc")
            #expect(json["token_type"] as? String == "access_token")
            #expect(json["iss"] as? String == "https://auth.test")
            for key in ["sub", "exp", "iat", "aud", "jti"] { #expect(json[key] != nil, "missing \(key)") }
            let refresh = try await client.postForm("token=\(login.json["refresh_token"] as! String)&token_type_hint=refresh_token", to: "/introspect", authorization: harness.basic)
            #expect(refresh.json["token_type"] as? String == "refresh_token")
            let garbage = try await client.postForm("token=garbage", to: "/introspect", authorization: harness.basic)
            #expect(String(buffer: garbage.body) == #"{"active":false}"#)
        }
    }
}

@Suite("Dynamic client registration over HTTP (RFC 7591, RFC 7592)")
struct RegistrationRouteTests {
    func initialToken(_ harness: ServerHarness) async throws -> String {
        try await harness.runtime.registrationEndpoint.initialTokens.issue(lifetime: 3600).token
    }

    @Test("RFC 7591 §3.1: without a valid initial access token, 401 with WWW-Authenticate: Bearer error=\"invalid_token\"")
    func needsInitialToken() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let body = #"{"redirect_uris": ["https://app.example/cb"]}"#
            for bearer in [nil, "wrong"] as [String?] {
                let response = try await client.sendJSON(body, to: "/register", bearer: bearer)
                response.expectOAuthError(.unauthorized, "invalid_token")
                #expect(response.headers[.wwwAuthenticate] == #"Bearer error="invalid_token""#)
            }
        }
    }

    @Test("RFC 6750 §2.1 at /register, by the shared parser: any scheme case; another scheme, b64token violations or two headers are invalid_token")
    func bearerSpellings() async throws {
        let harness = try await ServerHarness.make()
        let body = #"{"redirect_uris": ["https://app.example/cb"]}"#
        try await harness.test { client in
            let token = try await initialToken(harness)
            let accepted = try await client.execute(uri: "/register", method: .post,
                                                    headers: [.contentType: "application/json", .authorization: "bEaReR  \(token) "],
                                                    body: ByteBuffer(string: body))
            #expect(accepted.status == .created)
            let fresh = try await initialToken(harness)
            for spelling in ["Basic \(fresh)", "Bearer", "Bearer \(fresh) extra", "Bearer \(fresh)!", "Bearer =\(fresh)"] {
                let response = try await client.execute(uri: "/register", method: .post,
                                                        headers: [.contentType: "application/json", .authorization: spelling],
                                                        body: ByteBuffer(string: body))
                response.expectOAuthError(.unauthorized, "invalid_token")
            }
            var twice: HTTPFields = [.contentType: "application/json"]
            twice.append(HTTPField(name: .authorization, value: "Bearer \(fresh)"))
            twice.append(HTTPField(name: .authorization, value: "Bearer \(fresh)"))
            try await client.execute(uri: "/register", method: .post, headers: twice, body: ByteBuffer(string: body))
                .expectOAuthError(.unauthorized, "invalid_token")
            // None of the refused spellings used the token up.
            #expect(try await client.sendJSON(body, to: "/register", bearer: fresh).status == .created)
        }
    }

    @Test("RFC 7591 §3.2: 201 with generated credentials; §3.2.2 errors; the client can use its credentials at /token")
    func registers() async throws {
        let harness = try await ServerHarness.make()
        let token = try await initialToken(harness)
        try await harness.test { client in
            let response = try await client.sendJSON(#"{"redirect_uris": ["https://app.example/cb"], "grant_types": ["authorization_code", "client_credentials"], "scope": "read"}"#,
                                                     to: "/register", bearer: token)
            #expect(response.status == .created)
            #expect(response.headers[.cacheControl] == "no-store")
            let json = response.json
            let id = try #require(json["client_id"] as? String)
            let secret = try #require(json["client_secret"] as? String)
            #expect(json["client_secret_expires_at"] as? Int == 0)
            #expect(json["client_id_issued_at"] as? Int != nil)
            #expect(json["registration_access_token"] as? String != nil)
            #expect(json["registration_client_uri"] as? String == "https://auth.test/register/\(id)")
            let basic = "Basic " + Data("\(id):\(secret)".utf8).base64EncodedString()
            #expect(try await client.postForm("grant_type=client_credentials", authorization: basic).status == .ok)

            try await client.sendJSON(#"{"redirect_uris": ["http://app.example/cb"]}"#, to: "/register", bearer: token)
                .expectOAuthError(.badRequest, "invalid_redirect_uri")
            try await client.sendJSON(#"{"redirect_uris": ["https://app.example/cb"], "grant_types": ["password"]}"#, to: "/register", bearer: token)
                .expectOAuthError(.badRequest, "invalid_client_metadata")
            try await client.sendJSON("not json", to: "/register", bearer: token).expectOAuthError(.badRequest, "invalid_client_metadata")
        }
    }

    @Test("RFC 7592 §2.1–2.3: read, update (token rotated), delete with the registration access token")
    func manages() async throws {
        let harness = try await ServerHarness.make()
        let token = try await initialToken(harness)
        try await harness.test { client in
            let created = try await client.sendJSON(#"{"redirect_uris": ["https://app.example/cb"], "client_name": "App"}"#, to: "/register", bearer: token).json
            let id = try #require(created["client_id"] as? String)
            let rat = try #require(created["registration_access_token"] as? String)
            let uri = "/register/\(id)"
            // §2.1 read
            let read = try await client.withBearer(uri, method: .get, bearer: rat)
            #expect(read.status == .ok)
            #expect(read.json["client_name"] as? String == "App")
            #expect(read.json["client_secret"] == nil)
            try await client.withBearer(uri, method: .get, bearer: "wrong").expectOAuthError(.unauthorized, "invalid_token")
            try await client.withBearer("/register/ghost", method: .get, bearer: rat).expectOAuthError(.unauthorized, "invalid_token")
            // §2.2 update
            let updated = try await client.sendJSON(#"{"client_id": "\#(id)", "redirect_uris": ["https://app.example/v2"], "client_name": "App v2"}"#,
                                                    to: uri, method: .put, bearer: rat)
            #expect(updated.status == .ok)
            #expect(updated.json["redirect_uris"] as? [String] == ["https://app.example/v2"])
            let newRat = try #require(updated.json["registration_access_token"] as? String)
            #expect(newRat != rat)
            try await client.withBearer(uri, method: .get, bearer: rat).expectOAuthError(.unauthorized, "invalid_token")
            // §2.3 delete
            let deleted = try await client.withBearer(uri, method: .delete, bearer: newRat)
            #expect(deleted.status == .noContent)
            try await client.withBearer(uri, method: .get, bearer: newRat).expectOAuthError(.unauthorized, "invalid_token")
        }
    }

    @Test("open registration: no token needed, rate limited per IP")
    func openRegistration() async throws {
        let harness = try await ServerHarness.make(clock: FixedClock()) { $0.openRegistration = true; $0.registrationRateLimit = 2 }
        try await harness.test { client in
            let body = #"{"redirect_uris": ["http://127.0.0.1:33418/callback"], "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"]}"#
            #expect(try await client.sendJSON(body, to: "/register").status == .created)
            #expect(try await client.sendJSON(body, to: "/register").status == .created)
            try await client.sendJSON(body, to: "/register").expectOAuthError(.tooManyRequests, "too_many_requests")
        }
    }
}

@Suite("Resource indicators at /token (RFC 8707 §2)")
struct ResourceRouteTests {
    @Test("§2: resource selects aud; an unregistered one is 400 invalid_target")
    func resource() async throws {
        let harness = try await ServerHarness.make()
        let created = try await harness.provisioning
            .addClient(name: "API caller", grants: ["client_credentials"], scopes: ["read"], id: "caller", resources: ["https://api.example"])
        let basic = "Basic " + Data("caller:\(created.secret!)".utf8).base64EncodedString()
        try await harness.test { client in
            let ok = try await client.postForm("grant_type=client_credentials&resource=https%3A%2F%2Fapi.example", authorization: basic)
            #expect(ok.status == .ok)
            let access = try #require(ok.json["access_token"] as? String)
            let introspected = try await client.postForm("token=\(access)", to: "/introspect", authorization: basic)
            #expect(introspected.json["aud"] as? [String] == ["https://api.example"])
            try await client.postForm("grant_type=client_credentials&resource=https%3A%2F%2Fevil.example", authorization: basic)
                .expectOAuthError(.badRequest, "invalid_target")
        }
    }

    @Test("metadata advertises the lifecycle endpoints")
    func metadata() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let json = try await client.execute(uri: "/.well-known/oauth-authorization-server", method: .get).json
            #expect(json["revocation_endpoint"] as? String == "https://auth.test/revoke")
            #expect(json["introspection_endpoint"] as? String == "https://auth.test/introspect")
            #expect(json["registration_endpoint"] as? String == "https://auth.test/register")
            #expect(json["introspection_endpoint_auth_methods_supported"] as? [String] == ["client_secret_basic", "client_secret_post", "private_key_jwt"])
            #expect((json["revocation_endpoint_auth_methods_supported"] as? [String])?.contains("none") == true)
        }
    }
}
