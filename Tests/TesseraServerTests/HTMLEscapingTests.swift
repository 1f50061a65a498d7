import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// The pages' escaper works on code points: a markup character glued to a combining mark (U+0301) or a
/// prepended concatenation mark (U+0600–U+0605) is still escaped (swift-mustache's `HTML` type was not).
@Suite("HTML escaping over Unicode scalars")
struct HTMLEscapingTests {
    @Test("each of < > & \" ' becomes a character reference")
    func basics() {
        #expect(HTMLEscaping.escape("<") == "&lt;")
        #expect(HTMLEscaping.escape(">") == "&gt;")
        #expect(HTMLEscaping.escape("&") == "&amp;")
        #expect(HTMLEscaping.escape("\"") == "&quot;")
        #expect(HTMLEscaping.escape("'") == "&#39;")
        #expect(HTMLEscaping.escape("a<b>&\"'c") == "a&lt;b&gt;&amp;&quot;&#39;c")
        #expect(HTMLEscaping.escape("plain café 写真 📷") == "plain café 写真 📷")
        #expect(HTMLEscaping.escape("") == "")
    }

    @Test("a markup character followed by a combining mark (one grapheme cluster) is escaped")
    func combiningMarks() {
        for mark in ["\u{301}", "\u{300}", "\u{20DD}", "\u{FE0F}"] {
            #expect(HTMLEscaping.escape("\"\(mark)") == "&quot;\(mark)")
            #expect(HTMLEscaping.escape(">\(mark)") == "&gt;\(mark)")
            #expect(HTMLEscaping.escape("<\(mark)") == "&lt;\(mark)")
            #expect(HTMLEscaping.escape("'\(mark)") == "&#39;\(mark)")
            #expect(HTMLEscaping.escape("&\(mark)") == "&amp;\(mark)")
        }
        // The grapheme cluster really is one Character: the built-in Character-wise escaper misses it.
        #expect("\"\u{301}".count == 1)
    }

    @Test("a markup character preceded by a prepended concatenation mark U+0600–U+0605 is escaped")
    func prependedMarks() {
        for value in UInt32(0x600)...0x605 {
            let mark = String(Character(Unicode.Scalar(value)!))
            #expect("\(mark)<".count == 1)
            for (raw, escaped) in [("<", "&lt;"), (">", "&gt;"), ("\"", "&quot;"), ("'", "&#39;"), ("&", "&amp;")] {
                #expect(HTMLEscaping.escape(mark + raw) == mark + escaped)
            }
        }
    }

    @Test("ZWJ and bidi controls around markup: the markup is escaped, the controls are kept")
    func joinersAndBidi() {
        #expect(HTMLEscaping.escape("<\u{200D}>") == "&lt;\u{200D}&gt;")
        #expect(HTMLEscaping.escape("\u{200D}\"\u{200D}") == "\u{200D}&quot;\u{200D}")
        for control in ["\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}",
                        "\u{200E}", "\u{200F}", "\u{061C}"] {
            #expect(HTMLEscaping.escape("\(control)\"'<>\(control)") == "\(control)&quot;&#39;&lt;&gt;\(control)")
        }
    }

    @Test("a value in a partial (account-mfa inside account) goes through the same escaper")
    func partials() {
        let payload = "\"\u{301}>\u{301}\u{600}<b id=injected>\u{301}"
        let html = Pages.render("account", title: "t", ["username": "bob", "csrf": "c", "mfaError": payload])
        #expect(html.contains("id=\"mfa-error\">" + HTMLEscaping.escape(payload) + "</p>"))
        #expect(!html.contains("<b id=injected>"))
    }
}

@Suite("Crafted login_hint and state do not inject markup (over HTTP)")
struct MarkupInjectionRouteTests {
    static let payloads = [
        "x\"\u{301}><meta http-equiv=refresh content=0;url=https://evil>",
        "x\"\u{301}>\u{301}\u{600}<meta http-equiv=refresh content=0;url=https://evil>\u{301}",
        "\u{605}<form action=https://evil>\u{301}\u{605}<input name=x>\u{301}'\u{301}",
    ]

    static func authorize(state: String, loginHint: String) -> String {
        "/authorize?client_id=photos&redirect_uri=https%3A%2F%2Fphotos.example%2Fcb&response_type=code&scope=openid%20read"
            + "&state=\(AuthorizationRedirect.percentEncode(state))&login_hint=\(AuthorizationRedirect.percentEncode(loginHint))"
            + "&code_challenge=\(BrowserHarness.challenge)&code_challenge_method=S256"
    }

    static func count(_ needle: String, in html: String) -> Int { html.components(separatedBy: needle).count - 1 }

    @Test("GET /authorize: the login page and then the consent page have exactly the markup of a benign request")
    func loginAndConsent() async throws {
        let b = try await BrowserHarness.make()
        try await b.server.test { client in
            let benign = try await client.get(Self.authorize(state: "x", loginHint: "x"))
            #expect(benign.status == .ok)
            for payload in Self.payloads {
                let page = try await client.get(Self.authorize(state: payload, loginHint: payload))
                #expect(page.status == .ok)
                let html = page.html
                #expect(PagePropertyTests.markupCount(html) == PagePropertyTests.markupCount(benign.html))
                #expect(!html.contains("<meta http-equiv"))
                #expect(Self.count("<form", in: html) == Self.count("<form", in: benign.html))
                #expect(Self.count("<input", in: html) == Self.count("<input", in: benign.html))
                #expect(html.contains(#"<form method="post" action="/login">"#))
                #expect(html.contains("value=\"\(HTMLEscaping.escape(payload))\" autocomplete=\"username\""))

                // Signed in, the consent page carries only the interaction id: the request (state, login_hint) stays server-side.
                let cookie = try #require(page.sessionCookie)
                let signedIn = try await client.postPage("/login", formEncode([
                    ("csrf_token", try #require(page.hidden("csrf_token"))), ("return_to", try #require(page.hidden("return_to"))),
                    ("username", "bob"), ("password", "builder123")]), cookie: cookie)
                #expect(signedIn.status == .seeOther)
                let session = try #require(signedIn.sessionCookie)
                let consent = try await client.get(try #require(signedIn.location), cookie: session)
                let benignConsent = try await client.get(Self.authorize(state: "x", loginHint: "x"), cookie: session)
                #expect(consent.html.contains(#"id="consent-allow""#) && benignConsent.html.contains(#"id="consent-allow""#))
                #expect(PagePropertyTests.markupCount(consent.html) == PagePropertyTests.markupCount(benignConsent.html))
                #expect(!consent.html.contains("<meta http-equiv"))
                #expect(Self.count("<input", in: consent.html) == Self.count("<input", in: benignConsent.html))
                #expect(!consent.html.contains("name=\"state\""), "issue 20 item 6: the form no longer echoes the request")
                #expect(consent.hidden("interaction")?.isEmpty == false)
            }
        }
    }
}
