public import Foundation
public import TesseraCore

extension MemoryStore {
    // MARK: Interactions

    public func insertInteraction(_ interaction: InteractionRecord) throws {
        guard interactions[interaction.idDigest] == nil else { throw StoreError(.conflict, "An interaction with this id already exists.") }
        interactions[interaction.idDigest] = interaction
    }
    public func interaction(digest: Data, kind: InteractionKind, at date: Date) -> InteractionRecord? {
        guard let interaction = interactions[digest], interaction.kind == kind, interaction.expiresAt > date else { return nil }
        return interaction
    }
    public func consumeInteraction(digest: Data, kind: InteractionKind, at date: Date) -> InteractionRecord? {
        guard let interaction = interactions[digest], interaction.kind == kind, interaction.expiresAt > date else { return nil }
        interactions[digest] = nil
        return interaction
    }
    public func purgeExpiredInteractions(before date: Date) -> Int {
        let count = interactions.count
        interactions = interactions.filter { $0.value.expiresAt >= date }
        return count - interactions.count
    }
}
