import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

@Suite("Resource indicators at /authorize over HTTP (RFC 8707)")
struct AuthorizeResourceRouteTests {
    static let a = "https://api.example/a"
    static let b = "https://api.example/b"

    /// The `value`s of every hidden input named `name`, in page order.
    static func hiddenValues(_ html: String, _ name: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: #"name="\#(name)" value="([^"]*)""#)
        return regex.matches(in: html, range: NSRange(html.startIndex..., in: html)).compactMap { match in
            Range(match.range(at: 1), in: html).map { String(html[$0]) }
        }.map { $0.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&#x3D;", with: "=").replacingOccurrences(of: "&#61;", with: "=") }
    }

    static func audience(_ jwt: String) throws -> [String] {
        let claims = try decodeJWT(jwt).claims
        if let single = claims["aud"] as? String { return [single] }
        return try #require(claims["aud"] as? [String])
    }

    @Test("resource survives login and consent, fixes the code's token audience; an unregistered one is invalid_target by redirect")
    func flow() async throws {
        let b = try await BrowserHarness.make()
        var photos = try #require(try await b.server.store.client(id: "photos"))
        photos.resources = [Self.a, Self.b]
        try await b.server.store.updateClient(photos)
        let resources = "&resource=\(AuthorizationRedirect.percentEncode(Self.a))&resource=\(AuthorizationRedirect.percentEncode(Self.b))"
        try await b.server.test { client in
            let refused = try await client.get(BrowserHarness.authorizeQuery + "&resource=https%3A%2F%2Fother.example")
            #expect(refused.status == .seeOther)
            let refusedLocation = try #require(refused.location)
            let error = queryItems(refusedLocation)
            #expect(refused.location?.hasPrefix("https://photos.example/cb?") == true)
            #expect(error["error"] == "invalid_target")
            #expect(error["state"] == "st4te")

            let loginPage = try await client.get(BrowserHarness.authorizeQuery + resources)
            let returnTo = try #require(loginPage.hidden("return_to"))
            let returnItems = URLComponents(string: returnTo)?.queryItems ?? []
            // Issue 14: the login returns with only the interaction id; every resource stays in the stored request (the audience below).
            #expect(returnItems.map(\.name) == ["interaction"], "login returns with only the interaction")
            let signedIn = try await client.postPage("/login", formEncode([("csrf_token", try #require(loginPage.hidden("csrf_token"))),
                                                                           ("return_to", returnTo), ("username", "bob"), ("password", "builder123")]),
                                                     cookie: loginPage.sessionCookie)
            let session = try #require(signedIn.sessionCookie)
            let consent = try await client.get(try #require(signedIn.location), cookie: session)
            #expect(consent.status == .ok)
            // Issue 20 item 6: the form carries only the interaction; every resource stays in the stored request (the audience below).
            #expect(Self.hiddenValues(consent.html, "resource").isEmpty)
            let allowed = try await client.allowConsent(consent, session: session)
            let token = try await client.redeemCode(at: try #require(allowed.location))
            #expect(token.status == .ok)
            let access = try #require(token.json["access_token"] as? String)
            #expect(try Self.audience(access) == [Self.a, Self.b])

            // Consent is remembered: a second request goes straight back; /token may narrow it but not widen it.
            let again = try await client.get(BrowserHarness.authorizeQuery + "&resource=\(AuthorizationRedirect.percentEncode(Self.a))",
                                             cookie: session)
            let againLocation = try #require(again.location)
            let second = try #require(queryItems(againLocation)["code"])
            let widened = try await client.postForm(BrowserHarness.codeRedemption(second, [("resource", Self.b)]))
            widened.expectOAuthError(.badRequest, "invalid_target")
        }
    }
}
