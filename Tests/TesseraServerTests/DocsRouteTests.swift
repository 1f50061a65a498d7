import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

@Suite("GET /openapi.json and /docs")
struct DocsRouteTests {
    /// Routes that serve HTML or static files (browser flows, their stylesheet, the docs), not described by the document.
    static let htmlPrefixes = ["/authorize", "/login", "/consent", "/account", "/logout", "/docs", "/mfa", "/static", "/federation"]

    @Test("the document is OpenAPI 3.1 JSON built from the issuer and lists every JSON route of the router")
    func documentListsEveryRoute() async throws {
        let harness = try await ServerHarness.make()
        let router = buildRouter(runtime: harness.runtime)
        let registered = Set(router.routes.map { "\($0.method.rawValue) \($0.path.description)" }
            .filter { route in !Self.htmlPrefixes.contains { route.split(separator: " ")[1].hasPrefix($0) } }
            .filter { !$0.hasPrefix("HEAD ") && !$0.hasPrefix("OPTIONS ") })
        try await harness.test { client in
            let response = try await client.execute(uri: "/openapi.json", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            let document = try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
            #expect(document["openapi"] as? String == "3.1.0")
            let servers = try #require(document["servers"] as? [[String: Any]])
            #expect(servers.first?["url"] as? String == "https://auth.test")
            let paths = try #require(document["paths"] as? [String: [String: Any]])
            var documented = Set<String>()
            for (path, item) in paths {
                for method in ["get", "post", "put", "delete", "patch"] where item[method] != nil {
                    documented.insert("\(method.uppercased()) \(path)")
                }
            }
            #expect(documented == registered, "undocumented: \(registered.subtracting(documented).sorted()); not served: \(documented.subtracting(registered).sorted())")
            #expect(documented.isSuperset(of: OpenAPIDocument.operations))
            let components = try #require(document["components"] as? [String: Any])
            let schemes = try #require(components["securitySchemes"] as? [String: [String: Any]])
            let oauth2 = try #require((schemes["oauth2"]?["flows"] as? [String: [String: Any]])?["authorizationCode"])
            #expect(oauth2["authorizationUrl"] as? String == "https://auth.test/authorize")
            #expect(oauth2["tokenUrl"] as? String == "https://auth.test/token")
            #expect(schemes["clientBasic"]?["scheme"] as? String == "basic")
            let errorSchema = try #require((components["schemas"] as? [String: [String: Any]])?["OAuthError"])
            let errorEnum = try #require(((errorSchema["properties"] as? [String: [String: Any]])?["error"])?["enum"] as? [String])
            #expect(errorEnum.contains("invalid_grant") && errorEnum.contains("too_many_requests"))
        }
    }

    @Test("every operation documents its error responses as the RFC 6749 §5.2 object")
    func errorResponsesAreDocumented() throws {
        let document = OpenAPIDocument(issuer: "https://auth.test", grantTypes: ["client_credentials"]).value
        for path in ["/token", "/revoke", "/introspect"] {
            let responses = try #require(document["paths"]?[path]?["post"]?["responses"])
            #expect(Set(responses.keys).isSuperset(of: ["200", "400", "401", "413", "429", "503"]), "\(path)")
        }
        let unauthorized = try #require(document["components"]?["responses"]?["InvalidClient"])
        #expect(unauthorized["headers"]?["WWW-Authenticate"] != nil)
        #expect(document["components"]?["responses"]?["TooManyRequests"]?["headers"]?["Retry-After"] != nil)
    }

    @Test("/docs serves Swagger UI with an external initializer and a CSP that allows no inline script")
    func docsPage() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let page = try await client.execute(uri: "/docs", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            let html = String(buffer: page.body)
            #expect(html.contains(#"<script src="/docs/swagger-initializer.js"></script>"#))
            #expect(!html.contains("<script>"))
            #expect(html.contains(#"rel="icon""#))
            let csp = try #require(page.headers[.contentSecurityPolicy])
            #expect(csp.contains("script-src 'self';") && !csp.contains("unsafe-eval"))
            let initializer = try await client.execute(uri: "/docs/swagger-initializer.js", method: .get)
            #expect(initializer.status == .ok)
            #expect(initializer.headers[.contentType]?.hasPrefix("text/javascript") == true)
            let script = String(buffer: initializer.body)
            #expect(script.contains(#""tessera-docs""#) && script.contains("usePkceWithAuthorizationCodeGrant: true"))
            #expect(script.contains(#""https://auth.test/docs/oauth2-redirect.html""#))
            for (file, type) in [("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css"),
                                 ("oauth2-redirect.html", "text/html"), ("oauth2-redirect.js", "text/javascript"),
                                 ("favicon-32x32.png", "image/png")] {
                let asset = try await client.execute(uri: "/docs/" + file, method: .get)
                #expect(asset.status == .ok, "\(file)")
                #expect(asset.headers[.contentType]?.hasPrefix(type) == true, "\(file)")
                #expect(asset.body.readableBytes > 0, "\(file)")
            }
            let missing = try await client.execute(uri: "/docs/../Package.swift", method: .get)
            #expect(missing.status == .notFound)
            let other = try await client.execute(uri: "/docs/index.js", method: .get)
            #expect(other.status == .notFound)
        }
    }

    @Test("a known path with another method answers 405 with Allow; an unknown path stays 404")
    func methodNotAllowed() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let trace = try await client.execute(uri: "/token", method: .init("TRACE")!)
            trace.expectOAuthError(.methodNotAllowed, "invalid_request")
            #expect(trace.headers[.allow] == "OPTIONS, POST", "OPTIONS is the CORS preflight")
            let put = try await client.execute(uri: "/register/some-client", method: .patch)
            #expect(put.status == .methodNotAllowed)
            #expect(put.headers[.allow] == "DELETE, GET, OPTIONS, PUT")
            let userinfo = try await client.execute(uri: "/userinfo", method: .delete)
            #expect(userinfo.headers[.allow] == "GET, OPTIONS, POST")
            let missing = try await client.execute(uri: "/no-such-thing", method: .delete)
            missing.expectOAuthError(.notFound, "not_found")
        }
    }

    @Test("the demo provisions the public docs client with the docs redirect URI")
    func demoDocsClient() async throws {
        let harness = try await ServerHarness.make()
        let provisioning = harness.provisioning
        _ = try await provisioning.provisionDemo(issuer: "https://auth.test")
        let client = try #require(try await harness.store.client(id: "tessera-docs"))
        #expect(client.isPublic)
        #expect(client.redirectURIs == ["https://auth.test/docs/oauth2-redirect.html"])
        #expect(client.grantTypes.contains(.authorizationCode))
        // Provisioning twice replaces it.
        _ = try await provisioning.provisionDemo(issuer: "https://auth.test")
        #expect(try await harness.store.client(id: "tessera-docs") != nil)
    }
}
