import Foundation
import Synchronization
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
    let runtime: TesseraRuntime
    var sessions: SessionManager { SessionManager(runtime: runtime) }
    var federation: FederationService { runtime.federation }

    func register(on router: Router<TesseraRequestContext>, login: RouterGroup<TesseraRequestContext>) {
        login.post("login/federated/:provider") { request, context in try await start(request, providerID: context.parameters.get("provider") ?? "") }
        router.get("federation/:provider/callback") { request, context in
            try await callback(request, providerID: context.parameters.get("provider") ?? "")
        }
        router.post("account/federation/unlink") { request, _ in try await unlink(request) }
    }

    // MARK: Start

    func start(_ http: Request, providerID: String) async throws -> Response {
        var http = http
        guard let form = try await AuthorizationRoutes.form(&http, runtime: runtime) else { return Pages.error("The form is malformed.") }
        let values = AuthorizationRoutes.dictionary(form)
        let session = try await sessions.current(http)
        guard SessionManager.csrfMatches(session, values["csrf_token"]), let session else {
            return AuthorizationRoutes(runtime: runtime).csrfRefused()
        }
        let returnTo = AuthorizationRoutes.safeReturnTo(values["return_to"])
        do {
            let url = try await federation.begin(providerID: providerID, sessionDigest: session.idDigest, returnTo: returnTo)
            return Pages.redirect(url)
        } catch let failure as FederationFailure {
            return failurePage(failure, returnTo: returnTo)
        }
    }

    // MARK: Callback

    func callback(_ http: Request, providerID: String) async throws -> Response {
        // A malformed query or a repeated parameter is as suspect as a missing one (RFC 6749 §3.1): refuse (and
        // audit) rather than pick one.
        guard let query = try AuthorizationRoutes.query(http),
              ["code", "state", "iss", "error"].allSatisfy({ name in query.filter { $0.0 == name }.count <= 1 }) else {
            federation.refuse(.invalidState, providerID: providerID)
            return failurePage(.invalidState, returnTo: nil)
        }
        let values = AuthorizationRoutes.dictionary(query)
        let session = try await sessions.current(http)
        let signIn: FederatedSignIn
        do {
            signIn = try await federation.complete(providerID: providerID,
                                                   callback: FederationCallback(code: values["code"], state: values["state"], issuer: values["iss"],
                                                                                error: values["error"]),
                                                   sessionDigest: session?.idDigest)
        } catch let failure as FederationFailure {
            return failurePage(failure, returnTo: nil)
        }
        if signIn.requiresMFA,
           let challenge = try await MFARoutes(runtime: runtime).challengeIfNeeded(user: signIn.user, session: session, returnTo: signIn.returnTo,
                                                                                  methods: signIn.authenticationMethods, identityProvider: providerID,
                                                                                  force: true) {
            return challenge
        }
        let signedIn = try await sessions.create(userID: signIn.user.id, authTime: runtime.clock.now, replacing: session,
                                                 methods: signIn.authenticationMethods, identityProvider: providerID)
        // A page, not a redirect: this request ends a redirect chain that began at the provider's own form, and
        // browsers check that form's CSP `form-action` on every later hop (the client's redirect URI included).
        return Pages.response("continue", title: "Signed in", ["target": signIn.returnTo], cookies: [signedIn.cookie],
                              refresh: signIn.returnTo)
    }

    func failurePage(_ failure: FederationFailure, returnTo: String?) -> Response {
        let status: HTTPResponse.Status = switch failure {
        case .unknownProvider: .notFound
        case .providerUnavailable: .badGateway
        default: .badRequest
        }
        let retry = "/login?return_to=" + AuthorizationRedirect.percentEncode(returnTo ?? "/account")
        return Pages.response("federation-error", title: "Sign-in failed", ["message": failure.message, "retry": retry], status: status)
    }

    // MARK: Account

    func unlink(_ http: Request) async throws -> Response {
        let checked: (user: User, session: BrowserSession, values: [String: String])
        switch try await MFARoutes(runtime: runtime).accountForm(http) {
        case .failure(let box): return box.response
        case .success(let value): checked = value
        }
        guard let providerID = checked.values["provider_id"], let subject = checked.values["subject"] else {
            return Pages.error("No linked sign-in was named.")
        }
        do {
            _ = try await federation.unlink(user: checked.user, providerID: providerID, subject: subject)
        } catch let error as OAuthError where error.code == .invalidRequest {
            return try await AuthorizationRoutes(runtime: runtime).accountPage(user: checked.user, session: checked.session,
                                                                              linkError: error.errorDescription, status: .badRequest)
        }
        return Pages.redirect("/account")
    }

    /// The `/account` rows of `userID`'s linked identities.
    func linkedRows(userID: String) async throws -> [[String: Any]] {
        try await federation.linkedIdentities(userID: userID).map { link in
            var row: [String: Any] = [
                "providerID": link.providerID, "subject": link.subject,
                "providerName": runtime.identityProviders.entry(id: link.providerID)?.settings.displayName ?? link.providerID,
                "linkedAt": AuthorizationRoutes.format(link.linkedAt),
            ]
            if let email = link.email { row["email"] = email }
            if let last = link.lastSignInAt { row["lastSignInAt"] = AuthorizationRoutes.format(last) }
            return row
        }
    }

    // MARK: Login page

    struct LoginButton: Sendable {
        let id: String
        let displayName: String
        /// The origins the provider's authorization endpoint may have (for the page's `form-action`).
        let origins: [String]
    }

    /// One button per provider, with the origins its authorization endpoint may have: the endpoint's own when the
    /// client knows it within half a second (configured for plain OAuth 2.0; discovered, then cached, for OpenID),
    /// and an OpenID provider's issuer origin (true of every major provider) when discovery is slow or failing.
    /// A provider that cannot be reached keeps its button and fails on use, without slowing the login page.
    func loginButtons() async -> [LoginButton] {
        var buttons: [LoginButton] = []
        for entry in runtime.identityProviders.entries {
            var origins: [String] = []
            if case .openIDConnect(let issuer) = entry.settings.kind, let origin = Pages.origin(of: issuer) { origins.append(origin) }
            let client = entry.client
            let endpoint = await Self.within(.milliseconds(500)) { try? await client.authorizationEndpoint() }
            if let origin = endpoint.flatMap(Pages.origin(of:)), !origins.contains(origin) { origins.append(origin) }
            buttons.append(LoginButton(id: entry.settings.id, displayName: entry.settings.displayName, origins: origins))
        }
        return buttons
    }

    /// `work`'s result if it finishes within `limit`, else `nil` (the work carries on in the background).
    static func within<T: Sendable>(_ limit: Duration, _ work: @escaping @Sendable () async -> T?) async -> T? {
        let first = FirstResult<T>()
        return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            first.set(continuation)
            Task { first.finish(await work()) }
            Task {
                try? await Task.sleep(for: limit)
                first.finish(nil)
            }
        }
    }
}

/// Resumes a continuation with whichever value arrives first.
private final class FirstResult<T: Sendable>: Sendable {
    private let continuation = Mutex<CheckedContinuation<T?, Never>?>(nil)
    func set(_ value: CheckedContinuation<T?, Never>) { continuation.withLock { $0 = value } }
    func finish(_ value: T?) { continuation.withLock { $0.take() }?.resume(returning: value) }
}
