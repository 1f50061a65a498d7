import Foundation
public import TesseraCore
public import TesseraStore
import Testing

/// Conformance checks for pending interactions: single use, kind and expiry in the consume, purge, and
/// one winner among concurrent consumes.
extension StoreConformance {
    static func interaction(_ seed: String, kind: InteractionKind = .consent, expiresIn seconds: TimeInterval = 600,
                            session: Bool = true) -> InteractionRecord {
        InteractionRecord(idDigest: Secrets.digest("interaction-" + seed), kind: kind, clientID: "client-" + seed,
                          payload: #"{"redirectURI":"https://rp.example/cb","seed":"\#(seed)"}"#,
                          sessionDigest: session ? Secrets.digest("session-" + seed) : nil, subject: session ? "user-" + seed : nil,
                          createdAt: epoch, expiresAt: epoch.addingTimeInterval(seconds))
    }

    public static func interactionsAreSingleUse(_ store: any TesseraStorage) async throws {
        let live = interaction("live")
        let stale = interaction("stale", expiresIn: 60)
        let parKind = InteractionKind(rawValue: "par")
        let par = interaction("par", kind: parKind, session: false)
        for record in [live, stale, par] { try await store.insertInteraction(record) }
        #expect(try await store.consumeInteraction(digest: live.idDigest, kind: parKind, at: epoch) == nil, "the kind must match")
        #expect(try await store.interaction(digest: live.idDigest, kind: .consent, at: epoch) == live, "reading does not consume")
        #expect(try await store.interaction(digest: live.idDigest, kind: parKind, at: epoch) == nil, "reading checks the kind")
        #expect(try await store.interaction(digest: stale.idDigest, kind: .consent, at: epoch.addingTimeInterval(60)) == nil,
                "reading checks the expiry")
        #expect(try await store.consumeInteraction(digest: live.idDigest, kind: .consent, at: epoch.addingTimeInterval(1)) == live)
        #expect(try await store.consumeInteraction(digest: live.idDigest, kind: .consent, at: epoch.addingTimeInterval(1)) == nil,
                "an interaction is consumed once")
        #expect(try await store.consumeInteraction(digest: Secrets.digest("missing"), kind: .consent, at: epoch) == nil)
        #expect(try await store.consumeInteraction(digest: stale.idDigest, kind: .consent, at: epoch.addingTimeInterval(60)) == nil,
                "an expired interaction is not consumed")
        #expect(try await store.consumeInteraction(digest: par.idDigest, kind: parKind, at: epoch) == par, "no session or subject round-trips")
        #expect(try await store.purgeExpiredInteractions(before: epoch.addingTimeInterval(59)) == 0, "a live interaction is kept")
        let kept = interaction("kept")
        try await store.insertInteraction(kept)
        #expect(try await store.purgeExpiredInteractions(before: epoch.addingTimeInterval(61)) == 1)
        #expect(try await store.purgeExpiredInteractions(before: epoch.addingTimeInterval(61)) == 0)
        #expect(try await store.consumeInteraction(digest: kept.idDigest, kind: .consent, at: epoch.addingTimeInterval(61)) == kept)
    }

    public static func concurrentInteractionConsumesHaveOneWinner(_ store: any TesseraStorage) async throws {
        let record = interaction("race")
        try await store.insertInteraction(record)
        let consumed = try await withThrowingTaskGroup(of: InteractionRecord?.self) { group in
            for _ in 0..<20 { group.addTask { try await store.consumeInteraction(digest: record.idDigest, kind: .consent, at: epoch) } }
            return try await group.reduce(into: [InteractionRecord]()) { if let record = $1 { $0.append(record) } }
        }
        #expect(consumed == [record], "exactly one of 20 concurrent consumes gets the interaction")
    }
}
