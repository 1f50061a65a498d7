import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import TesseraCore

/// The sign-in page, shared by `/authorize`, `/login`, the MFA step (a timed-out challenge) and federation, so the
/// route structs do not call one another to render it.
struct LoginPageRenderer: Sendable {
    /// Reads the pending request a sign-in page returns to (``pendingSignIn(_:)``).
    let interactions: InteractionService
    /// The configured upstream providers (one "Continue with …" button each).
    let identityProviders: IdentityProviderRegistry

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
        return try await interactions.signInContext(interactionID: id)
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
        for entry in identityProviders.entries {
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
struct AccountPageRenderer: Sendable {
    let grants: GrantedApplications
    let mfa: MFAService
    let federation: FederationService
    let identityProviders: IdentityProviderRegistry

    func response(user: User, session: BrowserSession, mfaError: String? = nil, linkError: String? = nil,
                  status: HTTPResponse.Status = .ok) async throws -> Response {
        let rows = try await grants.list(userID: user.id).map { grant in
            AccountPage.Grant(clientID: grant.clientID, clientName: grant.clientName, scopes: grant.scopes.sorted.map(Pages.describe(scope:)),
                              grantedAt: BrowserRequests.format(grant.grantedAt), updatedAt: grant.updatedAt.map(BrowserRequests.format))
        }
        let linked = try await federation.linkedIdentities(userID: user.id).map { link in
            AccountPage.Linked(providerID: link.providerID, subject: link.subject,
                               providerName: identityProviders.entry(id: link.providerID)?.settings.displayName ?? link.providerID,
                               linkedAt: BrowserRequests.format(link.linkedAt), email: link.email,
                               lastSignInAt: link.lastSignInAt.map(BrowserRequests.format))
        }
        let page = AccountPage(username: user.username, grants: rows, hasGrants: rows.isEmpty ? nil : true, csrf: session.csrfToken,
                               mfaEnabled: try await mfa.isEnabled(userID: user.id) ? true : nil, mfaError: mfaError,
                               linked: linked.isEmpty ? nil : linked, hasLinked: linked.isEmpty ? nil : true, linkError: linkError)
        return Pages.response("account", title: "Your account", page.templateValues, status: status)
    }
}

/// The account page (`account.html`): granted applications, the MFA state, linked upstream sign-ins.
struct AccountPage: PageContext {
    struct Grant: PageContext {
        let clientID: String
        let clientName: String
        let scopes: [String]
        let grantedAt: String
        var updatedAt: String?
    }
    struct Linked: PageContext {
        let providerID: String
        let subject: String
        let providerName: String
        let linkedAt: String
        var email: String?
        var lastSignInAt: String?
    }
    let username: String
    /// Always present (an empty list opens the template's "no grants" section).
    let grants: [Grant]
    var hasGrants: Bool?
    let csrf: String
    var mfaEnabled: Bool?
    var mfaError: String?
    var linked: [Linked]?
    var hasLinked: Bool?
    var linkError: String?
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
        return Pages.response("federation-error", title: "Sign-in failed", FederationErrorPage(message: failure.message, retry: retry).templateValues,
                              status: status)
    }
}

/// The start of the TOTP step (`/login/mfa`), shared by the password login and the upstream sign-in callback.
struct MFAChallengeStep: Sendable {
    let sessions: SessionManager
    let mfa: MFAService

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
    /// The host of a Client ID Metadata Document client, shown prominently; `nil` for registered clients.
    var documentHost: String?
    /// `true` when every redirect URI of the client is on this device.
    var loopbackOnly: Bool?
}

/// The TOTP step of a sign-in (`mfa.html`).
struct MFAChallengePage: PageContext {
    let csrf: String
    let returnTo: String
    var error: String?
}

/// The re-authentication form before a factor change (`reauthenticate.html`).
struct ReauthenticationPage: PageContext {
    let csrf: String
    let intent: String
    let username: String
    let purpose: String
    var error: String?
    /// Ask for the password (and `otpLabel`, when set, for a code).
    var password: Bool?
    var otpLabel: String?
    /// The user has no password: only "sign in again" is offered.
    var signInAgain: Bool?
}

/// Enrolling an authenticator app (`mfa-setup.html`).
struct MFASetupPage: PageContext {
    let csrf: String
    let secret: String
    let uri: String
    var error: String?
}

/// The recovery codes shown once after enrolment (`mfa-recovery.html`).
struct RecoveryCodesPage: PageContext {
    let codes: [String]
}

/// The page ending an upstream sign-in (`continue.html`): a link on to `target` (and a refresh to it).
struct ContinuePage: PageContext {
    let target: String
}

/// A failed upstream sign-in (`federation-error.html`).
struct FederationErrorPage: PageContext {
    let message: String
    let retry: String
}

/// The confirmation form of RP-initiated logout (`logout.html`): the request's parameters are posted back with it.
struct LogoutPage: PageContext {
    struct Parameter: PageContext {
        let name: String
        let value: String
    }
    let csrf: String
    let params: [Parameter]
}

/// A plain message (`message.html`).
struct MessagePage: PageContext {
    let heading: String
    let message: String
}

/// The error page (`error.html`).
struct ErrorPage: PageContext {
    let message: String
}
