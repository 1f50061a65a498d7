import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore

/// The browser side of TOTP MFA: the second login step (`/login/mfa`) and enrolment and removal from
/// `/account`. Decisions are `MFAService`'s and `StepUpService`'s (a factor change needs a re-authentication within
/// five minutes); this translates forms and renders pages. Every form carries the session's CSRF token.
struct MFARoutes {
    let groups: BrowserGroups
    let sessions: SessionManager
    let mfa: MFAService
    let stepUp: StepUpService
    let loginPages: LoginPageRenderer
    let accountPages: AccountPageRenderer
    let clock: any TimeSource

    func register(on router: Router<TesseraRequestContext>, login: RouterGroup<TesseraRequestContext>) {
        groups.group(router).get("login/mfa") { request, context in try await challengePage(request, context) }
        groups.group(login, csrf: .refuse).post("login/mfa") { _, context in try await verify(context) }
        let account = groups.group(router, user: true, csrf: .refuse)
        account.post("account/mfa/setup") { _, context in try await setup(context) }
        account.post("account/mfa/confirm") { _, context in try await confirm(context) }
        account.post("account/mfa/disable") { _, context in try await disable(context) }
        // A password form: rate-limited like /login.
        groups.group(login, user: true, csrf: .refuse).post("account/reauthenticate") { _, context in try await reauthenticate(context) }
    }

    // MARK: Login step

    func challengePage(_ http: Request, _ context: BrowserRequestContext) async throws -> Response {
        let returnTo = BrowserRequests.safeReturnTo(BrowserRequests.queryValue(http, "return_to"))
        guard let session = context.session, try await mfa.challengedUser(sessionDigest: session.idDigest) != nil else {
            return Pages.redirect("/login?return_to=" + AuthorizationRedirect.percentEncode(returnTo))
        }
        return try await challengeResponse(session: session, returnTo: returnTo, error: nil)
    }

    func challengeResponse(session: BrowserSession, returnTo: String, error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        let page = MFAChallengePage(csrf: session.csrfToken, returnTo: returnTo, error: error)
        // A right code may redirect straight on to the client (form-action is checked on redirects).
        let formActions = try await loginPages.pendingSignIn(returnTo).flatMap { Pages.origin(of: $0.redirectURI) }.map { [$0] } ?? []
        return Pages.response("mfa", title: "Two-factor authentication", page.templateValues, status: status, formActions: formActions)
    }

    /// `POST /login/mfa` (CSRF-checked): the second sign-in step.
    func verify(_ context: BrowserRequestContext) async throws -> Response {
        guard let session = context.session else { return BrowserRequests.csrfRefused() }
        let values = context.form
        let returnTo = BrowserRequests.safeReturnTo(values["return_to"])
        let outcome: (user: User, method: MFAMethod)?
        do {
            outcome = try await mfa.completeChallenge(sessionDigest: session.idDigest, code: values["otp"] ?? "")
        } catch let error as OAuthError where error.code == .invalidGrant {
            return try await challengeResponse(session: session, returnTo: returnTo, error: error.errorDescription, status: .unauthorized)
        }
        guard let outcome else {
            // No live challenge: it expired (or never was). Start again from the password.
            let pending = try await loginPages.pendingSignIn(returnTo)
            return await loginPages.response(session: session, cookie: nil, returnTo: returnTo, clientName: pending?.clientName, username: nil,
                                             error: "Your sign-in took too long. Sign in again.", status: .unauthorized,
                                             redirectURI: pending?.redirectURI)
        }
        let methods = AuthenticationMethods.afterSecondFactor(session.authenticationMethods)
        let signedIn = try await sessions.create(userID: outcome.user.id, authTime: clock.now, replacing: session, methods: methods,
                                                 identityProvider: session.identityProvider)
        return Pages.redirect(returnTo, cookies: [signedIn.cookie])
    }

    // MARK: Account

