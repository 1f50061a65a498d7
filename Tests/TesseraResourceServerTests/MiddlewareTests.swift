import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

import TesseraResourceServer
import TesseraJOSE

@Suite("BearerTokenMiddleware and RequireScopes (RFC 6750 §2.1, §3)")
struct MiddlewareTests {
    let issuer: TestIssuer
    let fetcher: FakeJWKSFetcher

    init() async throws {
        self.issuer = try await TestIssuer.make()
        self.fetcher = FakeJWKSFetcher(self.issuer.jwks())
    }

    struct Me: ResponseCodable {
        let sub: String
        let scope: String
    }

    struct ErrorBody: Decodable, Equatable {
        let error: String
        let error_description: String
        let scope: String?
    }

    /// `/me` needs any token, `/data` needs `read`, `/admin` needs `read` and `write`,
    /// `/optional` accepts anonymous requests, `/unguarded` has only `RequireScopes`.
    func makeApplication(verifier: AccessTokenVerifier? = nil) -> some ApplicationProtocol {
        let verifier = verifier ?? makeVerifier(fetcher: self.fetcher)
        let router = Router(context: AccessTokenRequestContext.self)
        let api = router.group().add(middleware: BearerTokenMiddleware(verifier: verifier))
        api.get("me") { _, context in
            let token = try context.requireAccessToken()
            return Me(sub: token.subject, scope: token.scope)
        }
        api.group("data").add(middleware: RequireScopes("read")).get { _, context in
            Me(sub: try context.requireAccessToken().subject, scope: "data")
        }
        api.group("admin").add(middleware: RequireScopes(["read", "write"])).get { _, _ in
            "admin"
        }
        router.group("optional")
            .add(middleware: BearerTokenMiddleware(verifier: verifier, requireToken: false))
            .get { _, context in context.accessToken?.subject ?? "anonymous" }
        router.group("unguarded").add(middleware: RequireScopes("read")).get { _, _ in "never" }
        return Application(router: router)
    }

    func decodeError(_ response: TestResponse) throws -> ErrorBody {
        try JSONDecoder().decode(ErrorBody.self, from: Data(String(buffer: response.body).utf8))
    }

    func bearer(_ value: String) -> HTTPFields { [.authorization: value] }

    // MARK: Success

