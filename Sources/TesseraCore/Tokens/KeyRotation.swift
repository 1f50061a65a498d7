public import Foundation

/// Automatic signing key rotation with pre-publication (RFC 7517 key rollover).
///
/// A new key is inserted with `activatesAt = now + prePublication`: `SigningKeySet.build` publishes it in
/// the JWKS at once but signs with it only from `activatesAt`, so verifiers have it cached before the
/// first token it signs. Once it is active, the keys it replaces are retired (they stay published for the
/// manager's `retention`, then `purgeExpired` deletes them).
public struct KeyRotationPolicy: Sendable, Equatable {
    /// How old the newest key of an algorithm may get before a successor is made. `nil` turns automatic rotation
    /// off (keys made by `tessera keys rotate` are still retired once their successor signs).
    public var interval: TimeInterval?
    /// How long a new key is published before it signs.
    public var prePublication: TimeInterval

    public init(interval: TimeInterval?, prePublication: TimeInterval) {
        self.interval = interval
        self.prePublication = prePublication
    }

    /// What to do now.
    public struct Plan: Sendable, Equatable {
        /// Algorithms that need a new (pre-published) key.
        public var insert: [SigningAlgorithm] = []
        /// Keys to retire, with the time to record.
        public var retire: [String: Date] = [:]
        public var isEmpty: Bool { insert.isEmpty && retire.isEmpty }
    }

    /// A pure decision over the current records, safe to run on several nodes at once:
    /// - a key is only added when no key of its algorithm is younger than `interval` (a pending key counts),
    ///   so a node that reads another's insert does nothing; two simultaneous inserts are tolerated, because
    /// - every unretired key older than the newest *active* key of its algorithm is retired (at that key's
    ///   activation), whichever node runs first.
    public func plan(records: [SigningKeyRecord], now: Date) -> Plan {
        var plan = Plan()
        for algorithm in SigningAlgorithm.allCases {
            let live = records.filter { $0.algorithm == algorithm && $0.retiredAt == nil }
            guard !live.isEmpty else { continue } // ensureKeys creates the first key
            if let newestActive = live.filter({ $0.activatesAt <= now }).max(by: { ($0.activatesAt, $0.kid) < ($1.activatesAt, $1.kid) }) {
                for old in live where old.kid != newestActive.kid && (old.activatesAt, old.kid) < (newestActive.activatesAt, newestActive.kid) {
                    plan.retire[old.kid] = newestActive.activatesAt
                }
            }
            guard let interval, interval > 0 else { continue }
            let newestCreated = live.map(\.createdAt).max() ?? .distantPast
            if newestCreated.addingTimeInterval(interval) <= now { plan.insert.append(algorithm) }
        }
        return plan
    }
}

extension SigningKeyManager {
    /// Applies `policy` once: inserts pre-published keys that are due and retires replaced ones.
    /// Returns the keys created. Called periodically by the server's maintenance job.
    @discardableResult
    public func rotateIfDue(_ policy: KeyRotationPolicy) async throws -> [SigningKeyRecord] {
        let now = clock.now
        let plan = policy.plan(records: try await store.signingKeys(), now: now)
        guard !plan.isEmpty else { return [] }
        var created: [SigningKeyRecord] = []
        for algorithm in plan.insert {
            let record = try SigningKeyFactory.generate(algorithm, now: now, activatesAt: now.addingTimeInterval(policy.prePublication))
            try await insert(record)
            created.append(record)
        }
        for (kid, at) in plan.retire {
            try await store.retireSigningKey(kid: kid, at: at)
        }
        try await reload()
        return created
    }
}
