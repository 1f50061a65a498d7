import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore

/// The browser side of TOTP MFA: the second login step (`/login/mfa`) and enrolment and removal from
/// `/account`. Decisions are `MFAService`'s; this translates forms and renders pages. Every form carries
/// the session's CSRF token.
struct MFARoutes {
    let runtime: TesseraRuntime
    var sessions: SessionManager { SessionManager(runtime: runtime) }
    var mfa: MFAService { MFAService(services: runtime.services) }
    var browser: AuthorizationRoutes { AuthorizationRoutes(runtime: runtime) }

    func register(on router: Router<TesseraRequestContext>, login: RouterGroup<TesseraRequestContext>) {
        router.get("login/mfa") { request, _ in try await challengePage(request) }
        login.post("login/mfa") { request, _ in try await verify(request) }
        router.post("account/mfa/setup") { request, _ in try await setup(request) }
        router.post("account/mfa/confirm") { request, _ in try await confirm(request) }
        router.post("account/mfa/disable") { request, _ in try await disable(request) }
    }

    // MARK: Login step

    /// After a right password: for a user with MFA, a fresh still-anonymous session bound to a challenge and a
    /// redirect to the code page; `nil` when the user has no MFA (sign in as before).
    /// `methods` and `identityProvider` are how the first step signed in; the second step adds `otp`.
    func challengeIfNeeded(user: User, session: BrowserSession?, returnTo: String, methods: [String] = ["pwd"], identityProvider: String? = nil,
                           force: Bool = false) async throws -> Response? {
        if !force { guard try await mfa.isEnabled(userID: user.id) else { return nil } }
        let pending = try await sessions.create(userID: nil, authTime: nil, replacing: session, methods: methods, identityProvider: identityProvider)
        try await mfa.startChallenge(sessionDigest: pending.session.idDigest, user: user)
        return Pages.redirect("/login/mfa?return_to=" + AuthorizationRedirect.percentEncode(returnTo), cookies: [pending.cookie])
    }

    func challengePage(_ http: Request) async throws -> Response {
        let returnTo = AuthorizationRoutes.safeReturnTo(AuthorizationRoutes.queryValue(http, "return_to"))
        guard let session = try await sessions.current(http), try await mfa.challengedUser(sessionDigest: session.idDigest) != nil else {
            return Pages.redirect("/login?return_to=" + AuthorizationRedirect.percentEncode(returnTo))
        }
        return await challengeResponse(session: session, returnTo: returnTo, error: nil)
    }

    func challengeResponse(session: BrowserSession, returnTo: String, error: String?, status: HTTPResponse.Status = .ok) async -> Response {
        var context: [String: Any] = ["csrf": session.csrfToken, "returnTo": returnTo]
        if let error { context["error"] = error }
        // A right code may redirect straight on to the client (form-action is checked on redirects).
        let formActions = await browser.pendingRedirectURI(returnTo).flatMap(Pages.origin(of:)).map { [$0] } ?? []
        return Pages.response("mfa", title: "Two-factor authentication", context, status: status, formActions: formActions)
    }

    func verify(_ http: Request) async throws -> Response {
        var http = http
        guard let form = try await AuthorizationRoutes.form(&http, runtime: runtime) else { return Pages.error("The form is malformed.") }
        let values = AuthorizationRoutes.dictionary(form)
        let session = try await sessions.current(http)
        guard SessionManager.csrfMatches(session, values["csrf_token"]), let session else { return browser.csrfRefused() }
        let returnTo = AuthorizationRoutes.safeReturnTo(values["return_to"])
        let outcome: (user: User, method: MFAMethod)?
        do {
            outcome = try await mfa.completeChallenge(sessionDigest: session.idDigest, code: values["otp"] ?? "")
        } catch let error as OAuthError where error.code == .invalidGrant {
            return await challengeResponse(session: session, returnTo: returnTo, error: error.errorDescription, status: .unauthorized)
        }
        guard let outcome else {
            // No live challenge: it expired (or never was). Start again from the password.
            let pending = await browser.pendingRedirectURI(returnTo)
            return await browser.loginResponse(session: session, cookie: nil, returnTo: returnTo, clientName: nil, username: nil,
                                         error: "Your sign-in took too long. Sign in again.", status: .unauthorized, redirectURI: pending)
        }
        let methods = (session.authenticationMethods ?? ["pwd"]).filter { $0 != "otp" } + ["otp"]
        let signedIn = try await sessions.create(userID: outcome.user.id, authTime: runtime.clock.now, replacing: session, methods: methods,
                                                 identityProvider: session.identityProvider)
        return Pages.redirect(returnTo, cookies: [signedIn.cookie])
    }

