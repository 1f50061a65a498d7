import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// Issue 14: one redirect-URI validator for `/register` and the operator (they used to differ).
@Suite("RedirectURIRules: one validator for dynamic registration and the operator")
struct RedirectURIRulesTests {
    typealias Violation = RedirectURIRules.Violation

    @Test("what each registrant may register", arguments: [
        ("https://app.example/cb", nil, nil),
        ("https://app.example/cb?x=1", nil, nil),
        ("http://127.0.0.1:8080/cb", nil, nil),
        ("http://[::1]/cb", nil, nil),
        ("http://localhost/cb", nil, nil),
        ("http://app.example/cb", Violation.scheme, nil),
        ("com.example.app:/oauth2redirect", Violation.privateUseScheme, nil),
        ("javascript:alert(1)", Violation.scheme, Violation.scheme),
        ("JavaScript:alert(1)", Violation.scheme, Violation.scheme),
        ("data:text/html,<script>x</script>", Violation.scheme, Violation.scheme),
        ("data:text/html;base64,PHNjcmlwdD4=", Violation.scheme, Violation.scheme),
        ("file:///etc/passwd", Violation.scheme, Violation.scheme),
        ("https://app.example/cb#frag", Violation.fragment, Violation.fragment),
        ("https://*.example/cb", Violation.wildcard, Violation.wildcard),
        ("https://user:pw@app.example/cb", Violation.userInformation, Violation.userInformation),
        ("https:///cb", Violation.malformed, Violation.malformed),
        ("/relative/cb", Violation.malformed, Violation.malformed),
        ("https://app.example/c b", Violation.malformed, Violation.malformed),
        ("", Violation.malformed, Violation.malformed),
    ] as [(String, Violation?, Violation?)])
    func rules(uri: String, dynamic: Violation?, operatorRule: Violation?) {
        #expect(Self.outcome(uri, .dynamic) == dynamic, "dynamic: \(uri)")
        #expect(Self.outcome(uri, .operator) == operatorRule, "operator: \(uri)")
    }

    @Test("application_type: web is https only and never loopback; native adds loopback http and reverse-domain private-use schemes", arguments: [
        ("https://app.example/cb", nil, nil),
        ("http://127.0.0.1:8080/cb", Violation.loopback, nil),
        ("https://localhost/cb", Violation.loopback, nil),
        ("http://[::1]/cb", Violation.loopback, nil),
        ("http://app.example/cb", Violation.scheme, Violation.scheme),
        ("com.example.app:/oauth2redirect", Violation.privateUseScheme, nil),
        ("myapp:/cb", Violation.privateUseScheme, Violation.privateUseScheme),
        ("com.example.app://host/cb", Violation.privateUseScheme, Violation.privateUseScheme),
        ("javascript:alert(1)", Violation.scheme, Violation.scheme),
        ("Data:text/html,x", Violation.scheme, Violation.scheme),
    ] as [(String, Violation?, Violation?)])
    func applicationTypes(uri: String, web: Violation?, native: Violation?) {
        #expect(Self.outcome(uri, .webApplication) == web, "web: \(uri)")
        #expect(Self.outcome(uri, .nativeApplication) == native, "native: \(uri)")
    }

    @Test("/register: application_type is echoed; web refuses loopback and native accepts it, with a message that says why")
    func registrationMessages() throws {
        let policy = ClientMetadata.Policy(allowedScopes: ["read"], defaultScopes: ["read"], allowResources: false)
        func register(_ json: String) throws(OAuthError) -> ClientMetadata { try ClientMetadata(json: Data(json.utf8), policy: policy) }
        #expect(try register(#"{"redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}"#).applicationType == .web,
                "no application_type: web, loopback still accepted (MCP clients send none)")
        #expect(try register(#"{"application_type":"native","redirect_uris":["com.example.app:/cb","http://127.0.0.1:9/cb"]}"#).applicationType == .native)
        do {
            _ = try register(#"{"application_type":"web","redirect_uris":["http://127.0.0.1:9/cb"]}"#)
            Issue.record("web accepted a loopback redirect")
        } catch {
            #expect(error.code == .invalidRedirectURI && error.errorDescription.contains("application_type native"), "\(error)")
        }
        do {
            _ = try register(#"{"redirect_uris":["com.example.app:/cb"]}"#)
            Issue.record("a private-use scheme without native")
        } catch {
            #expect(error.code == .invalidRedirectURI && error.errorDescription.contains("native"), "\(error)")
        }
        #expect(throws: OAuthError.self) { _ = try register(#"{"application_type":"desktop","redirect_uris":["https://a.example/cb"]}"#) }
    }

    @Test("property: whatever dynamic registration accepts, the operator accepts; neither crashes on random input")
    func dynamicIsNarrower() {
        var random = SeededRandom(seed: 7591)
        let pieces = ["https://", "http://", "javascript:", "com.app:/", "a.example", "127.0.0.1", "localhost", "[::1]", ":8080", "/cb",
                      "?q=1", "#f", "*", "@", "user:pw@", " ", "%20", "é", "\u{0301}", "..", "//", "\\", "\n", "x"]
        for _ in 0..<3000 {
            let uri = (0..<random.int(in: 0...6)).map { _ in random.pick(pieces) }.joined()
            if Self.outcome(uri, .dynamic) == nil { #expect(Self.outcome(uri, .operator) == nil, "\(uri)") }
            if let scheme = URLComponents(string: uri)?.scheme?.lowercased(), RedirectURIRules.forbiddenSchemes.contains(scheme) {
                #expect(Self.outcome(uri, .operator) != nil, "\(uri)")
            }
        }
    }

    static func outcome(_ uri: String, _ registrant: RedirectURIRules.Registrant) -> Violation? {
        do { try RedirectURIRules.check(uri, registrant: registrant); return nil } catch { return error }
    }
}
