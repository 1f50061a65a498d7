import Foundation

/// Fixed-window request counters shared by every node (RFC 9700 §4.16 / DESIGN.md: per client and per IP).
public protocol RateLimitStore: Sendable {
    /// Atomically counts one hit for `key` in the window that starts at `windowStart` and returns the
    /// count in that window (1 for the first hit; a new window restarts at 1).
    func countRateLimitHit(key: String, windowStart: Date) async throws -> Int
    /// Deletes counters whose window started before `before`. Returns how many were removed.
    @discardableResult
    func purgeRateLimits(before: Date) async throws -> Int
}

/// A limit of `limit` requests per `window` seconds for one key.
public struct RateLimit: Sendable, Equatable {
    public var limit: Int
    public var window: TimeInterval
    public init(limit: Int, window: TimeInterval) {
        self.limit = limit
        self.window = window
    }

    /// The start of the fixed window holding `date`.
    public func windowStart(at date: Date) -> Date {
        let seconds = date.timeIntervalSince1970
        return Date(timeIntervalSince1970: (seconds / window).rounded(.down) * window)
    }

    /// Counts a hit; returns `nil` when allowed, or the whole seconds until the window ends.
    public func hit(_ key: String, store: any RateLimitStore, at date: Date) async throws -> Int? {
        let start = windowStart(at: date)
        let count = try await store.countRateLimitHit(key: key, windowStart: start)
        guard count > limit else { return nil }
        return max(1, Int((start.addingTimeInterval(window).timeIntervalSince(date)).rounded(.up)))
    }
}