    /// The signed-in user and session of a CSRF-checked account form (``CSRFMiddleware`` ran), or the redirect to
    /// the login page when nobody is signed in.
    func accountForm(_ context: BrowserRequestContext) -> Result<(user: User, session: BrowserSession, values: BrowserForm), ResponseBox> {
        guard let user = context.user, let session = context.session else {
            return .failure(ResponseBox(Pages.redirect("/login?return_to=%2Faccount")))
        }
        return .success((user, session, context.form))
    }

    /// What a factor change asked for, carried through the re-authentication form.
    enum Intent: String {
        case setup, confirm, disable
    }

    /// `nil` when the session may change the user's factors now (``StepUpPolicy``), else the re-authentication form.
    func stepUpRefusal(user: User, session: BrowserSession, intent: Intent) async throws -> Response? {
        switch try await stepUp.decision(user: user, session: session) {
        case .allowed: return nil
        case .reauthenticate(let secondFactor):
            return reauthenticationPage(intent: intent, user: user, session: session, secondFactor: secondFactor, error: nil)
        case .signInAgain:
            return reauthenticationPage(intent: intent, user: user, session: session, secondFactor: false, signInAgain: true, error: nil)
        }
    }

    /// The re-authentication form (401: the change was refused until it is filled in).
    func reauthenticationPage(intent: Intent, user: User, session: BrowserSession, secondFactor: Bool, signInAgain: Bool = false,
                              error: String?) -> Response {
        let purpose = switch intent {
        case .setup: "To set up two-factor authentication, confirm it is you."
        case .confirm: "To turn on two-factor authentication, confirm it is you."
        case .disable: "To turn off two-factor authentication, confirm it is you."
        }
        var page = ReauthenticationPage(csrf: session.csrfToken, intent: intent.rawValue, username: user.username, purpose: purpose, error: error)
        if signInAgain {
            page.signInAgain = true
        } else {
            page.password = true
            if secondFactor {
                page.otpLabel = "A current code or a recovery code"
            } else if intent == .confirm {
                page.otpLabel = "Code from the app"
            }
        }
        return Pages.response("reauthenticate", title: "Confirm it is you", page.templateValues, status: .unauthorized)
    }

    /// `POST /account/reauthenticate`: the password (and, with MFA on, a current code) again; on success a replacement
    /// session records the time (``BrowserSession/reauthenticatedAt``) and the change asked for goes ahead. A user
    /// without a password is signed out and sent to sign in again.
    func reauthenticate(_ context: BrowserRequestContext) async throws -> Response {
        let checked: (user: User, session: BrowserSession, values: BrowserForm)
        switch accountForm(context) {
        case .failure(let box): return box.response
        case .success(let value): checked = value
        }
        guard let intent = Intent(rawValue: checked.values["intent"] ?? "") else { return Pages.error("The form is malformed.") }
        if try await stepUp.decision(user: checked.user, session: checked.session) == .signInAgain {
            let cleared = try await sessions.end(checked.session)
            return Pages.redirect("/login?return_to=%2Faccount", cookies: [cleared])
        }
        let methods: [String]
        do {
            methods = try await stepUp.reauthenticate(user: checked.user, password: checked.values["password"] ?? "", code: checked.values["otp"])
        } catch let error as OAuthError where error.code == .invalidGrant || error.code == .invalidRequest {
            let secondFactor = try await mfa.isEnabled(userID: checked.user.id)
            return reauthenticationPage(intent: intent, user: checked.user, session: checked.session, secondFactor: secondFactor,
                                        error: error.errorDescription)
        }
        let now = clock.now
        let fresh = try await sessions.create(userID: checked.user.id, authTime: now, replacing: checked.session, methods: methods,
                                              reauthenticatedAt: now)
        switch intent {
        case .setup:
            return try await beginSetup(user: checked.user, session: fresh.session, cookies: [fresh.cookie])
        case .confirm:
            return try await finishConfirm(user: checked.user, session: fresh.session, code: checked.values["otp"] ?? "", cookies: [fresh.cookie])
        case .disable:
            // The code was checked by the re-authentication itself.
            try await stepUp.disableMFA(user: checked.user, reauthenticatedWith: methods)
            return Pages.redirect("/account", cookies: [fresh.cookie])
        }
    }

