import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore

/// Server-rendered pages (swift-mustache). No script, no third-party resources: the pages work without
/// JavaScript and the CSP forbids anything but our own stylesheet and same-origin form posts.
///
/// Every value a template shows goes through ``HTMLEscaping/escape(_:)``: `library` registers it as a
/// swift-mustache content type and puts the `CONTENT_TYPE` pragma at the top of every template source
/// (pages, layout and partials: swift-mustache resets the content type when it enters a partial), so no
/// template can forget it. The only triple mustache is the layout's `{{{body}}}`, our own rendered page.
public enum Pages {
    /// The CSP of every HTML page.
    static let contentSecurityPolicy = policy(formActions: [])

    /// The page CSP. Browsers check `form-action` on every redirect that follows a form submission, so a
    /// page whose form ends in a redirect to the client (login, consent) also names that one origin.
    static func policy(formActions: [String]) -> String {
        let sources = (["'self'"] + formActions).joined(separator: " ")
        return "default-src 'none'; style-src 'self'; form-action \(sources); frame-ancestors 'none'; base-uri 'none'"
    }

    /// The CSP source expression for a redirect URI's origin (`https://app.example:8443`, or `com.example.app:`).
    static func origin(of uri: String) -> String? {
        guard let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased() else { return nil }
        guard let host = components.host, !host.isEmpty else { return scheme + ":" }
        let safe = (scheme + host).unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || ".-[]:+".unicodeScalars.contains($0) }
        guard safe else { return nil }
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(hostPart)" + (components.port.map { ":\($0)" } ?? "")
    }

    /// Every template source by name (pages, the layout and partials), as written (without the pragma).
    public static let templateSources: [String: String] = sources.merging(mfaSources, uniquingKeysWith: { first, _ in first })

    /// The pragma `library` puts before every template source.
    static let escapingPragma = "{{% CONTENT_TYPE: \(HTMLEscaping.contentTypeName) }}"

    static let library: MustacheLibrary = {
        // Registered before any template that names it is parsed.
        HTMLEscaping.register()
        var templates: [String: MustacheTemplate] = [:]
        for (name, source) in templateSources {
            // The sources are constants; a syntax error is a programming error caught by the route tests.
            templates[name] = try! MustacheTemplate(string: escapingPragma + source)
        }
        return MustacheLibrary(templates: templates)
    }()

    /// Renders `page` inside the layout (every value HTML-escaped by ``HTMLEscaping/escape(_:)``).
    public static func render(_ page: String, title: String, _ context: [String: Any], refresh: String? = nil) -> String {
        let body = library.render(context, withTemplate: page) ?? ""
        var layout: [String: Any] = ["title": title, "body": body]
        if let refresh { layout["refresh"] = refresh }
        return library.render(layout, withTemplate: "layout") ?? ""
    }

    /// An HTML response with the page CSP and `no-store`.
    static func response(_ page: String, title: String, _ context: [String: Any], status: HTTPResponse.Status = .ok,
                         cookies: [String] = [], formActions: [String] = [], refresh: String? = nil) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = policy(formActions: formActions)
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: render(page, title: title, context, refresh: refresh))))
    }

    /// The error page: shown instead of redirecting when the client or redirect URI cannot be trusted.
    static func error(_ message: String, status: HTTPResponse.Status = .badRequest) -> Response {
        response("error", title: "Request refused", ErrorPage(message: message).templateValues, status: status)
    }

    /// A 303 redirect (RFC 9700 §4.11: 303 so a POST is never replayed to the client).
    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    /// Plain-words descriptions of scopes for the consent and account pages.
    static func describe(scope: String) -> String {
        switch scope {
        case "openid": "Confirm your identity (your user id)"
        case "profile": "See your name"
        case "email": "See your email address"
        case "offline_access": "Keep access while you are away"
        case "read": "Read your data"
        case "write": "Change your data"
        case "admin": "Administer your account"
        default: "Use the “\(scope)” permission"
        }
    }

    static let stylesheet = """
    body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d2330;margin:0}
    main{max-width:28rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px rgba(0,0,0,.1)}
    main.wide{max-width:48rem}
    h1{font-size:1.4rem;margin-top:0}
    label{display:block;margin:.8rem 0 .2rem}
    input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #b8bfcc;border-radius:.3rem}
    button{margin-top:1rem;padding:.5rem 1.2rem;border:0;border-radius:.3rem;background:#2456c7;color:#fff;font-size:1rem;cursor:pointer}
    button.secondary{background:#e4e7ec;color:#1d2330}
    .error{color:#a4161a;background:#fde8e8;padding:.6rem;border-radius:.3rem}
    table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:.4rem;border-bottom:1px solid #e4e7ec}
    .actions{display:flex;gap:.5rem}
    """

    static let sources: [String: String] = [
        "layout": """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Tessera</title><link rel="stylesheet" href="/static/tessera.css">
        {{#refresh}}<meta http-equiv="refresh" content="0;url={{refresh}}">{{/refresh}}</head>
        <body>{{{body}}}</body>
        </html>
        """,
        "error": """
        <main id="error-page"><h1>Request refused</h1><p class="error" id="error-message">{{message}}</p>
        <p>The application that sent you here is misconfigured or the link is not valid. You were not redirected.</p></main>
        """,
        "login": """
        <main><h1>Sign in</h1>
        {{#clientName}}<p>to continue to <strong id="client-name">{{clientName}}</strong></p>{{/clientName}}
        {{#error}}<p class="error" id="login-error">{{error}}</p>{{/error}}
        <form method="post" action="/login">
        <input type="hidden" name="csrf_token" value="{{csrf}}">
        <input type="hidden" name="return_to" value="{{returnTo}}">
        <label for="username">Username</label><input type="text" id="username" name="username" value="{{username}}" autocomplete="username" required autofocus>
        <label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
        <button type="submit" id="login-submit">Sign in</button>
        </form>
        {{#providers}}<form method="post" action="/login/federated/{{id}}" class="federated"><input type="hidden" name="csrf_token" value="{{csrf}}">
        <input type="hidden" name="return_to" value="{{returnTo}}"><button type="submit" id="federated-{{id}}" class="secondary">Continue with {{displayName}}</button></form>{{/providers}}
        </main>
        """,
        "continue": """
        <main id="continue-page"><h1>Signed in</h1><p><a id="continue-link" href="{{target}}">Continue</a></p></main>
        """,
        "federation-error": """
        <main id="federation-error"><h1>Sign-in failed</h1><p class="error" id="error-message">{{message}}</p>
        <p><a id="retry-link" href="{{retry}}">Back to sign-in</a></p></main>
        """,
        "consent": """
        <main><h1>Allow access?</h1>
        {{#unverified}}<p class="error" id="unverified-notice"><strong>Unverified application.</strong> This application registered itself; \
        its name is its own claim and has not been checked by the operator of this server. Allow access only if you trust where you came from.</p>{{/unverified}}
        {{#documentHost}}<p id="client-host">This application is identified by the website <strong class="host">{{documentHost}}</strong>.</p>{{/documentHost}}
        {{#loopbackOnly}}<p class="error" id="loopback-warning"><strong>Local application.</strong> It receives your authorization on this \
        device (localhost). Continue only if you started it yourself just now.</p>{{/loopbackOnly}}
        <p><strong id="client-name">{{clientName}}</strong> asks to access your account <strong>{{username}}</strong>:</p>
        <ul id="scopes">{{#scopes}}<li class="scope" data-scope="{{name}}">{{text}}</li>{{/scopes}}</ul>
        <form method="post" action="/consent">
        <input type="hidden" name="csrf_token" value="{{csrf}}">
        <input type="hidden" name="interaction" value="{{interaction}}">
        <div class="actions"><button type="submit" name="decision" value="allow" id="consent-allow">Allow</button>
        <button type="submit" name="decision" value="deny" id="consent-deny" class="secondary">Deny</button></div>
        </form></main>
        """,
        "account": """
        <main class="wide"><h1>Your account</h1><p>Signed in as <strong id="account-username">{{username}}</strong>.</p>
        <h2>Applications you allowed</h2>
        {{^grants}}<p id="no-grants">You have not allowed any application.</p>{{/grants}}
        {{#hasGrants}}<table><thead><tr><th>Application</th><th>Access</th><th>Allowed on</th><th></th></tr></thead><tbody>
        {{#grants}}<tr class="grant" data-client-id="{{clientID}}"><td>{{clientName}}</td><td>{{#scopes}}<div>{{.}}</div>{{/scopes}}</td>
        <td>{{grantedAt}}{{#updatedAt}}<br><small>updated {{updatedAt}}</small>{{/updatedAt}}</td>
        <td><form method="post" action="/account/revoke"><input type="hidden" name="csrf_token" value="{{csrf}}">
        <input type="hidden" name="client_id" value="{{clientID}}"><button type="submit" id="revoke-{{clientID}}" class="secondary">Revoke</button></form></td></tr>{{/grants}}
        </tbody></table>{{/hasGrants}}
        {{> account-mfa}}
        {{#hasLinked}}<h2>Linked sign-ins</h2>{{#linkError}}<p class="error" id="link-error">{{linkError}}</p>{{/linkError}}<table id="linked-identities"><thead><tr><th>Provider</th><th>Account</th><th>Linked on</th><th></th></tr></thead><tbody>
        {{/hasLinked}}{{#linked}}<tr class="linked" data-provider="{{providerID}}"><td>{{providerName}}</td><td>{{email}}</td>
        <td>{{linkedAt}}{{#lastSignInAt}}<br><small>last used {{lastSignInAt}}</small>{{/lastSignInAt}}</td>
        <td><form method="post" action="/account/federation/unlink"><input type="hidden" name="csrf_token" value="{{csrf}}">
        <input type="hidden" name="provider_id" value="{{providerID}}"><input type="hidden" name="subject" value="{{subject}}">
        <button type="submit" id="unlink-{{providerID}}" class="secondary">Unlink</button></form></td></tr>{{/linked}}{{#hasLinked}}</tbody></table>{{/hasLinked}}
        <form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{csrf}}"><button type="submit" id="logout-submit" class="secondary">Sign out</button></form>
        </main>
        """,
        "logout": """
        <main><h1>Sign out?</h1>
        <form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{{csrf}}">
        {{#params}}<input type="hidden" name="{{name}}" value="{{value}}">{{/params}}
        <button type="submit" id="logout-submit">Sign out</button></form></main>
        """,
        "message": """
        <main><h1>{{heading}}</h1><p id="message">{{message}}</p></main>
        """,
    ]
}
