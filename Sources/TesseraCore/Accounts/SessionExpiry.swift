public import Foundation

/// When a browser session ends: an absolute lifetime from sign-in and an idle timeout (OWASP Session
/// Management: both; Keycloak's "SSO Session Max" and "SSO Session Idle").
///
/// A session's `expiresAt` is its idle deadline: set to `createdAt + idleTimeout` and moved forward as it is
/// used, never past `createdAt + absoluteLifetime`. To avoid a database write per request it is moved only when
/// that gains at least ``extensionInterval`` (one minute, or a quarter of the idle timeout when that is shorter),
/// so a session in use is written at most once a minute and may end up to that much before a full idle timeout.
public struct SessionExpiry: Sendable, Equatable {
    /// Seconds from sign-in after which a session ends however active it is.
    public var absoluteLifetime: TimeInterval
    /// Seconds without a request after which a session ends.
    public var idleTimeout: TimeInterval

    public init(absoluteLifetime: TimeInterval, idleTimeout: TimeInterval) {
        self.absoluteLifetime = absoluteLifetime
        self.idleTimeout = idleTimeout
    }

    /// The least gain worth a write: 60 s, or a quarter of a shorter idle timeout.
    public var extensionInterval: TimeInterval { min(60, idleTimeout / 4) }

    /// The `expiresAt` of a session created at `createdAt`.
    public func initialExpiry(createdAt: Date) -> Date {
        createdAt.addingTimeInterval(min(idleTimeout, absoluteLifetime))
    }

    /// What reading a session at `now` means.
    public enum Decision: Sendable, Equatable {
        /// Idle too long or past its absolute lifetime: end it.
        case expired
        /// Live; nothing to write.
        case live
        /// Live; move its `expiresAt` to this (``SessionStore/extendSession(digest:until:)``).
        case extend(until: Date)
    }

    /// Whether `session` is live at `now`, and whether its idle deadline should move.
    public func decide(_ session: BrowserSession, at now: Date) -> Decision {
        let absoluteEnd = session.createdAt.addingTimeInterval(absoluteLifetime)
        guard session.expiresAt > now, absoluteEnd > now else { return .expired }
        let next = min(now.addingTimeInterval(idleTimeout), absoluteEnd)
        return next.timeIntervalSince(session.expiresAt) >= extensionInterval ? .extend(until: next) : .live
    }
}