    func setup(_ context: BrowserRequestContext) async throws -> Response {
        let checked: (user: User, session: BrowserSession, values: BrowserForm)
        switch accountForm(context) {
        case .failure(let box): return box.response
        case .success(let value): checked = value
        }
        if let refusal = try await stepUpRefusal(user: checked.user, session: checked.session, intent: .setup) { return refusal }
        return try await beginSetup(user: checked.user, session: checked.session, cookies: [])
    }

    func beginSetup(user: User, session: BrowserSession, cookies: [String]) async throws -> Response {
        let setup: MFASetup
        do {
            setup = try await mfa.beginEnrollment(user: user)
        } catch let error as OAuthError where error.code == .invalidRequest {
            return Pages.redirect("/account", cookies: cookies)
        }
        return setupPage(setup, session: session, error: nil, cookies: cookies)
    }

    func setupPage(_ setup: MFASetup, session: BrowserSession, error: String?, status: HTTPResponse.Status = .ok, cookies: [String] = []) -> Response {
        let page = MFASetupPage(csrf: session.csrfToken, secret: setup.secret, uri: setup.uri, error: error)
        return Pages.response("mfa-setup", title: "Set up two-factor authentication", page.templateValues, status: status, cookies: cookies)
    }

    func confirm(_ context: BrowserRequestContext) async throws -> Response {
        let checked: (user: User, session: BrowserSession, values: BrowserForm)
        switch accountForm(context) {
        case .failure(let box): return box.response
        case .success(let value): checked = value
        }
        if let refusal = try await stepUpRefusal(user: checked.user, session: checked.session, intent: .confirm) { return refusal }
        return try await finishConfirm(user: checked.user, session: checked.session, code: checked.values["otp"] ?? "", cookies: [])
    }

    /// Confirms the pending enrolment; the user's other sessions end (``MFAService/confirmEnrollment(user:code:keeping:)``).
    func finishConfirm(user: User, session: BrowserSession, code: String, cookies: [String]) async throws -> Response {
        do {
            let codes = try await mfa.confirmEnrollment(user: user, code: code, keeping: session.idDigest)
            return Pages.response("mfa-recovery", title: "Recovery codes", RecoveryCodesPage(codes: codes).templateValues, cookies: cookies)
        } catch let error as OAuthError where error.code == .invalidGrant {
            guard let setup = try await mfa.pendingSetup(user: user) else { return Pages.redirect("/account", cookies: cookies) }
            return setupPage(setup, session: session, error: error.errorDescription, status: .badRequest, cookies: cookies)
        } catch let error as OAuthError where error.code == .invalidRequest {
            return Pages.redirect("/account", cookies: cookies)
        }
    }

    func disable(_ context: BrowserRequestContext) async throws -> Response {
        let checked: (user: User, session: BrowserSession, values: BrowserForm)
        switch accountForm(context) {
        case .failure(let box): return box.response
        case .success(let value): checked = value
        }
        if let refusal = try await stepUpRefusal(user: checked.user, session: checked.session, intent: .disable) { return refusal }
        do {
            try await mfa.disable(user: checked.user, code: checked.values["otp"] ?? "")
        } catch let error as OAuthError where error.code == .invalidGrant {
            return try await accountPages.response(user: checked.user, session: checked.session, mfaError: error.errorDescription, status: .badRequest)
        }
        return Pages.redirect("/account")
    }
}

/// A response carried through `Result` (which needs an `Error`).
struct ResponseBox: Error {
    let response: Response
    init(_ response: Response) { self.response = response }
}
