import Crypto
import Foundation
import Synchronization
import TesseraJOSE

/// Remembers access tokens that passed full verification, so a token presented again skips the
/// signature check and the JSON parse.
///
/// - Keyed by the SHA-256 of the token (the token itself is not kept).
/// - A hit is only a hint: on every hit ``AccessTokenVerifier`` re-checks `exp` against its injected
///   clock (with its leeway), so an entry never outlives its token; and it checks that the signing key
///   (`kid` + `alg`) is still in the issuer's current, fresh key set (``JWKSCache/isCurrent(kid:algorithm:now:)``),
///   so a token signed by a key that left the JWKS is dropped and verified afresh (and then refused).
/// - Only successes are cached; refusals always go the full way.
/// - Bounded: at most ``capacity`` entries. When full, the oldest-inserted entry goes (FIFO: the oldest
///   are also the first to expire), amortised O(1) per insert. An expired entry is dropped when hit.
public final class VerifiedTokenCache: Sendable {
    struct Entry: Sendable {
        let token: AccessToken
        let kid: String
        let algorithm: JWSAlgorithm
    }

    /// The most entries kept.
    public let capacity: Int
    private let state: Mutex<BoundedFIFOCache<SHA256Digest, Entry>>

    /// - Parameter capacity: the most tokens remembered (default 10,000: about 2 MiB with typical claims).
    public init(capacity: Int = 10_000) {
        self.capacity = max(1, capacity)
        self.state = Mutex(BoundedFIFOCache(capacity: capacity))
    }

    /// How many tokens are remembered now.
    public var count: Int { state.withLock { $0.count } }

    static func key(_ token: some StringProtocol) -> SHA256Digest {
        var hasher = SHA256()
        var token = String(token)
        token.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return hasher.finalize()
    }

    func entry(for key: SHA256Digest) -> Entry? {
        state.withLock { $0[key] }
    }

    func remove(_ key: SHA256Digest) {
        state.withLock { _ = $0.removeValue(for: key) }
    }

    func insert(_ entry: Entry, for key: SHA256Digest) {
        state.withLock { $0.insert(entry, for: key) }
    }

    /// Removes every entry, e.g. after a key compromise.
    public func removeAll() {
        state.withLock { $0.removeAll() }
    }
}
