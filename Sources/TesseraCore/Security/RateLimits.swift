public import Foundation
import Synchronization

/// A limit of `limit` requests per `window` seconds for one key.
public struct RateLimit: Sendable, Equatable {
    public var limit: Int
    public var window: TimeInterval
    public init(limit: Int, window: TimeInterval) {
        self.limit = limit
        self.window = window
    }

    /// Whole seconds (at least 1) from `date` until `windowEnd`: the `Retry-After` value.
    public static func retryAfter(until windowEnd: Date, at date: Date) -> Int {
        max(1, Int(windowEnd.timeIntervalSince(date).rounded(.up)))
    }
}

/// Node-local fixed-window rate limiting: a lock-protected dictionary of counters, no I/O.
///
/// Each key's window starts at its first hit (not at a wall-clock boundary shared by every key): a burst
/// is counted in one window wherever it falls on the clock, and keys' windows do not all reset at once.
///
/// **Why per node, not shared.** The previous design counted every `/token` and `/introspect` request in
/// the database. On SQLite that is one write per request through the single writer connection, which
/// capped token issuance at the writer's speed and queued every token request behind the others; on
/// PostgreSQL it is a row-lock hot spot per client. Rate limits are an abuse brake, not an accounting
/// system, so exactness across nodes buys little: like Hydra and Keycloak deployments (which leave it to
/// the node or the ingress), each node counts on its own, and a cluster of N nodes admits up to
/// N × the configured limit. Batch-flushing node counts to the database was the alternative; it adds a
/// background writer and still lags by the flush interval, for little gain. What must be exact and
/// shared — the per-account login **lockout** — stays in the database (``LoginAttemptStore``).
///
/// Memory is bounded: at most ``capacity`` keys are tracked. Counters are purged once their window has
/// ended (checked at most once per window, amortised O(1) per hit). When the table is full of live
/// windows a new key is not tracked (its request is allowed and ``overflowCount`` grows): failing closed
/// would let anyone who can spray keys lock every caller out.
public final class LocalRateLimiter: Sendable {
    private struct Counter {
        var windowEnd: Date
        var count: Int
    }

    private struct State {
        var counters: [String: Counter] = [:]
        var nextPurge: Date = .distantPast
        var overflow = 0
    }

    /// The most keys tracked at once.
    public let capacity: Int
    private let state = Mutex(State())

    /// - Parameter capacity: the most keys tracked at once (default 100,000, a few MiB at most).
    public init(capacity: Int = 100_000) {
        self.capacity = max(1, capacity)
    }

    /// Whether `key` is already over `limit` in the window holding `date`, without counting. Returns the
    /// `Retry-After` seconds when it is, `nil` when a request may proceed.
    public func check(_ key: String, limit: RateLimit, at date: Date) -> Int? {
        state.withLock { state in
            guard let counter = state.counters[key], counter.windowEnd > date, counter.count >= limit.limit else { return nil }
            return RateLimit.retryAfter(until: counter.windowEnd, at: date)
        }
    }

    /// Counts one hit for `key`. Returns `nil` when the hit is within `limit`, or the `Retry-After`
    /// seconds when it exceeds it.
    @discardableResult
    public func hit(_ key: String, limit: RateLimit, at date: Date) -> Int? {
        let windowEnd = date.addingTimeInterval(limit.window)
        return state.withLock { state in
            if date >= state.nextPurge { Self.purge(&state, at: date, window: limit.window) }
            var counter = state.counters[key] ?? Counter(windowEnd: windowEnd, count: 0)
            if counter.windowEnd <= date { counter = Counter(windowEnd: windowEnd, count: 0) }
            counter.count += 1
            if state.counters[key] == nil, state.counters.count >= capacity {
                Self.purge(&state, at: date, window: limit.window)
                guard state.counters.count < capacity else {
                    state.overflow += 1
                    return nil
                }
            }
            state.counters[key] = counter
            return counter.count > limit.limit ? RateLimit.retryAfter(until: counter.windowEnd, at: date) : nil
        }
    }

    /// How many keys are tracked now.
    public var trackedKeys: Int { state.withLock { $0.counters.count } }

    /// How many hits went untracked because the table was full.
    public var overflowCount: Int { state.withLock { $0.overflow } }

    /// Drops every counter whose window has ended by `date`.
    public func purge(at date: Date) {
        state.withLock { Self.purge(&$0, at: date, window: 1) }
    }

    private static func purge(_ state: inout State, at date: Date, window: TimeInterval) {
        state.counters = state.counters.filter { $0.value.windowEnd > date }
        state.nextPurge = date.addingTimeInterval(window)
    }
}
