import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore

/// OpenID Connect RP-initiated logout at `/logout` (OIDC RP-Initiated Logout 1.0). `/userinfo` is
/// `UserInfoRoutes`, `/.well-known/openid-configuration` is `DiscoveryRoutes`.
///
/// It receives what it uses from the composition root: the one ``LogoutEndpoint`` (`TesseraRuntime.logoutEndpoint`)
/// and the browser sessions.
struct OpenIDRoutes {
    let endpoint: LogoutEndpoint
    let sessions: SessionManager

    /// `page`: a browser group (session read); `form`: one with `CSRFMiddleware(.report)`, so an unconfirmed or
    /// malformed form is shown the confirmation form again (not the 403 page).
    func register(page: RouterGroup<BrowserRequestContext>, form: RouterGroup<BrowserRequestContext>) {
        page.get("logout") { request, context in
            try await logout(context, parameters: BrowserRequests.query(request) ?? [], confirmedByUser: false)
        }
        form.post("logout") { _, context in
            try await logout(context, parameters: context.form.pairs, confirmedByUser: context.csrfVerified)
        }
    }

    // MARK: /logout

    /// Translates HTTP for the core's ``LogoutEndpoint`` decision: an error page, the confirmation form, or
    /// the end of the session followed by the signed-out page or (only with a valid `id_token_hint`) a redirect.
    func logout(_ context: BrowserRequestContext, parameters: [(String, String)], confirmedByUser: Bool) async throws -> Response {
        let values = BrowserRequests.dictionary(parameters)
        let session = context.session
        let logout = LogoutEndpoint.Request(idTokenHint: values["id_token_hint"], clientID: values["client_id"],
                                            postLogoutRedirectURI: values["post_logout_redirect_uri"], state: values["state"],
                                            confirmedByUser: confirmedByUser)
        switch try await endpoint.decide(logout, signedInUserID: session?.userID) {
        case .refuse(let message):
            return Pages.error(message)
        case .confirm:
            let ensured = try await sessions.ensure(session)
            let kept = parameters.filter { $0.0 != "csrf_token" }.map { LogoutPage.Parameter(name: $0.0, value: $0.1) }
            return Pages.response("logout", title: "Sign out", LogoutPage(csrf: ensured.session.csrfToken, params: kept).templateValues,
                                  cookies: ensured.cookie.map { [$0] } ?? [])
        case .signOut(let redirect):
            let cleared = try await sessions.end(session)
            if let redirect { return Pages.redirect(redirect, cookies: [cleared]) }
            return Pages.response("message", title: "Signed out", MessagePage(heading: "Signed out", message: "You are signed out.").templateValues,
                                  cookies: [cleared])
        }
    }
}
