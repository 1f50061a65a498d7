import TesseraCore
import Testing

@Suite("Scopes (RFC 6749 §3.3)")
struct ScopeTests {
    @Test("scope tokens follow the NQCHAR grammar")
    func grammar() throws {
        #expect(try ScopeSet(parsing: "read  write openid").sorted == ["openid", "read", "write"])
        #expect(try ScopeSet(parsing: "billing:write https://api.example/x").count == 2)
        for bad in ["re\"ad", "a\\b", "caf\u{e9}", "tab\tsep"] {
            #expect(throws: OAuthError.self) { try ScopeSet(parsing: bad) }
        }
    }

    @Test("granted = requested ∩ client's allowed ∩ user's allowed")
    func intersection() throws {
        let policy = ScopePolicy(defaultScopes: ["read", "profile"])
        #expect(try policy.grant(requested: ["read"], clientAllowed: ["read", "write"], userAllowed: ["read", "write"]) == ["read"])
        #expect(throws: OAuthError.self) { try policy.grant(requested: ["write"], clientAllowed: ["read", "write"], userAllowed: ["read"]) }
        #expect(throws: OAuthError.self) { try policy.grant(requested: ["admin"], clientAllowed: ["read"], userAllowed: nil) }
    }

    @Test("no scope requested → the configured default, narrowed to what is allowed")
    func defaults() throws {
        let policy = ScopePolicy(defaultScopes: ["read", "profile"])
        #expect(try policy.grant(requested: nil, clientAllowed: ["read", "write"], userAllowed: nil) == ["read"])
        #expect(try policy.grant(requested: nil, clientAllowed: ["write"], userAllowed: nil).isEmpty)
    }
}

extension ScopeSet {
    var count: Int { tokens.count }
}

@Suite("Token requests (RFC 6749 §3.2, §2.3)")
struct TokenRequestTests {
    @Test("a repeated parameter is invalid_request (§3.2)")
    func repeated() {
        #expect(throws: OAuthError(.invalidRequest, "")) {
            try TokenRequest(parameters: [("grant_type", "password"), ("grant_type", "password")])
        }
    }

    @Test("empty parameters are treated as omitted (§3.1)")
    func emptyIsOmitted() throws {
        let request = try TokenRequest(parameters: [("grant_type", "client_credentials"), ("scope", "")])
        #expect(request["scope"] == nil)
        #expect(try request.requestedScopes() == nil)
    }

    @Test("exactly one client authentication method (§2.3)")
    func oneMethod() throws {
        let basic = (id: "svc", secret: "s")
        #expect(throws: OAuthError(.invalidRequest, "")) {
            try TokenRequest(parameters: [("client_secret", "s")], basicCredentials: basic).clientCredentials()
        }
        #expect(throws: OAuthError(.invalidRequest, "")) {
            try TokenRequest(parameters: [("client_id", "other")], basicCredentials: basic).clientCredentials()
        }
        #expect(try TokenRequest(parameters: [("client_id", "svc")], basicCredentials: basic).clientCredentials() == .basic(id: "svc", secret: "s"))
        #expect(try TokenRequest(parameters: [("client_id", "svc"), ("client_secret", "s")]).clientCredentials() == .post(id: "svc", secret: "s"))
        #expect(try TokenRequest(parameters: [("client_id", "spa")]).clientCredentials() == .none(id: "spa"))
        #expect(throws: OAuthError(.invalidClient, "")) { try TokenRequest(parameters: []).clientCredentials() }
        #expect(throws: OAuthError(.invalidRequest, "")) { try TokenRequest(parameters: [("client_secret", "s")]).clientCredentials() }
    }
}

@Suite("Generated identifiers")
struct IdentifierTests {
    @Test("client ids never start with - or _ (a command line would read them as options)")
    func noLeadingDashOrUnderscore() {
        for _ in 0..<2_000 {
            let id = Secrets.identifier()
            #expect(id.count == 22)
            #expect(!id.hasPrefix("-") && !id.hasPrefix("_"), "\(id)")
        }
    }
}
