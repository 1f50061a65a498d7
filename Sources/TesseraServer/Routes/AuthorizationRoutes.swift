import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TesseraCore

/// The browser flows: `/authorize` (RFC 6749 §3.1), `/login`, `/consent`, `/account` and the stylesheet.
///
/// These routes only translate HTTP and render pages; every OAuth decision is the core's
/// `AuthorizationRequest.validate` and `AuthorizationEndpoint`. Expected errors render HTML here and
/// never reach the JSON error middleware.
struct AuthorizationRoutes {
    let runtime: TesseraRuntime
    var sessions: SessionManager { SessionManager(runtime: runtime) }
    var endpoint: AuthorizationEndpoint { runtime.authorizationEndpoint }

    /// `login` is the `.login` rate-limited group: every `POST` that takes a sign-in attempt goes there.
    func register(on router: Router<TesseraRequestContext>, login: RouterGroup<TesseraRequestContext>) {
        router.get("authorize") { request, _ in try await authorize(request, parameters: try Self.query(request)) }
        router.post("authorize") { request, _ in
            var request = request
            return try await authorize(request, parameters: try await Self.form(&request, runtime: runtime))
        }
        router.get("login") { request, _ in try await loginPage(request) }
        login.post("login") { request, _ in try await self.login(request) }
        router.post("consent") { request, _ in try await consent(request) }
        router.get("account") { request, _ in try await account(request) }
        router.post("account/revoke") { request, _ in try await revoke(request) }
        MFARoutes(runtime: runtime).register(on: router, login: login)
        FederationRoutes(runtime: runtime).register(on: router, login: login)
        router.get("static/tessera.css") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.cacheControl] = "public, max-age=3600"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Pages.stylesheet)))
        }
    }

    // MARK: /authorize

    func authorize(_ http: Request, parameters: [(String, String)]?) async throws -> Response {
        guard let parameters else { return Pages.error("The request parameters are malformed.") }
        let request: AuthorizationRequest
        do {
            request = try await AuthorizationRequest.validate(parameters, clients: runtime.storage)
        } catch let failure as AuthorizationFailure {
            return respond(to: failure)
        }
        let session = try await sessions.current(http)
        switch try await endpoint.decide(request, session: session) {
        case .redirect(let url):
            return Pages.redirect(url)
        case .login:
            let ensured = try await sessions.ensure(http)
            // After signing in, come back here without prompt=login and with the login's start for max_age (or it would ask forever).
            let returnTo = Self.authorizeURL(endpoint.parametersAfterLogin(request), dropping: .login)
            // `idp_hint=<provider id>` (like Keycloak's kc_idp_hint): go straight to that upstream provider.
            if let hint = parameters.first(where: { $0.0 == "idp_hint" })?.1, runtime.identityProviders.entry(id: hint) != nil {
                do {
                    let url = try await runtime.federation.begin(providerID: hint, sessionDigest: ensured.session.idDigest,
                                                                 returnTo: Self.safeReturnTo(returnTo))
                    return Pages.redirect(url, cookies: ensured.cookie.map { [$0] } ?? [])
                } catch let failure as FederationFailure {
                    return FederationRoutes(runtime: runtime).failurePage(failure, returnTo: returnTo)
                }
            }
            return await loginResponse(session: ensured.session, cookie: ensured.cookie, returnTo: returnTo, clientName: request.client.name,
                                 username: request.loginHint, error: nil, redirectURI: request.redirectURI)
        case .consent(let user, let scopes):
            guard let session else { return Pages.error("Your session expired. Go back to the application and try again.") }
            let interaction = try await endpoint.beginConsent(request, user: user, scopes: scopes, session: session)
            return consentPage(request, user: user, scopes: scopes, session: session, interaction: interaction)
        }
    }

    func respond(to failure: AuthorizationFailure) -> Response {
        switch failure {
        case .unredirectable(let message):
            return Pages.error(message)
        case .redirect(let error, let target):
            return Pages.redirect(AuthorizationRedirect.error(error, target: target, issuer: runtime.configuration.effectiveIssuer))
        }
    }

    /// The consent page. Its form carries only the interaction id (the request is stored server-side), the CSRF
    /// token and the decision. A self-registered client is marked as unverified (its name is its own claim).
    func consentPage(_ request: AuthorizationRequest, user: User, scopes: ScopeSet, session: BrowserSession, interaction: String) -> Response {
        let scopeRows = scopes.sorted.map { ["name": $0, "text": Pages.describe(scope: $0)] }
        var context: [String: Any] = [
            "clientName": request.client.name, "username": user.username, "scopes": scopeRows, "interaction": interaction,
            "csrf": session.csrfToken,
        ]
        if request.client.registeredAnonymously { context["unverified"] = true }
        return Pages.response("consent", title: "Allow access", context, formActions: Pages.origin(of: request.redirectURI).map { [$0] } ?? [])
    }

    // MARK: /login

    func loginPage(_ http: Request) async throws -> Response {
        let ensured = try await sessions.ensure(http)
        let returnTo = Self.safeReturnTo(Self.queryValue(http, "return_to"))
        return await loginResponse(session: ensured.session, cookie: ensured.cookie, returnTo: returnTo, clientName: nil, username: nil, error: nil)
    }

    func loginResponse(session: BrowserSession, cookie: String?, returnTo: String, clientName: String?, username: String?, error: String?,
                       status: HTTPResponse.Status = .ok, redirectURI: String? = nil) async -> Response {
        var context: [String: Any] = ["csrf": session.csrfToken, "returnTo": returnTo, "username": username ?? ""]
        if let clientName { context["clientName"] = clientName }
        if let error { context["error"] = error }
        // After signing in, /authorize may redirect straight on to the client.
        var formActions = redirectURI.flatMap(Pages.origin(of:)).map { [$0] } ?? []
        let providers = await FederationRoutes(runtime: runtime).loginButtons()
        if !providers.isEmpty {
            context["providers"] = providers.map { ["id": $0.id, "displayName": $0.displayName] }
            // "Continue with …" posts here and is redirected to the provider: form-action must allow its origin.
            for origin in providers.flatMap(\.origins) where !formActions.contains(origin) { formActions.append(origin) }
        }
        return Pages.response("login", title: "Sign in", context, status: status, cookies: cookie.map { [$0] } ?? [], formActions: formActions)
    }

    func login(_ http: Request) async throws -> Response {
        var http = http
        guard let form = try await Self.form(&http, runtime: runtime) else { return Pages.error("The form is malformed.") }
        let values = Self.dictionary(form)
        let session = try await sessions.current(http)
        guard SessionManager.csrfMatches(session, values["csrf_token"]), let session else { return csrfRefused() }
        let returnTo = Self.safeReturnTo(values["return_to"])
        let user: User
        do {
            user = try await UserAuthenticator(services: runtime.services).authenticate(username: values["username"] ?? "",
                                                                                        password: values["password"] ?? "", clientID: nil)
        } catch let error as OAuthError where error.code == .invalidGrant {
            let pending = await pendingRedirectURI(returnTo)
            return await loginResponse(session: session, cookie: nil, returnTo: returnTo, clientName: nil, username: values["username"],
                                 error: "The username or password is incorrect.", status: .unauthorized, redirectURI: pending)
        }
        if let challenge = try await MFARoutes(runtime: runtime).challengeIfNeeded(user: user, session: session, returnTo: returnTo) {
            return challenge
        }
        let signedIn = try await sessions.create(userID: user.id, authTime: runtime.clock.now, replacing: session, methods: ["pwd"])
        return Pages.redirect(returnTo, cookies: [signedIn.cookie])
    }

    /// The redirect URI of the authorization request a login will return to (for the page CSP).
    func pendingRedirectURI(_ returnTo: String) async -> String? {
        let items = URLComponents(string: returnTo)?.queryItems ?? []
        if let uri = items.first(where: { $0.name == "redirect_uri" })?.value { return uri }
        guard let clientID = items.first(where: { $0.name == "client_id" })?.value,
              let client = try? await runtime.storage.client(id: clientID), client.redirectURIs.count == 1 else { return nil }
        return client.redirectURIs[0]
    }

    func csrfRefused() -> Response {
        Pages.error("Your session expired or the form could not be verified. Go back, reload the page and try again.", status: .forbidden)
    }

    // MARK: /consent

    /// `POST /consent`: completes exactly the stored interaction (``AuthorizationEndpoint/completeConsent``);
    /// nothing of the original request is read from the form. An unknown, replayed or foreign id is an error page.
    func consent(_ http: Request) async throws -> Response {
        var http = http
        guard let form = try await Self.form(&http, runtime: runtime) else { return Pages.error("The form is malformed.") }
        let session = try await sessions.current(http)
        let values = Self.dictionary(form)
        guard SessionManager.csrfMatches(session, values["csrf_token"]), let session else { return csrfRefused() }
        switch try await endpoint.completeConsent(interactionID: values["interaction"] ?? "", session: session,
                                                  allow: values["decision"] == "allow") {
        case .redirect(let url):
            return Pages.redirect(url)
        case .invalid(let message):
            return Pages.error(message)
        }
    }

    // MARK: /account

    func account(_ http: Request) async throws -> Response {
        let session = try await sessions.current(http)
        guard let user = try await endpoint.signedInUser(session), let session else {
            return Pages.redirect("/login?return_to=%2Faccount")
        }
        return try await accountPage(user: user, session: session)
    }

    func accountPage(user: User, session: BrowserSession, mfaError: String? = nil, linkError: String? = nil,
                     status: HTTPResponse.Status = .ok) async throws -> Response {
        var grants: [[String: Any]] = []
        for consent in try await runtime.storage.consents(subject: user.id) {
            // A deleted client's consent is meaningless (its tokens are gone with it): hide it.
            guard let client = try await runtime.storage.client(id: consent.clientID) else { continue }
            var row: [String: Any] = [
                "clientID": consent.clientID, "clientName": client.name,
                "scopes": consent.scopes.sorted.map(Pages.describe(scope:)), "grantedAt": Self.format(consent.grantedAt),
            ]
            if consent.updatedAt != consent.grantedAt { row["updatedAt"] = Self.format(consent.updatedAt) }
            grants.append(row)
        }
        var context: [String: Any] = [
            "username": user.username, "grants": grants, "hasGrants": !grants.isEmpty, "csrf": session.csrfToken,
            "mfaEnabled": try await MFAService(services: runtime.services).isEnabled(userID: user.id),
        ]
        if let mfaError { context["mfaError"] = mfaError }
        let linked = try await FederationRoutes(runtime: runtime).linkedRows(userID: user.id)
        if !linked.isEmpty { context["linked"] = linked; context["hasLinked"] = true }
        if let linkError { context["linkError"] = linkError }
        return Pages.response("account", title: "Your account", context, status: status)
    }

    func revoke(_ http: Request) async throws -> Response {
        var http = http
        guard let form = try await Self.form(&http, runtime: runtime) else { return Pages.error("The form is malformed.") }
        let values = Self.dictionary(form)
        let session = try await sessions.current(http)
        guard SessionManager.csrfMatches(session, values["csrf_token"]) else { return csrfRefused() }
        guard let user = try await endpoint.signedInUser(session) else { return Pages.redirect("/login?return_to=%2Faccount") }
        guard let clientID = values["client_id"] else { return Pages.error("No application was named.") }
        try await ConsentManagement(services: runtime.services).revoke(subject: user.id, clientID: clientID)
        return Pages.redirect("/account")
    }

    // MARK: Helpers

    /// Query parameters in order, duplicates kept; `nil` when malformed.
    static func query(_ request: Request) throws -> [(String, String)]? {
        try? FormBody.parse(Array((request.uri.query ?? "").utf8))
    }

    static func queryValue(_ request: Request, _ name: String) -> String? {
        ((try? query(request)) ?? nil)?.first { $0.0 == name }?.1
    }

    /// A form body; `nil` when malformed. A wrong content type is also "malformed" for a browser page.
    static func form(_ request: inout Request, runtime: TesseraRuntime) async throws -> [(String, String)]? {
        do {
            return try await FormRequest.parameters(of: &request, maxSize: runtime.configuration.maxBodySize)
        } catch is OAuthError {
            return nil
        }
    }

    static func dictionary(_ pairs: [(String, String)]) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in pairs where result[name] == nil { result[name] = value }
        return result
    }

    /// `/authorize?…` for these parameters, optionally without one prompt value.
    static func authorizeURL(_ parameters: [(String, String)], dropping prompt: Prompt?) -> String {
        var parameters = parameters
        if let prompt, let index = parameters.firstIndex(where: { $0.0 == "prompt" }) {
            let kept = parameters[index].1.split(separator: " ").filter { $0 != prompt.rawValue }.joined(separator: " ")
            if kept.isEmpty { parameters.remove(at: index) } else { parameters[index].1 = kept }
        }
        let query = parameters
            .map { "\(AuthorizationRedirect.percentEncode($0.0))=\(AuthorizationRedirect.percentEncode($0.1))" }
            .joined(separator: "&")
        return "/authorize?" + query
    }

    /// Only local destinations: `/authorize?…` or `/account` (no open redirect).
    static func safeReturnTo(_ value: String?) -> String {
        guard let value, value.hasPrefix("/authorize?") || value == "/account", !value.contains("//"), !value.contains("\\") else {
            return "/account"
        }
        return value
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        return formatter.string(from: date) + " UTC"
    }
}
