import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// Issue 20 item 6 (issue 14's interaction, first slice): consent completes exactly the stored request.
@Suite("Consent interactions: stored, single-use, bound to session and user (no HTTP)")
struct ConsentInteractionTests {
    static let parameters = ["client_id": "spa", "redirect_uri": "https://spa.example/cb", "response_type": "code", "scope": "openid read",
                             "state": "xyz", "code_challenge": BrowserCore.challenge, "code_challenge_method": "S256"]

    static func begin(_ b: BrowserCore, session: BrowserSession? = nil) async throws -> (id: String, request: AuthorizationRequest) {
        let request = try await b.validate(Self.parameters)
        guard case .consent(let step) = try await b.interactions.start(BrowserCore.pairs(Self.parameters), session: session ?? b.session) else {
            Issue.record("expected consent")
            throw CancellationError()
        }
        return (step.interaction, request)
    }

    @Test("only the digest of the id is stored; completing gives a code for exactly the stored scopes and redirect URI")
    func completesStoredRequest() async throws {
        let b = try await BrowserCore.make()
        let (id, _) = try await Self.begin(b)
        #expect(try await b.core.storage.consumeInteraction(digest: Data(id.utf8), kind: .consent, at: b.core.clock.now) == nil,
                "the raw id is not a key")
        guard case .redirect(let url) = try await b.interactions.completeConsent(interactionID: id, session: b.session, allow: true) else {
            Issue.record("expected a redirect")
            return
        }
        #expect(url.hasPrefix("https://spa.example/cb?code="))
        #expect(url.contains("state=xyz"))
        let code = try #require(URLComponents(string: url)?.queryItems?.first { $0.name == "code" }?.value)
        let record = try #require(try await b.core.storage.authorizationCode(digest: Secrets.digest(code)))
        #expect(record.scopes == ["openid", "read"])
        #expect(record.codeChallenge == BrowserCore.challenge)
        #expect(try await b.core.storage.consent(subject: b.user.id, clientID: "spa")?.scopes == ["openid", "read"])
    }

    @Test("single use: a second completion, a made-up id, or an expired one is invalid")
    func singleUseAndLifetime() async throws {
        let b = try await BrowserCore.make()
        let (id, _) = try await Self.begin(b)
        guard case .redirect = try await b.interactions.completeConsent(interactionID: id, session: b.session, allow: false) else {
            Issue.record("expected access_denied")
            return
        }
        for attempt in [id, Secrets.random(bytes: 32), ""] {
            guard case .invalid = try await b.interactions.completeConsent(interactionID: attempt, session: b.session, allow: true) else {
                Issue.record("\(attempt) must be invalid")
                return
            }
        }
        let (late, _) = try await Self.begin(b)
        b.core.clock.advance(by: AuthorizationEndpoint.consentInteractionLifetime + 1)
        var session = b.session
        session.authTime = b.core.clock.now
        guard case .invalid = try await b.interactions.completeConsent(interactionID: late, session: session, allow: true) else {
            Issue.record("an expired interaction must be invalid")
            return
        }
    }

    @Test("bound to the browser session and the user who saw the page")
    func boundToSessionAndUser() async throws {
        let b = try await BrowserCore.make()
        let other = try await b.core.addUser("mallory", scopes: ["openid", "read"])
        let (id, _) = try await Self.begin(b)
        var foreignSession = b.session
        foreignSession.idDigest = Secrets.digest("another browser")
        guard case .invalid = try await b.interactions.completeConsent(interactionID: id, session: foreignSession, allow: true) else {
            Issue.record("another session must not complete it")
            return
        }
        let (second, _) = try await Self.begin(b)
        var switched = b.session
        switched.userID = other.id
        guard case .invalid = try await b.interactions.completeConsent(interactionID: second, session: switched, allow: true) else {
            Issue.record("another user in the same session must not complete it")
            return
        }
        let (third, _) = try await Self.begin(b)
        var signedOut = b.session
        signedOut.userID = nil
        guard case .invalid = try await b.interactions.completeConsent(interactionID: third, session: signedOut, allow: true) else {
            Issue.record("a signed-out session must not complete it")
            return
        }
    }

    @Test("a redirect URI removed from the client after the page was shown is not used")
    func redirectURIRemoved() async throws {
        let b = try await BrowserCore.make()
        let (id, _) = try await Self.begin(b)
        var client = try #require(try await b.core.storage.client(id: "spa"))
        client.redirectURIs = ["https://spa.example/other"]
        try await b.core.storage.updateClient(client)
        guard case .invalid = try await b.interactions.completeConsent(interactionID: id, session: b.session, allow: true) else {
            Issue.record("expected invalid")
            return
        }
    }

    @Test("the stored request round-trips through JSON")
    func pendingRoundTrip() async throws {
        let b = try await BrowserCore.make()
        var parameters = Self.parameters
        parameters["prompt"] = "consent"
        parameters["max_age"] = "30"
        parameters["nonce"] = "n"
        let request = try await b.validate(parameters)
        let pending = PendingAuthorization(request, grantedScopes: ["openid"])
        let decoded = try #require(PendingAuthorization.decode(try pending.encoded()))
        #expect(decoded == pending)
        let again = try #require(decoded.request(client: request.client))
        #expect(again.prompt == [.consent] && again.maxAge == 30 && again.nonce == "n" && again.state == "xyz")
        #expect(again.carriedParameters.map { "\($0.0)=\($0.1)" } == request.carriedParameters.map { "\($0.0)=\($0.1)" })
        #expect(PendingAuthorization.decode("{not json") == nil)
    }
}

@Suite("Reserved client names: open registration may not imitate the product (issue 20 item 10)")
struct ReservedClientNameTests {
    @Test("folded like usernames (width, case, NFC), then accents, punctuation and look-alike letters")
    func imitations() {
        for name in ["Tessera", "Tessera Account Security", "tessera", "TESSERA", "ｔｅｓｓｅｒａ", "Tëssera", "T e s s e r a", "T.E.S.S.E.R.A",
                     "T\u{0435}ss\u{0435}r\u{0430}", "My-Tessera-Login", "Te\u{0301}ssera"] {
            #expect(ReservedClientNames.imitatesProduct(name), "\(name)")
        }
        for name in ["Photo App", "Tess", "Terra", "Essera", "Tesla Sera"] {
            #expect(!ReservedClientNames.imitatesProduct(name), "\(name)")
        }
    }

    @Test("RFC 7591 §2: the policy refuses such a client_name only where the product name is not allowed")
    func policy() throws {
        let json = Data(#"{"redirect_uris": ["https://rp.example/cb"], "client_name": "Tessera Security"}"#.utf8)
        let open = ClientMetadata.Policy(allowedScopes: ["openid"], defaultScopes: ["openid"], allowResources: false, allowProductName: false)
        #expect(throws: OAuthError.self) { try ClientMetadata(json: json, policy: open) }
        let operatorPolicy = ClientMetadata.Policy(allowedScopes: ["openid"], defaultScopes: ["openid"], allowResources: true)
        #expect(try ClientMetadata(json: json, policy: operatorPolicy).clientName == "Tessera Security")
    }
}
