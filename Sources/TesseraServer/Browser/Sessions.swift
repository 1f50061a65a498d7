import Foundation
import HTTPTypes
import Hummingbird
import TesseraCore

/// Browser sessions: an opaque random cookie whose SHA-256 digest keys the server-side record.
///
/// The cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` (with the `__Host-` prefix) whenever
/// the issuer is https or Tessera serves TLS (`Secure` also for requests a trusted proxy marks https). Every session carries its own CSRF token; signing in replaces the session
/// (no session fixation).
struct SessionManager: Sendable {
    let storage: any SessionStore
    let clock: any TimeSource
    /// The issuer is https or Tessera serves TLS: the cookie is `Secure` with the `__Host-` prefix.
    let usesHTTPS: Bool
    /// The absolute lifetime and the idle timeout (`TESSERA_SESSION_TTL`, `TESSERA_SESSION_IDLE_TTL`).
    let expiry: SessionExpiry

    init(storage: any SessionStore, clock: any TimeSource, usesHTTPS: Bool, expiry: SessionExpiry) {
        self.storage = storage
        self.clock = clock
        self.usesHTTPS = usesHTTPS
        self.expiry = expiry
    }

    /// The sessions of `configuration` over `storage` (built once, in the composition root).
    init(storage: any SessionStore, clock: any TimeSource, configuration: TesseraConfiguration) {
        self.init(storage: storage, clock: clock, usesHTTPS: configuration.usesHTTPS,
                  expiry: SessionExpiry(absoluteLifetime: TimeInterval(configuration.sessionLifetime),
                                        idleTimeout: TimeInterval(configuration.sessionIdleTimeout)))
    }

    /// https issuer or TLS here, or (from a trusted proxy) `X-Forwarded-Proto: https`.
    var secure: Bool { usesHTTPS || ForwardedOrigin.current?.scheme == "https" }
    var cookieName: String { usesHTTPS ? "__Host-tessera_session" : "tessera_session" }
    var lifetime: TimeInterval { expiry.absoluteLifetime }

    /// The live session named by the request's cookie, if any: one idle too long or past its absolute lifetime
    /// is deleted; a live one's idle deadline moves forward (at most one write a minute, ``SessionExpiry``).
    func current(_ request: Request) async throws -> BrowserSession? {
        guard let value = Self.cookies(request)[cookieName], !value.isEmpty, value.utf8.count <= 128 else { return nil }
        guard var session = try await storage.session(digest: Secrets.digest(value)) else { return nil }
        switch expiry.decide(session, at: clock.now) {
        case .expired:
            try await storage.deleteSession(digest: session.idDigest)
            return nil
        case .live:
            return session
        case .extend(let until):
            try await storage.extendSession(digest: session.idDigest, until: until)
            session.expiresAt = until
            return session
        }
    }

    /// The current session (``BrowserRequestContext/session``), or a new anonymous one (for the login form's CSRF
    /// token) and its cookie.
    func ensure(_ current: BrowserSession?) async throws -> (session: BrowserSession, cookie: String?) {
        if let current { return (current, nil) }
        return try await create(userID: nil, authTime: nil)
    }

    /// A new session; signing in always creates a fresh one and deletes `replacing`. `methods` (`amr`) and
    /// `identityProvider` (`idp`) record how the user signed in, for the ID tokens issued from it; `reauthenticatedAt`
    /// is set by the re-authentication form (``StepUpPolicy``), whose success also replaces the session.
    func create(userID: String?, authTime: Date?, replacing old: BrowserSession? = nil, methods: [String]? = nil,
                identityProvider: String? = nil, reauthenticatedAt: Date? = nil) async throws -> (session: BrowserSession, cookie: String) {
        if let old { try await storage.deleteSession(digest: old.idDigest) }
        let now = clock.now
        let value = Secrets.random(bytes: 32)
        let session = BrowserSession(idDigest: Secrets.digest(value), userID: userID, authTime: authTime, csrfToken: Secrets.random(bytes: 32),
                                     createdAt: now, expiresAt: expiry.initialExpiry(createdAt: now), authenticationMethods: methods,
                                     identityProvider: identityProvider, reauthenticatedAt: reauthenticatedAt)
        try await storage.insertSession(session)
        return (session, cookie(value, maxAge: Int(lifetime)))
    }

    /// Ends a session and returns the cookie that clears it.
    func end(_ session: BrowserSession?) async throws -> String {
        if let session { try await storage.deleteSession(digest: session.idDigest) }
        return cookie("", maxAge: 0)
    }

    func cookie(_ value: String, maxAge: Int) -> String {
        var cookie = "\(cookieName)=\(value); Path=/; Max-Age=\(maxAge); HttpOnly; SameSite=Lax"
        if secure { cookie += "; Secure" }
        return cookie
    }

    /// Whether `presented` is this session's CSRF token (constant-time comparison).
    static func csrfMatches(_ session: BrowserSession?, _ presented: String?) -> Bool {
        guard let session, let presented else { return false }
        return Secrets.constantTimeEquals(Data(session.csrfToken.utf8), Data(presented.utf8))
    }

    /// The request's cookies by name (first occurrence wins).
    static func cookies(_ request: Request) -> [String: String] {
        var result: [String: String] = [:]
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                let name = parts[0].trimmingCharacters(in: .whitespaces)
                if result[name] == nil { result[name] = parts[1].trimmingCharacters(in: .whitespaces) }
            }
        }
        return result
    }
}
