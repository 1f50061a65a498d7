import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore

/// The browser side of signing in through upstream identity providers:
/// - `POST /login/federated/{id}` (the login page's "Continue with …" button, CSRF-checked) starts the upstream
///   authorization code flow and redirects there;
/// - `GET /federation/{id}/callback` is the redirect URI registered with the provider;
/// - `POST /account/federation/unlink` removes a linked identity.
///
/// Every decision (state, nonce, PKCE, token validation, linking) is `FederationService`'s; this translates HTTP
/// and renders pages. Failures end on an error page (400, 404 for an unknown provider, 502 when the provider
/// cannot be reached), never a 500.
struct FederationRoutes {
    let groups: BrowserGroups
    let sessions: SessionManager
    let federation: FederationService
    let mfaStep: MFAChallengeStep
    let accountPages: AccountPageRenderer
    let clock: any TimeSource

    func register(on router: Router<TesseraRequestContext>, login: RouterGroup<TesseraRequestContext>) {
        groups.group(login, csrf: .refuse).post("login/federated/:provider") { _, context in
            try await start(context, providerID: context.parameters.get("provider") ?? "")
        }
        groups.group(router).get("federation/:provider/callback") { request, context in
            try await callback(request, context, providerID: context.parameters.get("provider") ?? "")
        }
        groups.group(router, user: true, csrf: .refuse).post("account/federation/unlink") { _, context in try await unlink(context) }
    }

    // MARK: Start

    func start(_ context: BrowserRequestContext, providerID: String) async throws -> Response {
        guard let session = context.session else { return BrowserRequests.csrfRefused() }
        let returnTo = BrowserRequests.safeReturnTo(context.form["return_to"])
        do {
            let url = try await federation.begin(providerID: providerID, sessionDigest: session.idDigest, returnTo: returnTo)
            return Pages.redirect(url)
        } catch let failure as FederationFailure {
            return Pages.federationFailure(failure, returnTo: returnTo)
        }
    }

    // MARK: Callback

    func callback(_ http: Request, _ context: BrowserRequestContext, providerID: String) async throws -> Response {
        // A malformed query, or a repeated parameter (``FederationCallback/init(query:)``), is refused and audited.
        guard let query = BrowserRequests.query(http), let callback = FederationCallback(query: query) else {
            federation.refuse(.invalidState, providerID: providerID)
            return Pages.federationFailure(.invalidState, returnTo: nil)
        }
        let session = context.session
        let signIn: FederatedSignIn
        do {
            signIn = try await federation.complete(providerID: providerID, callback: callback, sessionDigest: session?.idDigest)
        } catch let failure as FederationFailure {
            return Pages.federationFailure(failure, returnTo: nil)
        }
        if signIn.requiresMFA,
           let challenge = try await mfaStep.challengeIfNeeded(user: signIn.user, session: session, returnTo: signIn.returnTo,
                                                               methods: signIn.authenticationMethods, identityProvider: providerID, force: true) {
            return challenge
        }
        let signedIn = try await sessions.create(userID: signIn.user.id, authTime: clock.now, replacing: session,
                                                 methods: signIn.authenticationMethods, identityProvider: providerID)
        // A page, not a redirect: this request ends a redirect chain that began at the provider's own form, and
        // browsers check that form's CSP `form-action` on every later hop (the client's redirect URI included).
        return Pages.response("continue", title: "Signed in", ContinuePage(target: signIn.returnTo).templateValues, cookies: [signedIn.cookie],
                              refresh: signIn.returnTo)
    }

    // MARK: Account

    /// `POST /account/federation/unlink` (CSRF-checked).
    func unlink(_ context: BrowserRequestContext) async throws -> Response {
        guard let user = context.user, let session = context.session else { return Pages.redirect("/login?return_to=%2Faccount") }
        let checked = (user: user, session: session, values: context.form)
        guard let providerID = checked.values["provider_id"], let subject = checked.values["subject"] else {
            return Pages.error("No linked sign-in was named.")
        }
        do {
            _ = try await federation.unlink(user: checked.user, providerID: providerID, subject: subject)
        } catch let error as OAuthError where error.code == .invalidRequest {
            return try await accountPages.response(user: checked.user, session: checked.session, linkError: error.errorDescription,
                                                   status: .badRequest)
        }
        return Pages.redirect("/account")
    }
}
