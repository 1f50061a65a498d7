import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import TesseraCore

/// The sign-in page, shared by `/authorize`, `/login`, the MFA step (a timed-out challenge) and federation, so the
/// route structs do not call one another to render it.
struct LoginPageRenderer {
    let runtime: TesseraRuntime

    /// The login form: the session's CSRF token, where to return, and one "Continue with …" button per upstream
    /// provider (whose origins join the page's CSP `form-action`, as does `redirectURI`'s).
    func response(session: BrowserSession, cookie: String?, returnTo: String, clientName: String?, username: String?, error: String?,
                  status: HTTPResponse.Status = .ok, redirectURI: String? = nil) async -> Response {
        var page = LoginPage(csrf: session.csrfToken, returnTo: returnTo, username: username ?? "", clientName: clientName, error: error)
        // After signing in, /authorize may redirect straight on to the client.
        var formActions = redirectURI.flatMap(Pages.origin(of:)).map { [$0] } ?? []
        let providers = await loginButtons()
        if !providers.isEmpty {
            page.providers = providers.map { LoginPage.Provider(id: $0.id, displayName: $0.displayName) }
            // "Continue with …" posts here and is redirected to the provider: form-action must allow its origin.
            for origin in providers.flatMap(\.origins) where !formActions.contains(origin) { formActions.append(origin) }
        }
        return Pages.response("login", title: "Sign in", page.templateValues, status: status, cookies: cookie.map { [$0] } ?? [], formActions: formActions)
    }

    /// The pending authorization request a sign-in page returns to (`/authorize?interaction=<id>`), read without
    /// consuming it: its client's name, and its redirect URI for the page CSP. `nil` for any other `returnTo`.
    func pendingSignIn(_ returnTo: String) async throws -> SignInContext? {
        guard returnTo.hasPrefix("/authorize?"),
              let items = URLComponents(string: returnTo)?.queryItems, items.count == 1, items[0].name == AuthorizationRoutes.interactionParameter,
              let id = items[0].value else { return nil }
        return try await runtime.interactionService.signInContext(interactionID: id)
    }

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

/// The `/account` page (granted applications, MFA state, linked upstream identities), rendered by the account
/// routes and again, with an error, by the MFA and federation forms that post from it.
struct AccountPageRenderer {
    let runtime: TesseraRuntime

    func response(user: User, session: BrowserSession, mfaError: String? = nil, linkError: String? = nil,
                  status: HTTPResponse.Status = .ok) async throws -> Response {
        var grants: [[String: Any]] = []
        for consent in try await runtime.storage.consents(subject: user.id) {
            // A deleted client's consent is meaningless (its tokens are gone with it): hide it.
            guard let client = try await runtime.storage.client(id: consent.clientID) else { continue }
            var row: [String: Any] = [
                "clientID": consent.clientID, "clientName": client.name,
                "scopes": consent.scopes.sorted.map(Pages.describe(scope:)), "grantedAt": BrowserRequests.format(consent.grantedAt),
            ]
            if consent.updatedAt != consent.grantedAt { row["updatedAt"] = BrowserRequests.format(consent.updatedAt) }
            grants.append(row)
        }
        var context: [String: Any] = [
            "username": user.username, "grants": grants, "hasGrants": !grants.isEmpty, "csrf": session.csrfToken,
            "mfaEnabled": try await MFAService(services: runtime.services).isEnabled(userID: user.id),
        ]
        if let mfaError { context["mfaError"] = mfaError }
        let linked = try await linkedRows(userID: user.id)
        if !linked.isEmpty { context["linked"] = linked; context["hasLinked"] = true }
        if let linkError { context["linkError"] = linkError }
        return Pages.response("account", title: "Your account", context, status: status)
    }

    /// The rows of `userID`'s linked upstream identities.
    func linkedRows(userID: String) async throws -> [[String: Any]] {
        try await runtime.federation.linkedIdentities(userID: userID).map { link in
            var row: [String: Any] = [
                "providerID": link.providerID, "subject": link.subject,
                "providerName": runtime.identityProviders.entry(id: link.providerID)?.settings.displayName ?? link.providerID,
                "linkedAt": BrowserRequests.format(link.linkedAt),
            ]
            if let email = link.email { row["email"] = email }
            if let last = link.lastSignInAt { row["lastSignInAt"] = BrowserRequests.format(last) }
            return row
        }
    }
}

extension Pages {
    /// The page ending a failed upstream sign-in: 404 for an unknown provider, 502 when it cannot be reached,
    /// else 400, with a link back to the login page.
    static func federationFailure(_ failure: FederationFailure, returnTo: String?) -> Response {
        let status: HTTPResponse.Status = switch failure {
        case .unknownProvider: .notFound
        case .providerUnavailable: .badGateway
        default: .badRequest
        }
        let retry = "/login?return_to=" + AuthorizationRedirect.percentEncode(returnTo ?? "/account")
        return Pages.response("federation-error", title: "Sign-in failed", ["message": failure.message, "retry": retry], status: status)
    }
}

/// The start of the TOTP step (`/login/mfa`), shared by the password login and the upstream sign-in callback.
struct MFAChallengeStep {
    let runtime: TesseraRuntime
    var sessions: SessionManager { SessionManager(runtime: runtime) }
    var mfa: MFAService { MFAService(services: runtime.services) }

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
}

/// A page's template values as a typed value: ``templateValues`` turns it into the renderer's dictionary in one place
/// (each stored property by name; a `nil` optional is left out, so `{{#name}}` sections stay closed).
protocol PageContext: Sendable {}

extension PageContext {
    var templateValues: [String: Any] { PageValues.dictionary(self) }
}

enum PageValues {
    static func dictionary(_ value: some PageContext) -> [String: Any] {
        var result: [String: Any] = [:]
        for child in Mirror(reflecting: value).children {
            guard let label = child.label, let converted = convert(child.value) else { continue }
            result[label] = converted
        }
        return result
    }

    private static func convert(_ value: Any) -> Any? {
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            guard let wrapped = mirror.children.first?.value else { return nil }
            return convert(wrapped)
        }
        if let context = value as? any PageContext { return dictionary(context) }
        if let contexts = value as? [any PageContext] { return contexts.map { dictionary($0) } }
        return value
    }
}

/// The sign-in page (`login.html`).
struct LoginPage: PageContext {
    struct Provider: PageContext {
        let id: String
        let displayName: String
    }
    let csrf: String
    let returnTo: String
    let username: String
    var clientName: String?
    var error: String?
    /// One "Continue with …" button per upstream provider; `nil` (no section) without any.
    var providers: [Provider]?
}

/// The consent page (`consent.html`): its form carries only the interaction id, the CSRF token and the decision.
struct ConsentPage: PageContext {
    struct Scope: PageContext {
        let name: String
        let text: String
    }
    let clientName: String
    let username: String
    let scopes: [Scope]
    let interaction: String
    let csrf: String
    /// `true` for a self-registered client (its name is its own claim), else `nil`.
    var unverified: Bool?
}