    // MARK: Account

    /// The signed-in user of a CSRF-checked account form, or the response refusing it.
    func accountForm(_ http: Request) async throws -> Result<(user: User, session: BrowserSession, values: [String: String]), ResponseBox> {
        var http = http
        guard let form = try await AuthorizationRoutes.form(&http, runtime: runtime) else { return .failure(ResponseBox(Pages.error("The form is malformed."))) }
        let values = AuthorizationRoutes.dictionary(form)
        let session = try await sessions.current(http)
        guard SessionManager.csrfMatches(session, values["csrf_token"]), let session else { return .failure(ResponseBox(browser.csrfRefused())) }
        guard let user = try await runtime.authorizationEndpoint.signedInUser(session) else {
            return .failure(ResponseBox(Pages.redirect("/login?return_to=%2Faccount")))
        }
        return .success((user, session, values))
    }

    func setup(_ http: Request) async throws -> Response {
        let checked: (user: User, session: BrowserSession, values: [String: String])
        switch try await accountForm(http) {
        case .failure(let box): return box.response
        case .success(let value): checked = value
        }
        let setup: MFASetup
        do {
            setup = try await mfa.beginEnrollment(user: checked.user)
        } catch let error as OAuthError where error.code == .invalidRequest {
            return Pages.redirect("/account")
        }
        return setupPage(setup, session: checked.session, error: nil)
    }

    func setupPage(_ setup: MFASetup, session: BrowserSession, error: String?, status: HTTPResponse.Status = .ok) -> Response {
        var context: [String: Any] = ["csrf": session.csrfToken, "secret": setup.secret, "uri": setup.uri]
        if let error { context["error"] = error }
        return Pages.response("mfa-setup", title: "Set up two-factor authentication", context, status: status)
    }

    func confirm(_ http: Request) async throws -> Response {
        let checked: (user: User, session: BrowserSession, values: [String: String])
        switch try await accountForm(http) {
        case .failure(let box): return box.response
        case .success(let value): checked = value
        }
        do {
            let codes = try await mfa.confirmEnrollment(user: checked.user, code: checked.values["otp"] ?? "")
            return Pages.response("mfa-recovery", title: "Recovery codes", ["codes": codes])
        } catch let error as OAuthError where error.code == .invalidGrant {
            guard let setup = try await mfa.pendingSetup(user: checked.user) else { return Pages.redirect("/account") }
            return setupPage(setup, session: checked.session, error: error.errorDescription, status: .badRequest)
        } catch let error as OAuthError where error.code == .invalidRequest {
            return Pages.redirect("/account")
        }
    }

    func disable(_ http: Request) async throws -> Response {
        let checked: (user: User, session: BrowserSession, values: [String: String])
        switch try await accountForm(http) {
        case .failure(let box): return box.response
        case .success(let value): checked = value
        }
        do {
            try await mfa.disable(user: checked.user, code: checked.values["otp"] ?? "")
        } catch let error as OAuthError where error.code == .invalidGrant {
            return try await browser.accountPage(user: checked.user, session: checked.session, mfaError: error.errorDescription, status: .badRequest)
        }
        return Pages.redirect("/account")
    }
}

/// A response carried through `Result` (which needs an `Error`).
struct ResponseBox: Error {
    let response: Response
    init(_ response: Response) { self.response = response }
}
