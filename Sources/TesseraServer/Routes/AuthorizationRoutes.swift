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
    var loginPages: LoginPageRenderer { LoginPageRenderer(runtime: runtime) }

    /// `login` is the `.login` rate-limited group: every `POST` that takes a sign-in attempt goes there. Every route
    /// gets its session from ``BrowserSessionMiddleware``; every form post is checked by ``CSRFMiddleware`` first.
    func register(on router: Router<TesseraRequestContext>, login: RouterGroup<TesseraRequestContext>) {
        let pages = router.browser(runtime)
        pages.get("authorize") { request, context in try await authorize(request, context, parameters: BrowserRequests.query(request)) }
        pages.post("authorize") { request, context in
            var request = request
            let form = try await BrowserRequests.form(&request, maxSize: runtime.configuration.maxBodySize)
            return try await authorize(request, context, parameters: form)
        }
        pages.get("login") { request, context in try await loginPage(request, context) }
        login.browser(runtime, csrf: .refuse).post("login") { _, context in try await self.login(context) }
        router.browser(runtime, csrf: .refuse).post("consent") { _, context in try await consent(context) }
        router.browser(runtime, user: true).get("account") { _, context in try await account(context) }
        router.browser(runtime, user: true, csrf: .refuse).post("account/revoke") { _, context in try await revoke(context) }
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

    func authorize(_ http: Request, _ context: BrowserRequestContext, parameters: [(String, String)]?) async throws -> Response {
        guard let parameters else { return Pages.error("The request parameters are malformed.") }
        let request: AuthorizationRequest
        do {
            request = try await AuthorizationRequest.validate(parameters, clients: runtime.storage)
        } catch let failure as AuthorizationFailure {
            return respond(to: failure)
        }
        let session = context.session
        switch try await endpoint.decide(request, session: session) {
        case .redirect(let url):
            return Pages.redirect(url)
        case .login:
            let ensured = try await sessions.ensure(session)
            // After signing in, come back here without prompt=login and with the login's start for max_age (or it would ask forever).
            let returnTo = Self.authorizeURL(endpoint.parametersAfterLogin(request), dropping: .login)
            // `idp_hint=<provider id>` (like Keycloak's kc_idp_hint): go straight to that upstream provider.
            if let hint = parameters.first(where: { $0.0 == "idp_hint" })?.1, runtime.identityProviders.entry(id: hint) != nil {
                do {
                    let url = try await runtime.federation.begin(providerID: hint, sessionDigest: ensured.session.idDigest,
                                                                 returnTo: BrowserRequests.safeReturnTo(returnTo))
                    return Pages.redirect(url, cookies: ensured.cookie.map { [$0] } ?? [])
                } catch let failure as FederationFailure {
                    return Pages.federationFailure(failure, returnTo: returnTo)
                }
            }
            return await loginPages.response(session: ensured.session, cookie: ensured.cookie, returnTo: returnTo, clientName: request.client.name,
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
        let page = ConsentPage(clientName: request.client.name, username: user.username,
                               scopes: scopes.sorted.map { ConsentPage.Scope(name: $0, text: Pages.describe(scope: $0)) },
                               interaction: interaction, csrf: session.csrfToken, unverified: request.client.registeredAnonymously ? true : nil)
        return Pages.response("consent", title: "Allow access", page.templateValues, formActions: Pages.origin(of: request.redirectURI).map { [$0] } ?? [])
    }

    // MARK: /login

    func loginPage(_ http: Request, _ context: BrowserRequestContext) async throws -> Response {
        let ensured = try await sessions.ensure(context.session)
        let returnTo = BrowserRequests.safeReturnTo(BrowserRequests.queryValue(http, "return_to"))
        return await loginPages.response(session: ensured.session, cookie: ensured.cookie, returnTo: returnTo, clientName: nil, username: nil, error: nil)
    }

    /// `POST /login` (CSRF-checked): the password step; a user with MFA goes on to the code step.
    func login(_ context: BrowserRequestContext) async throws -> Response {
        guard let session = context.session else { return BrowserRequests.csrfRefused() }
        let values = context.form
        let returnTo = BrowserRequests.safeReturnTo(values["return_to"])
        let user: User
        do {
            user = try await UserAuthenticator(services: runtime.services).authenticate(username: values["username"] ?? "",
                                                                                        password: values["password"] ?? "", clientID: nil)
        } catch let error as OAuthError where error.code == .invalidGrant {
            let pending = await loginPages.pendingRedirectURI(returnTo)
            return await loginPages.response(session: session, cookie: nil, returnTo: returnTo, clientName: nil, username: values["username"],
                                             error: "The username or password is incorrect.", status: .unauthorized, redirectURI: pending)
        }
        if let challenge = try await MFAChallengeStep(runtime: runtime).challengeIfNeeded(user: user, session: session, returnTo: returnTo) {
            return challenge
        }
        let signedIn = try await sessions.create(userID: user.id, authTime: runtime.clock.now, replacing: session, methods: ["pwd"])
        return Pages.redirect(returnTo, cookies: [signedIn.cookie])
    }

    // MARK: /consent

    /// `POST /consent`: completes exactly the stored interaction (``AuthorizationEndpoint/completeConsent``);
    /// nothing of the original request is read from the form. An unknown, replayed or foreign id is an error page.
    func consent(_ context: BrowserRequestContext) async throws -> Response {
        guard let session = context.session else { return BrowserRequests.csrfRefused() }
        switch try await endpoint.completeConsent(interactionID: context.form["interaction"] ?? "", session: session,
                                                  allow: context.form["decision"] == "allow") {
        case .redirect(let url):
            return Pages.redirect(url)
        case .invalid(let message):
            return Pages.error(message)
        }
    }

    // MARK: /account

    func account(_ context: BrowserRequestContext) async throws -> Response {
        guard let user = context.user, let session = context.session else { return Pages.redirect("/login?return_to=%2Faccount") }
        return try await AccountPageRenderer(runtime: runtime).response(user: user, session: session)
    }

    /// `POST /account/revoke` (CSRF-checked): withdraws the consent given to one client.
    func revoke(_ context: BrowserRequestContext) async throws -> Response {
        guard let user = context.user else { return Pages.redirect("/login?return_to=%2Faccount") }
        guard let clientID = context.form["client_id"] else { return Pages.error("No application was named.") }
        try await ConsentManagement(services: runtime.services).revoke(subject: user.id, clientID: clientID)
        return Pages.redirect("/account")
    }

    // MARK: Helpers

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
}
