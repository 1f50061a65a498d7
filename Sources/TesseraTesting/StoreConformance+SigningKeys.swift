import Foundation
public import TesseraCore
public import TesseraStore
import Testing

/// Conformance checks for the first signing key of an algorithm: one atomic claim across nodes (issue 20).
extension StoreConformance {
    public static func signingKeyClaimIsAtomic(_ store: any TesseraStorage) async throws {
        let es = try SigningKeyFactory.generate(.es256, now: epoch)
        #expect(try await store.insertSigningKeyIfNoneActive(es), "the first key of an algorithm is inserted")
        #expect(try await store.insertSigningKeyIfNoneActive(try SigningKeyFactory.generate(.es256, now: epoch)) == false,
                "a second one is not while the first is unretired")
        let rs = try SigningKeyFactory.generate(.rs256, now: epoch)
        #expect(try await store.insertSigningKeyIfNoneActive(rs), "each algorithm has its own claim")
        // A pre-published successor (KeyRotationPolicy) is unretired beside the key it replaces.
        let successor = try SigningKeyFactory.generate(.es256, now: epoch, activatesAt: epoch.addingTimeInterval(3600))
        try await store.insertSigningKey(successor)
        #expect(try await store.signingKeys().filter { $0.algorithm == .es256 && $0.retiredAt == nil }.count == 2)
        try await store.retireSigningKey(kid: es.kid, at: epoch)
        try await store.retireSigningKey(kid: successor.kid, at: epoch)
        let next = try SigningKeyFactory.generate(.es256, now: epoch.addingTimeInterval(1))
        #expect(try await store.insertSigningKeyIfNoneActive(next), "once every key is retired a new claim succeeds")
        #expect(Set(try await store.signingKeys().map(\.kid)) == [es.kid, rs.kid, successor.kid, next.kid])
    }

    /// Twenty nodes starting at once on an empty store: one key per algorithm, the same set everywhere, and
    /// rotation still works afterwards.
    public static func concurrentEnsureKeysCreateOneKeyPerAlgorithm(_ store: any TesseraStorage) async throws {
        let clock = FixedClock(epoch)
        let encryption = KeyEncryption.generate()
        let nodes = (0..<20).map { _ in SigningKeyManager(store: store, clock: clock, retention: 3660, encryption: encryption) }
        let created = try await withThrowingTaskGroup(of: [SigningKeyRecord].self) { group in
            for node in nodes { group.addTask { try await node.ensureKeys() } }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        let live = try await store.signingKeys().filter { $0.retiredAt == nil }
        #expect(live.count == SigningAlgorithm.allCases.count, "exactly one unretired key per algorithm")
        #expect(Set(live.map(\.algorithm)) == Set(SigningAlgorithm.allCases))
        #expect(Set(created.map(\.kid)) == Set(live.map(\.kid)), "the calls report exactly the keys that were stored")
        let published = try nodes.map { try $0.current.jwksJSON }
        #expect(Set(published).count == 1, "every node publishes the same key set")
        #expect(try nodes[0].current.activeKids.count == SigningAlgorithm.allCases.count)

        clock.advance(by: 60)
        let rotated = try await nodes[0].rotate()
        let afterRotation = try await store.signingKeys()
        #expect(Set(afterRotation.filter { $0.retiredAt == nil }.map(\.kid)) == Set(rotated.map(\.kid)), "rotation retires the claimed keys")
        #expect(afterRotation.count == 2 * SigningAlgorithm.allCases.count)
        #expect(try await nodes[1].ensureKeys().isEmpty, "a later start creates nothing")
    }
}