    @Test("a valid token reaches the handler with the verified identity")
    func validToken() async throws {
        let token = try self.issuer.token()
        try await self.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/me", method: .get, headers: self.bearer("Bearer \(token)"))
            #expect(response.status == .ok)
            let me = try JSONDecoder().decode(Me.self, from: Data(String(buffer: response.body).utf8))
            #expect(me.sub == "alice")
            #expect(me.scope == "profile read")
        }
    }

    @Test("the scheme is case-insensitive and extra spaces are tolerated", arguments: ["bearer", "BEARER", "Bearer", "bEaReR"])
    func schemeCase(scheme: String) async throws {
        let token = try self.issuer.token()
        try await self.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/me", method: .get, headers: self.bearer("\(scheme)  \(token)"))
            #expect(response.status == .ok)
        }
    }

    @Test("a route needing a granted scope is served")
    func scopeGranted() async throws {
        let token = try self.issuer.rsaToken()
        try await self.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/data", method: .get, headers: self.bearer("Bearer \(token)"))
            #expect(response.status == .ok)
            let both = try self.issuer.token { $0["scope"] = "write read" }
            let admin = try await client.execute(uri: "/admin", method: .get, headers: self.bearer("Bearer \(both)"))
            #expect(admin.status == .ok)
            #expect(String(buffer: admin.body) == "admin")
        }
    }

    // MARK: 401 without a token

    @Test("no token: 401 with a bare challenge and no error code", arguments: [nil, "Basic YWxpY2U6c2VjcmV0", "Token abc", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", "Bearerabc"])
    func noToken(authorization: String?) async throws {
        try await self.makeApplication().test(.router) { client in
            let headers: HTTPFields = authorization.map { [.authorization: $0] } ?? [:]
            let response = try await client.execute(uri: "/me", method: .get, headers: headers)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="api""#)
            #expect(response.headers[.cacheControl] == "no-store")
            #expect(response.headers[.contentType] == "application/json; charset=utf-8")
            let body = try self.decodeError(response)
            #expect(body.error == "unauthorized")
        }
    }

    // MARK: 401 invalid_token

    @Test("an expired token: 401 invalid_token with the exact challenge")
    func expiredToken() async throws {
        let token = try self.issuer.token { $0["exp"] = .number(TestIssuer.now.timeIntervalSince1970 - 60) }
        try await self.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/me", method: .get, headers: self.bearer("Bearer \(token)"))
            #expect(response.status == .unauthorized)
            #expect(
                response.headers[.wwwAuthenticate]
                    == #"Bearer realm="api", error="invalid_token", error_description="The access token expired""#
            )
            #expect(response.headers[.cacheControl] == "no-store")
            #expect(try self.decodeError(response) == ErrorBody(error: "invalid_token", error_description: "The access token expired", scope: nil))
        }
    }

    @Test("every kind of bad token is a 401 invalid_token, never a 500")
    func badTokens() async throws {
        let issuer = self.issuer
        let tokens: [String] = [
            try issuer.token(typ: "JWT"),
            try issuer.token(alg: "HS256"),
            try issuer.token { $0["iss"] = "https://evil.test" },
            try issuer.token { $0["aud"] = "https://other.test" },
            try issuer.token(kid: "unknown"),
            try issuer.token(kid: "ec-1", signer: issuer.secondECSigner),
            String(try issuer.token().dropLast(3)) + "AAA",
            "eyJ.eyJ.sig", "a.b.c", "abc", "a.b.c.d", "Bearer abc", "tok%20en", "...", String(repeating: "x", count: 9000),
        ]
        try await self.makeApplication().test(.router) { client in
            for token in tokens {
                let response = try await client.execute(uri: "/data", method: .get, headers: self.bearer("Bearer \(token)"))
                #expect(response.status == .unauthorized, "\(token.prefix(40))")
                let challenge = try #require(response.headers[.wwwAuthenticate])
                #expect(challenge.hasPrefix(#"Bearer realm="api", error="invalid_token", error_description=""#))
                #expect(try self.decodeError(response).error == "invalid_token")
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }

    @Test("the error description never echoes the token")
    func noTokenEcho() async throws {
        let token = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Im5vcGUifQ.eyJzdWIiOiJ4In0.c2VjcmV0LXNpZ25hdHVyZQ"
        try await self.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/me", method: .get, headers: self.bearer("Bearer \(token)"))
            #expect(response.status == .unauthorized)
            #expect(!String(buffer: response.body).contains("c2VjcmV0"))
            #expect(!(response.headers[.wwwAuthenticate] ?? "").contains("c2VjcmV0"))
        }
    }

    // MARK: 400 invalid_request

    @Test("two Authorization headers: 400 invalid_request")
    func duplicateHeaders() async throws {
        let token = try self.issuer.token()
        try await self.makeApplication().test(.router) { client in
            var headers = HTTPFields()
            headers[values: .authorization] = ["Bearer \(token)", "Bearer \(token)"]
            let response = try await client.execute(uri: "/me", method: .get, headers: headers)
            #expect(response.status == .badRequest)
            #expect(
                response.headers[.wwwAuthenticate]
                    == #"Bearer realm="api", error="invalid_request", error_description="The request has more than one Authorization header""#
            )
            #expect(try self.decodeError(response).error == "invalid_request")
        }
    }

    @Test("the Bearer scheme without credentials: 400 invalid_request", arguments: ["Bearer", "Bearer ", "bearer    "])
    func emptyCredentials(authorization: String) async throws {
        try await self.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/me", method: .get, headers: self.bearer(authorization))
            #expect(response.status == .badRequest)
            #expect(try self.decodeError(response).error == "invalid_request")
        }
    }

    // MARK: 403 insufficient_scope

    @Test("a missing scope: 403 insufficient_scope naming the scope")
    func insufficientScope() async throws {
        let token = try self.issuer.token { $0["scope"] = "profile" }
        try await self.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/data", method: .get, headers: self.bearer("Bearer \(token)"))
            #expect(response.status == .forbidden)
            #expect(
                response.headers[.wwwAuthenticate]
                    == #"Bearer realm="api", error="insufficient_scope", error_description="The access token does not grant the required scope", scope="read""#
            )
            #expect(response.headers[.cacheControl] == "no-store")
            #expect(
                try self.decodeError(response)
                    == ErrorBody(error: "insufficient_scope", error_description: "The access token does not grant the required scope", scope: "read")
            )
        }
    }

    @Test("all required scopes are named, and one of two is not enough")
    func severalScopes() async throws {
        let token = try self.issuer.token { $0["scope"] = "read" }
        try await self.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/admin", method: .get, headers: self.bearer("Bearer \(token)"))
            #expect(response.status == .forbidden)
            #expect(response.headers[.wwwAuthenticate]?.hasSuffix(#"scope="read write""#) == true)
        }
    }

    @Test("a token without any scope is refused on a scoped route but accepted on an unscoped one")
    func noScopeClaim() async throws {
        let token = try self.issuer.token { $0["scope"] = nil }
        try await self.makeApplication().test(.router) { client in
            let scoped = try await client.execute(uri: "/data", method: .get, headers: self.bearer("Bearer \(token)"))
            #expect(scoped.status == .forbidden)
            let unscoped = try await client.execute(uri: "/me", method: .get, headers: self.bearer("Bearer \(token)"))
            #expect(unscoped.status == .ok)
        }
    }

    // MARK: Optional authentication and misuse

    @Test("with requireToken false, anonymous requests pass but invalid tokens do not")
    func optionalToken() async throws {
        let valid = try self.issuer.token()
        try await self.makeApplication().test(.router) { client in
            let anonymous = try await client.execute(uri: "/optional", method: .get)
            #expect(anonymous.status == .ok)
            #expect(String(buffer: anonymous.body) == "anonymous")
            let basic = try await client.execute(uri: "/optional", method: .get, headers: self.bearer("Basic YTpi"))
            #expect(String(buffer: basic.body) == "anonymous")
            let authenticated = try await client.execute(uri: "/optional", method: .get, headers: self.bearer("Bearer \(valid)"))
            #expect(String(buffer: authenticated.body) == "alice")
            let invalid = try await client.execute(uri: "/optional", method: .get, headers: self.bearer("Bearer a.b.c"))
            #expect(invalid.status == .unauthorized)
        }
    }

    @Test("RequireScopes without an authenticated token answers 401, not 403")
    func requireScopesWithoutIdentity() async throws {
        try await self.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/unguarded", method: .get)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="api""#)
        }
    }

    @Test("unreachable issuer keys: 503 temporarily_unavailable, not 401 or 500")
    func keysUnavailable() async throws {
        await self.fetcher.setFailure(FetchFailed())
        let token = try self.issuer.token()
        try await self.makeApplication().test(.router) { client in
            let response = try await client.execute(uri: "/me", method: .get, headers: self.bearer("Bearer \(token)"))
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.wwwAuthenticate] == nil)
            #expect(try self.decodeError(response).error == "temporarily_unavailable")
        }
    }

    @Test("realm and description are sanitised into valid quoted strings")
    func challengeQuoting() {
        let error = BearerError.invalidToken(#"bad "quoted" \ value"#, realm: #"my "realm""#)
        #expect(error.challenge == #"Bearer realm="my ?realm?", error="invalid_token", error_description="bad ?quoted? ? value""#)
        #expect(BearerError.missingToken(realm: nil).challenge == "Bearer")
    }

    // MARK: Header parsing

    @Test("Authorization header parsing")
    func credentialsParsing() {
        #expect(BearerCredentials.parse([]) == .none)
        #expect(BearerCredentials.parse(["Basic abc"]) == .none)
        #expect(BearerCredentials.parse(["Bearerabc"]) == .none)
        #expect(BearerCredentials.parse(["Bearer abc", "Bearer abc"]) == .multipleHeaders)
        #expect(BearerCredentials.parse(["Bearer"]) == .empty)
        #expect(BearerCredentials.parse(["Bearer \t "]) == .empty)
        #expect(BearerCredentials.parse(["bearer a.b-c_d~e+f/g=="]) == .token("a.b-c_d~e+f/g=="))
        #expect(BearerCredentials.parse(["BEARER\tabc "]) == .token("abc"))
        #expect(BearerCredentials.parse(["Bearer a b"]) == .malformed)
        #expect(BearerCredentials.parse(["Bearer ==="]) == .malformed)
        #expect(BearerCredentials.parse(["Bearer a=b"]) == .malformed)
        #expect(BearerCredentials.parse(["Bearer ab\u{e9}"]) == .malformed)
    }
}
