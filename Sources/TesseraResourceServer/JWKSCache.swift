public import Foundation
public import JWTKit
public import Logging
import Synchronization
public import TesseraJOSE

/// A cache of an issuer's public signing keys, refreshed on demand.
///
/// The cache fetches the key set the first time a key is needed, again when the keys are older
/// than ``Configuration/maximumKeyAge``, and again when a token names a `kid` it does not know
/// (the issuer may have rotated its keys). Refetches happen at most once per
/// ``Configuration/minimumRefreshInterval``, so tokens with made-up `kid`s cannot make it
/// hammer the issuer, and concurrent callers share one in-flight fetch. If a refresh fails the
/// previous keys stay in use.
///
/// Keys are indexed by `kid` *and* algorithm: a key is only usable with the algorithms its type
/// (and curve) allow, and only with its `alg` when the key set states one. Keys marked
/// `"use": "enc"`, keys without a `kid`, private keys and keys of unknown types are ignored.
public actor JWKSCache {
    /// Refresh policy.
    public struct Configuration: Sendable {
        /// The shortest time between two fetches. Default 30 seconds.
        public var minimumRefreshInterval: Duration
        /// The age after which keys are refetched on next use. Default 1 hour. Keys
        /// removed from the issuer's key set stop being accepted within this time.
        public var maximumKeyAge: Duration

        /// Creates a configuration.
        public init(minimumRefreshInterval: Duration = .seconds(30), maximumKeyAge: Duration = .seconds(3600)) {
            self.minimumRefreshInterval = minimumRefreshInterval
            self.maximumKeyAge = maximumKeyAge
        }
    }

    private let fetcher: any JWKSFetcher
    private let configuration: Configuration
    private let logger: Logger

    private var snapshot: KeySnapshot? {
        didSet {
            let published = self.snapshot.map { (Set($0.keys.keys), $0.fetchedAt) }
            self.published.withLock { $0 = published }
        }
    }
    /// The key IDs and fetch time of ``snapshot``, readable without an actor hop (see ``isCurrent(kid:algorithm:now:)``).
    private nonisolated let published = Mutex<(ids: Set<KeyID>, fetchedAt: Date)?>(nil)
    private var lastAttempt: Date?
    private var isRefreshing = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Creates a cache over a fetcher.
    /// - Parameters:
    ///   - fetcher: Loads the key set, e.g. ``HTTPJWKSFetcher``.
    ///   - configuration: The refresh policy.
    ///   - logger: Receives refresh events under `oauth.jwks.*`; defaults to a no-op logger.
    public init(
        fetcher: any JWKSFetcher,
        configuration: Configuration = .init(),
        logger: Logger = Logger(label: "tessera.resource-server", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.fetcher = fetcher
        self.configuration = configuration
        self.logger = logger
    }

    /// The key that verifies tokens signed with `algorithm` under `kid`.
    ///
    /// - Parameter now: The current time, used for the refresh policy.
    /// - Throws: ``TokenVerificationError`` with code ``TokenVerificationError/Code/unknownKey``
    ///   when no such key is published, or ``TokenVerificationError/Code/keySetUnavailable`` when
    ///   no key set could be fetched at all.
    public func verificationKey(kid: String, algorithm: JWSAlgorithm, now: Date) async throws -> any JWTAlgorithm {
        let id = KeyID(kid: kid, algorithm: algorithm.name)
        if let snapshot, !self.isStale(snapshot, now: now), let key = snapshot.keys[id] {
            return key
        }
        if self.isRefreshing {
            await self.waitForRefresh()
        } else if self.mayRefresh(now: now) {
            _ = await self.performRefresh(now: now)
        }
        if let key = self.snapshot?.keys[id] {
            return key
        }
        guard self.snapshot != nil else {
            throw TokenVerificationError(.keySetUnavailable, "The authorization server's signing keys are unavailable")
        }
        throw TokenVerificationError(.unknownKey, "The access token was signed with an unknown key")
    }

    /// Fetches the key set now (sharing any fetch already in flight), ignoring the rate limit.
    ///
    /// Call it at startup to fail fast on a misconfigured issuer.
    /// - Throws: The fetch or parse error, if the key set could not be loaded.
    public func refresh(now: Date = Date()) async throws {
        if self.isRefreshing {
            await self.waitForRefresh()
            guard self.snapshot != nil else {
                throw JWKSFetchError("the key set could not be fetched")
            }
            return
        }
        if let error = await self.performRefresh(now: now) {
            throw error
        }
    }

    /// Whether the key `kid` for `algorithm` is in the current, fresh key set — without an actor hop, for
    /// ``VerifiedTokenCache`` hits. `false` when the key was removed by a refresh, or when the key set is
    /// older than ``Configuration/maximumKeyAge`` (the caller then verifies in full, which refreshes it).
    public nonisolated func isCurrent(kid: String, algorithm: JWSAlgorithm, now: Date) -> Bool {
        self.published.withLock { published in
            guard let published else { return false }
            let age = now.timeIntervalSince(published.fetchedAt)
            guard age >= 0, age < self.configuration.maximumKeyAge.timeInterval else { return false }
            return published.ids.contains(KeyID(kid: kid, algorithm: algorithm.name))
        }
    }

    /// The `kid`s of the keys currently cached, for diagnostics.
    public var knownKeyIDs: Set<String> {
        Set(self.snapshot?.keys.keys.map(\.kid) ?? [])
    }

    private func isStale(_ snapshot: KeySnapshot, now: Date) -> Bool {
        let age = now.timeIntervalSince(snapshot.fetchedAt)
        return age >= self.configuration.maximumKeyAge.timeInterval || age < 0
    }

    private func mayRefresh(now: Date) -> Bool {
        guard let lastAttempt else { return true }
        let elapsed = now.timeIntervalSince(lastAttempt)
        // A clock that moved backwards must not lock the cache out of refreshing.
        return elapsed >= self.configuration.minimumRefreshInterval.timeInterval || elapsed < 0
    }

    private func waitForRefresh() async {
        await withCheckedContinuation { continuation in
            self.waiters.append(continuation)
        }
    }

    /// Fetches and installs a new key set; returns the error if it failed.
    private func performRefresh(now: Date) async -> (any Error)? {
        let previousAttempt = self.lastAttempt
        self.isRefreshing = true
        self.lastAttempt = now
        var failure: (any Error)?
        do {
            let data = try await self.fetcher.fetchJWKS()
            let snapshot = try await KeySnapshot(jwks: data, fetchedAt: now, logger: self.logger)
            if snapshot.keys.isEmpty {
                self.logger.warning("oauth.jwks.empty: the key set has no usable signing keys")
            }
            self.snapshot = snapshot
            self.logger.debug(
                "oauth.jwks.refreshed",
                metadata: ["oauth.jwks.kids": .string(Set(snapshot.keys.keys.map(\.kid)).sorted().joined(separator: ","))]
            )
        } catch {
            failure = error
            if error is CancellationError {
                // The caller went away; that says nothing about the issuer.
                self.lastAttempt = previousAttempt
            }
            self.logger.warning("oauth.jwks.refresh_failed", metadata: ["oauth.error": .string(String(describing: error))])
        }
        self.isRefreshing = false
        let waiters = self.waiters
        self.waiters = []
        for waiter in waiters {
            waiter.resume()
        }
        return failure
    }
}

struct KeyID: Hashable, Sendable {
    let kid: String
    let algorithm: String
}

/// One fetched key set, ready for verification.
struct KeySnapshot: Sendable {
    let keys: [KeyID: any JWTAlgorithm]
    let fetchedAt: Date

    init(jwks data: Data, fetchedAt: Date, logger: Logger) async throws {
        let set: LenientKeySet
        do {
            set = try JSONDecoder().decode(LenientKeySet.self, from: data)
        } catch {
            throw JWKSFetchError("the key set is not a JSON object with a \"keys\" array")
        }
        let collection = JWTKeyCollection()
        var keys: [KeyID: any JWTAlgorithm] = [:]
        for entry in set.keys {
            guard let metadata = entry.metadata, let jwk = entry.jwk,
                let kid = metadata.kid, !kid.isEmpty, let keyType = metadata.kty
            else {
                continue
            }
            if let use = metadata.use, use != "sig" { continue }
            if let operations = metadata.keyOperations, !operations.contains("verify") { continue }
            if metadata.d != nil {
                logger.warning("oauth.jwks.private_key_ignored: the key set publishes a private key", metadata: ["oauth.jwks.kid": .string(kid)])
                continue
            }
            let algorithms = JWSAlgorithm.allSupported.filter {
                $0.isCompatible(keyType: keyType, curve: metadata.crv) && (metadata.alg == nil || metadata.alg == $0.name)
            }
            for algorithm in algorithms {
                let id = KeyID(kid: kid, algorithm: algorithm.name)
                guard keys[id] == nil else { continue }
                var typedKey = jwk
                typedKey.algorithm = JWK.Algorithm(rawValue: algorithm.name)
                let identifier = JWKIdentifier(string: "\(algorithm.name) \(kid)")
                typedKey.keyIdentifier = identifier
                do {
                    try await collection.add(jwk: typedKey)
                    keys[id] = try await collection.getKey(for: identifier, alg: algorithm.name)
                } catch {
                    logger.debug("oauth.jwks.key_ignored", metadata: ["oauth.jwks.kid": .string(kid), "oauth.error": .string(String(describing: error))])
                }
            }
        }
        self.keys = keys
        self.fetchedAt = fetchedAt
    }
}

/// A key set decoded entry by entry, so one key of an unknown type does not discard the others.
private struct LenientKeySet: Decodable {
    let keys: [Entry]

    struct Entry: Decodable {
        let metadata: Metadata?
        let jwk: JWK?

        init(from decoder: any Decoder) throws {
            self.metadata = try? Metadata(from: decoder)
            self.jwk = try? JWK(from: decoder)
        }
    }

    struct Metadata: Decodable {
        let kty: String?
        let kid: String?
        let use: String?
        let alg: String?
        let crv: String?
        let d: String?
        let keyOperations: [String]?

        enum CodingKeys: String, CodingKey {
            case kty, kid, use, alg, crv, d
            case keyOperations = "key_ops"
        }
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        let components = self.components
        return TimeInterval(components.seconds) + TimeInterval(components.attoseconds) / 1e18
    }
}
