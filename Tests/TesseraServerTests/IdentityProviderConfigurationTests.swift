import Foundation
import TesseraCore
import TesseraServer
import Testing

@Suite("identityProviders in the config file")
struct IdentityProviderConfigurationTests {
    static func load(_ json: String, environment: [String: String] = ["IDP_SECRET": "from-env"]) throws -> TesseraConfiguration {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var configuration = TesseraConfiguration()
        try configuration.apply(configFile: file.path, environment: environment)
        return configuration
    }

    @Test("an OpenID provider and a GitHub-style provider, with secrets from the environment and a file")
    func parses() throws {
        let secretFile = FileManager.default.temporaryDirectory.appendingPathComponent("gh-\(UUID().uuidString)")
        try Data("file-secret\n".utf8).write(to: secretFile)
        defer { try? FileManager.default.removeItem(at: secretFile) }
        let configuration = try Self.load("""
        {"port": 9000, "identityProviders": [
          {"id": "google", "displayName": "Google", "type": "oidc", "issuer": "https://accounts.google.com/", "clientId": "g",
           "clientSecretEnv": "IDP_SECRET", "linkByVerifiedEmail": true, "provisionUsers": true},
          {"id": "github", "displayName": "GitHub", "type": "oauth2", "authorizationEndpoint": "https://github.com/login/oauth/authorize",
           "tokenEndpoint": "https://github.com/login/oauth/access_token", "userinfoEndpoint": "https://api.github.com/user",
           "clientId": "h", "clientSecretFile": "\(secretFile.path)", "scopes": ["read:user", "user:email"],
           "claims": {"subject": "id", "preferredUsername": "login", "emailVerified": null}, "userScopes": "openid read",
           "provisionUsers": false}
        ]}
        """)
        #expect(configuration.port == 9000)
        let google = try #require(configuration.identityProviders.first)
        #expect(google.kind == .openIDConnect(issuer: "https://accounts.google.com"))
        #expect(google.clientSecret == "from-env" && google.scopes == ["openid", "email", "profile"])
        #expect(google.linkByVerifiedEmail && google.provisionUsers && !google.trustedForMFA)
        let github = configuration.identityProviders[1]
        #expect(github.clientSecret == "file-secret" && github.scopes == ["read:user", "user:email"])
        #expect(github.userScopes == ["openid", "read"] && !github.provisionUsers)
        guard case .oauth2(let endpoints, let claims) = github.kind else { Issue.record("not oauth2"); return }
        #expect(endpoints.userinfo == "https://api.github.com/user")
        #expect(claims.subject == "id" && claims.preferredUsername == "login" && claims.emailVerified == nil && claims.email == "email")
        let findings = Doctor.check(.init(configuration: configuration, clients: [], keys: [], now: Date()))
        #expect(findings.contains { $0.message.contains("identity provider 'google' links first sign-ins") })
    }

    @Test("refused: a literal secret, a missing variable, http off loopback, a bad id, a duplicate id, an unknown key or type", arguments: [
        #"[{"id": "x", "type": "oidc", "issuer": "https://i.example", "clientId": "c", "clientSecret": "literal", "provisionUsers": false}]"#,
        #"[{"id": "x", "type": "oidc", "issuer": "http://i.example", "clientId": "c", "clientSecretEnv": "IDP_SECRET", "provisionUsers": false}]"#,
        #"[{"id": "X Y", "type": "oidc", "issuer": "https://i.example", "clientId": "c", "clientSecretEnv": "IDP_SECRET", "provisionUsers": false}]"#,
        #"[{"id": "x", "type": "oidc", "issuer": "https://i.example", "clientId": "c", "clientSecretEnv": "IDP_SECRET", "provisionUsers": false}, {"id": "x", "type": "oidc", "issuer": "https://j.example", "clientId": "c", "clientSecretEnv": "IDP_SECRET", "provisionUsers": false}]"#,
        #"[{"id": "x", "type": "oidc", "issuer": "https://i.example", "clientId": "c", "clientSecretEnv": "IDP_SECRET", "provisionUsers": false, "colour": "red"}]"#,
        #"[{"id": "x", "type": "saml", "issuer": "https://i.example", "clientId": "c", "clientSecretEnv": "IDP_SECRET", "provisionUsers": false}]"#,
        #"[{"id": "x", "type": "oauth2", "authorizationEndpoint": "https://a.example", "clientId": "c", "clientSecretEnv": "IDP_SECRET", "provisionUsers": false}]"#,
        #"{"id": "x"}"#,
    ])
    func refused(providers: String) {
        #expect(throws: TesseraConfiguration.Invalid.self) { _ = try Self.load(#"{"identityProviders": \#(providers)}"#) }
    }

    @Test("a missing secret is reported where secrets are needed (serve, federation list), not while reading the file")
    func missingSecret() throws {
        let configuration = try Self.load(#"{"identityProviders": [{"id": "x", "type": "oidc", "issuer": "https://i.example", "clientId": "c", "clientSecretEnv": "UNSET_VARIABLE", "provisionUsers": false}, {"id": "y", "type": "oidc", "issuer": "https://i.example", "clientId": "c", "clientSecretFile": "/nonexistent/secret", "provisionUsers": false}]}"#)
        #expect(configuration.identityProviderSecretProblems.count == 2)
        #expect(throws: TesseraConfiguration.Invalid("identityProviders 'x': the environment variable UNSET_VARIABLE is not set")) {
            try configuration.requireIdentityProviderSecrets()
        }
    }

    @Test("issue 20: provisionUsers has no default — a provider without it is refused with one line naming it")
    func provisionUsersIsExplicit() throws {
        let provider = #"{"id": "x", "type": "oidc", "issuer": "https://i.example", "clientId": "c", "clientSecretEnv": "IDP_SECRET""#
        #expect(throws: TesseraConfiguration.Invalid(#"identityProviders 'x' needs "provisionUsers": true (a first sign-in that links to no user creates one) or false (it is refused)"#)) {
            _ = try Self.load(#"{"identityProviders": [\#(provider)}]}"#)
        }
        #expect(try Self.load(#"{"identityProviders": [\#(provider), "provisionUsers": false}]}"#).identityProviders.first?.provisionUsers == false)
        #expect(try Self.load(#"{"identityProviders": [\#(provider), "provisionUsers": true}]}"#).identityProviders.first?.provisionUsers == true)
        #expect(throws: TesseraConfiguration.Invalid.self) { _ = try Self.load(#"{"identityProviders": [\#(provider), "provisionUsers": "yes"}]}"#) }
    }

    @Test("http is accepted on loopback (development and the interop tests)")
    func loopback() throws {
        let configuration = try Self.load(#"{"identityProviders": [{"id": "dev", "type": "oidc", "issuer": "http://127.0.0.1:9999", "clientId": "c", "clientSecretEnv": "IDP_SECRET", "provisionUsers": false}]}"#)
        #expect(configuration.identityProviders.first?.displayName == "dev")
    }
}
