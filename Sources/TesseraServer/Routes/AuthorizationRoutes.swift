import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TesseraCore

/// The browser flows: `/authorize` (RFC 6749 §3.1), `/login`, `/consent`, `/account` and the stylesheet.
///
/// These routes only translate HTTP and render pages: every OAuth decision — validation, `prompt`, `max_age`,
/// `idp_hint`, remembered consent, completing a consent — is the core's ``InteractionService``, whose
/// ``InteractionDecision`` is turned into a page or a redirect here. Expected errors render HTML and never
/// reach the JSON error middleware.
struct AuthorizationRoutes {
    let groups: BrowserGroups
    let sessions: SessionManager
    let interactions: InteractionService
    let authenticator: UserAuthenticator
    let federation: FederationService
    let consentManagement: ConsentManagement
    let loginPages: LoginPageRenderer
    let accountPages: AccountPageRenderer
    let mfaStep: MFAChallengeStep
    let clock: any TimeSource

    /// `login` is the `.login` rate-limited group: every `POST` that takes a sign-in attempt goes there. Every route
    /// gets its session from ``BrowserSessionMiddleware``; every form post is checked by ``CSRFMiddleware`` first.
    /// `limitedAuthorize` is the `.authorize` rate-limited group (`/authorize` may store a pending interaction).
    func register(on router: Router<TesseraRequestContext>, login: RouterGroup<TesseraRequestContext>,
                  authorize limitedAuthorize: RouterGroup<TesseraRequestContext>) {
        let pages = groups.group(router)
        let authorizePages = groups.group(limitedAuthorize)
        authorizePages.get("authorize") { request, context in try await authorize(request, context, parameters: BrowserRequests.query(request)) }
        authorizePages.post("authorize") { request, context in
            var request = request
            let form = try await BrowserRequests.form(&request, maxSize: groups.maxBodySize)
            return try await authorize(request, context, parameters: form)
        }
        pages.get("login") { request, context in try await loginPage(request, context) }
        groups.group(login, csrf: .refuse).post("login") { _, context in try await self.login(context) }
        groups.group(router, csrf: .refuse).post("consent") { _, context in try await consent(context) }
        groups.group(router, user: true).get("account") { _, context in try await account(context) }
        groups.group(router, user: true, csrf: .refuse).post("account/revoke") { _, context in try await revoke(context) }
        router.get("static/tessera.css") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/css; charset=utf-8"
            headers[.cacheControl] = "public, max-age=3600"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Pages.stylesheet)))
        }
    }

    // MARK: /authorize

    /// `/authorize` with a client's request starts an interaction; `/authorize?interaction=<id>` (where the sign-in
    /// pages return to) resumes one. A client's request always names `client_id`, so it is never taken for a resume.
    func authorize(_ http: Request, _ context: BrowserRequestContext, parameters: [(String, String)]?) async throws -> Response {
        guard let parameters else { return Pages.error("The request parameters are malformed.") }
        let decision: InteractionDecision
        if parameters.count == 1, parameters[0].0 == Self.interactionParameter {
            decision = try await interactions.resume(interactionID: parameters[0].1, session: context.session)
        } else {
            decision = try await interactions.start(parameters, session: context.session)
        }
        return try await respond(to: decision, session: context.session)
    }

    /// Renders a decision: the only thing this route does with it.
    func respond(to decision: InteractionDecision, session: BrowserSession?) async throws -> Response {
        switch decision {
        case .redirect(let url):
            return Pages.redirect(url)
        case .failure(let message):
            return Pages.error(message)
        case .login(let step):
            let ensured = try await sessions.ensure(session)
            return await loginPages.response(session: ensured.session, cookie: ensured.cookie, returnTo: Self.resumeURL(step.interaction),
                                             clientName: step.clientName, username: step.loginHint, error: nil, redirectURI: step.redirectURI)
        case .upstream(let providerID, let interaction):
            let ensured = try await sessions.ensure(session)
            let returnTo = Self.resumeURL(interaction)
            do {
                let url = try await federation.begin(providerID: providerID, sessionDigest: ensured.session.idDigest, returnTo: returnTo)
                return Pages.redirect(url, cookies: ensured.cookie.map { [$0] } ?? [])
            } catch let failure as FederationFailure {
                return Pages.federationFailure(failure, returnTo: returnTo)
            }
        case .consent(let step):
            guard let session else { return Pages.error("Your session expired. Go back to the application and try again.") }
            return consentPage(step, session: session)
        }
    }

    /// The query parameter of a resumed interaction.
    static let interactionParameter = "interaction"

    /// Where the sign-in pages return to: `/authorize` with only the interaction id.
    static func resumeURL(_ interaction: String) -> String {
        "/authorize?\(interactionParameter)=" + AuthorizationRedirect.percentEncode(interaction)
    }

    /// The consent page. Its form carries only the interaction id (the request is stored server-side), the CSRF
    /// token and the decision. A self-registered client is marked as unverified (its name is its own claim).
    func consentPage(_ step: ConsentStep, session: BrowserSession) -> Response {
        let page = ConsentPage(clientName: step.clientName, username: step.user.username,
                               scopes: step.scopes.sorted.map { ConsentPage.Scope(name: $0, text: Pages.describe(scope: $0)) },
                               interaction: step.interaction, csrf: session.csrfToken, unverified: step.unverifiedClient ? true : nil,
                               documentHost: step.documentHost, loopbackOnly: step.unverifiedClient && step.loopbackRedirectsOnly ? true : nil)
        return Pages.response("consent", title: "Allow access", page.templateValues, formActions: Pages.origin(of: step.redirectURI).map { [$0] } ?? [])
    }

    // MARK: /login

    func loginPage(_ http: Request, _ context: BrowserRequestContext) async throws -> Response {
        let ensured = try await sessions.ensure(context.session)
        let returnTo = BrowserRequests.safeReturnTo(BrowserRequests.queryValue(http, "return_to"))
        let pending = try await loginPages.pendingSignIn(returnTo)
        return await loginPages.response(session: ensured.session, cookie: ensured.cookie, returnTo: returnTo, clientName: pending?.clientName,
                                         username: nil, error: nil, redirectURI: pending?.redirectURI)
    }

    /// `POST /login` (CSRF-checked): the password step; a user with MFA goes on to the code step.
    func login(_ context: BrowserRequestContext) async throws -> Response {
        guard let session = context.session else { return BrowserRequests.csrfRefused() }
        let values = context.form
        let returnTo = BrowserRequests.safeReturnTo(values["return_to"])
        let user: User
        do {
            user = try await authenticator.authenticate(username: values["username"] ?? "", password: values["password"] ?? "", clientID: nil)
        } catch let error as OAuthError where error.code == .invalidGrant {
            let pending = try await loginPages.pendingSignIn(returnTo)
            return await loginPages.response(session: session, cookie: nil, returnTo: returnTo, clientName: pending?.clientName,
                                             username: values["username"], error: "The username or password is incorrect.", status: .unauthorized,
                                             redirectURI: pending?.redirectURI)
        }
        if let challenge = try await mfaStep.challengeIfNeeded(user: user, session: session, returnTo: returnTo) {
            return challenge
        }
        let signedIn = try await sessions.create(userID: user.id, authTime: clock.now, replacing: session, methods: AuthenticationMethods.password)
        return Pages.redirect(returnTo, cookies: [signedIn.cookie])
    }

    // MARK: /consent

    /// `POST /consent`: completes exactly the stored interaction (``AuthorizationEndpoint/completeConsent``);
    /// nothing of the original request is read from the form. An unknown, replayed or foreign id is an error page.
    func consent(_ context: BrowserRequestContext) async throws -> Response {
        guard let session = context.session else { return BrowserRequests.csrfRefused() }
        switch try await interactions.completeConsent(interactionID: context.form["interaction"] ?? "", session: session,
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
        return try await accountPages.response(user: user, session: session)
    }

    /// `POST /account/revoke` (CSRF-checked): withdraws the consent given to one client.
    func revoke(_ context: BrowserRequestContext) async throws -> Response {
        guard let user = context.user else { return Pages.redirect("/login?return_to=%2Faccount") }
        guard let clientID = context.form["client_id"] else { return Pages.error("No application was named.") }
        try await consentManagement.revoke(subject: user.id, clientID: clientID)
        return Pages.redirect("/account")
    }

}
