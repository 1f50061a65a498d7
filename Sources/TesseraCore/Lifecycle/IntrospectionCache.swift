public import Crypto
public import Foundation
import Synchronization
import TesseraJOSE

/// Node-local memory for `POST /introspect` of JWT access tokens: skips re-verifying a signature it has
/// verified before, and bounds how often the database is asked whether a token was revoked.
///
/// - **Signature**: an entry (keyed by the SHA-256 of the token; the token itself is not kept) holds
///   the verified claims and the `kid` that signed them. A hit is used only while that key is still
///   in the published key set (``SigningKeyManager/current``) — a purged key drops its tokens — and
///   `exp` is judged against the injected clock on every request, so an entry never outlives its token.
/// - **Revocation and client deletion** (the database checks): re-checked at most every
///   ``recheckInterval`` per token. A revocation made **on this node** (``RevocationEndpoint``) is
///   honoured **immediately** through a local set of revoked `jti`s (kept until the token's `exp`).
///   A revocation made on **another node**, and a deleted client (RFC 7592 §2.3, on any node), are
///   seen within ``recheckInterval`` (default ``defaultRecheckInterval``, 2 seconds).
/// - Bounded: at most ``capacity`` tokens (oldest-inserted evicted first) and ``capacity`` revoked `jti`s.
public final class IntrospectionCache: Sendable {
    /// One verified token.
    public struct Entry: Sendable {
        public let claims: IssuedAccessTokenClaims
        public let kid: String
        /// When the database last confirmed it was neither revoked nor orphaned by a deleted client.
        public var checkedAt: Date
    }

    private struct State {
        var entries: BoundedFIFOCache<SHA256Digest, Entry>
        /// `jti` → `exp`, revoked on this node.
        var revoked: [String: Date] = [:]
    }

    /// The most tokens (and locally revoked `jti`s) remembered.
    public let capacity: Int
    /// The longest time between two database checks of one token (revocation, client deletion).
    public let recheckInterval: TimeInterval
    private let state: Mutex<State>

    /// The default ``recheckInterval``: 2 seconds.
    public static let defaultRecheckInterval: TimeInterval = 2

    public init(capacity: Int = 10_000, recheckInterval: TimeInterval = IntrospectionCache.defaultRecheckInterval) {
        self.capacity = max(1, capacity)
        self.recheckInterval = max(0, recheckInterval)
        self.state = Mutex(State(entries: BoundedFIFOCache(capacity: capacity)))
    }

    /// The cache key of a token.
    public static func key(_ token: String) -> SHA256Digest {
        SHA256.hash(data: Data(token.utf8))
    }

    /// How many tokens are remembered.
    public var count: Int { state.withLock { $0.entries.count } }

    /// The entry of `key`, if any.
    public func entry(_ key: SHA256Digest) -> Entry? {
        state.withLock { $0.entries[key] }
    }

    /// Whether `entry` may skip the database checks at `now`.
    public func isFresh(_ entry: Entry, now: Date) -> Bool {
        let age = now.timeIntervalSince(entry.checkedAt)
        return age >= 0 && age < recheckInterval
    }

    /// Whether `jti` was revoked on this node.
    public func isRevokedLocally(jti: String) -> Bool {
        state.withLock { $0.revoked[jti] != nil }
    }

    /// Remembers a verified token that the database just confirmed live.
    public func store(_ entry: Entry, for key: SHA256Digest) {
        state.withLock { $0.entries.insert(entry, for: key) }
    }

    /// Forgets one token.
    public func remove(_ key: SHA256Digest) {
        state.withLock { _ = $0.entries.removeValue(for: key) }
    }

    /// Records a revocation made on this node: introspection answers inactive at once.
    public func revoked(jti: String, expiresAt: Date, now: Date) {
        state.withLock { state in
            if state.revoked.count >= capacity {
                state.revoked = state.revoked.filter { $0.value > now }
                if state.revoked.count >= capacity { state.revoked.removeAll() } // the database still answers within recheckInterval
            }
            state.revoked[jti] = expiresAt
        }
    }
}
