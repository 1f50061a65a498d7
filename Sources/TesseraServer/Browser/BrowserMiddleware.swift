import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import TesseraCore

/// The request context of the browser routes (a Hummingbird `ChildRequestContext` of ``TesseraRequestContext``):
/// the browser session read once by ``BrowserSessionMiddleware``, the signed-in user, and the form that
/// ``CSRFMiddleware`` parsed and checked, so handlers neither re-read the cookie nor the body.
struct BrowserRequestContext: ChildRequestContext {
    typealias ParentContext = TesseraRequestContext
    var coreContext: CoreRequestContextStorage
    /// The parent context (client address, forwarded origin).
    let parent: TesseraRequestContext
    /// The live session named by the cookie (absolute and idle timeout applied, ``SessionExpiry``), if any.
    var session: BrowserSession?
    /// The session's signed-in, enabled user; resolved only on groups made with `user: true`.
    var user: User?
    /// The form body of a ``CSRFMiddleware`` route (empty when it was malformed on a `.report` route).
    var form = BrowserForm([])
    /// Whether the form's `csrf_token` is the session's (always true past a `.refuse` ``CSRFMiddleware``).
    var csrfVerified = false

    init(context: TesseraRequestContext) throws {
        self.coreContext = context.coreContext
        self.parent = context
    }
}

/// A parsed `application/x-www-form-urlencoded` body: its pairs in order, and each name's first value.
struct BrowserForm: Sendable {
    let pairs: [(String, String)]
    let values: [String: String]

    init(_ pairs: [(String, String)]) {
        self.pairs = pairs
        self.values = BrowserRequests.dictionary(pairs)
    }

    subscript(_ name: String) -> String? { values[name] }
}

/// Reads the session cookie once per request (``SessionManager/current(_:)``: an expired session is deleted, a live
/// one's idle deadline extended) and, with `resolvesUser`, the signed-in user, into ``BrowserRequestContext``.
struct BrowserSessionMiddleware: RouterMiddleware {
    typealias Context = BrowserRequestContext
    let sessions: SessionManager
    /// Resolves a session's signed-in user (``AuthorizationEndpoint/signedInUser(_:)``); `nil` when the group does not need it.
    let users: AuthorizationEndpoint?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.session = try await sessions.current(request)
        if let users, context.session?.userID != nil {
            context.user = try await users.signedInUser(context.session)
        }
        return try await next(request, context)
    }
}

/// Checks a form post's `csrf_token` field against the session's token (constant time,
/// ``SessionManager/csrfMatches(_:_:)``) before the handler runs, and leaves the parsed form in the context.
/// The body is collected within `TESSERA_MAX_BODY_SIZE`. With `.refuse`, a malformed form is the 400 error page
/// and a missing session or wrong token the 403 page; with `.report` (RP-initiated logout, where an unconfirmed
/// request is shown a confirmation form) the outcome is only recorded in ``BrowserRequestContext/csrfVerified``.
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = BrowserRequestContext
    enum Enforcement: Sendable { case refuse, report }
    let maxBodySize: Int
    let enforcement: Enforcement

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        var context = context
        let pairs = try await BrowserRequests.form(&request, maxSize: maxBodySize)
        context.form = BrowserForm(pairs ?? [])
        context.csrfVerified = pairs != nil && SessionManager.csrfMatches(context.session, context.form["csrf_token"])
        if enforcement == .refuse {
            guard pairs != nil else { return Pages.error("The form is malformed.") }
            guard context.csrfVerified, context.session != nil else { return BrowserRequests.csrfRefused() }
        }
        return try await next(request, context)
    }
}

/// Makes the browser route groups: built once in the composition root with the one ``SessionManager``, the user
/// lookup and the body limit, so every browser route gets the same session and CSRF handling from middleware.
struct BrowserGroups: Sendable {
    let sessions: SessionManager
    let users: AuthorizationEndpoint
    let maxBodySize: Int

    /// A group of browser routes on `router`: the session (and with `user`, the signed-in user) in
    /// ``BrowserRequestContext``, and with `csrf`, form posts checked by ``CSRFMiddleware``.
    func group(_ router: some RouterMethods<TesseraRequestContext>, user: Bool = false, csrf: CSRFMiddleware.Enforcement? = nil)
        -> RouterGroup<BrowserRequestContext>
    {
        let group = router.group(context: BrowserRequestContext.self)
            .add(middleware: BrowserSessionMiddleware(sessions: sessions, users: user ? users : nil))
        if let csrf { group.add(middleware: CSRFMiddleware(maxBodySize: maxBodySize, enforcement: csrf)) }
        return group
    }
}

/// Request helpers shared by the browser routes.
enum BrowserRequests {
    /// Query parameters in order, duplicates kept; `nil` when malformed.
    static func query(_ request: Request) -> [(String, String)]? {
        try? FormBody.parse(Array((request.uri.query ?? "").utf8))
    }

    static func queryValue(_ request: Request, _ name: String) -> String? {
        query(request)?.first { $0.0 == name }?.1
    }

    /// A form body; `nil` when malformed. A wrong content type is also "malformed" for a browser page.
    /// A body over `maxSize` is refused (413) as everywhere.
    static func form(_ request: inout Request, maxSize: Int) async throws -> [(String, String)]? {
        do {
            return try await FormRequest.parameters(of: &request, maxSize: maxSize)
        } catch is OAuthError {
            return nil
        }
    }

    /// Each name's first value.
    static func dictionary(_ pairs: [(String, String)]) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in pairs where result[name] == nil { result[name] = value }
        return result
    }

    /// The 403 page for a form whose CSRF token does not match the session's (or without a session).
    static func csrfRefused() -> Response {
        Pages.error("Your session expired or the form could not be verified. Go back, reload the page and try again.", status: .forbidden)
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
