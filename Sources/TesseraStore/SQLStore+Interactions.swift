public import Foundation
import SQLKit
public import TesseraCore

/// Schema: pending interactions (`interactions`), one table for every kind (consent today; PAR request_uri
/// and device user codes later), keyed by the digest of the opaque id.
enum InteractionSchema {
    static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "interactions")
            .column("id_digest", type: .text, .primaryKey(autoIncrement: false))
            .column("kind", type: .text, .notNull)
            .column("client_id", type: .text, .notNull)
            .column("payload", type: .text, .notNull)
            .column("session_digest", type: .text)
            .column("subject", type: .text)
            .column("created_at", type: .bigint, .notNull)
            .column("expires_at", type: .bigint, .notNull)
            .run()
        try await db.create(index: "interactions_expiry").on("interactions").column("expires_at").run()
    }
}

/// Interactions. Consuming one is a single `DELETE … RETURNING` with the kind and expiry in its `WHERE`:
/// atomic on SQLite and PostgreSQL, across nodes too.
extension SQLStore {
    public func insertInteraction(_ interaction: InteractionRecord) async throws {
        try await engine.withWriter { db in
            try await db.insert(into: "interactions")
                .columns("id_digest", "kind", "client_id", "payload", "session_digest", "subject", "created_at", "expires_at")
                .values(SQLBind(interaction.idDigest.hex), SQLBind(interaction.kind.rawValue), SQLBind(interaction.clientID),
                        SQLBind(interaction.payload), SQLBind(interaction.sessionDigest?.hex), SQLBind(interaction.subject),
                        SQLBind(interaction.createdAt.millis), SQLBind(interaction.expiresAt.millis))
                .run()
        }
    }

    public func consumeInteraction(digest: Data, kind: InteractionKind, at date: Date) async throws -> InteractionRecord? {
        try await engine.withWriter { db in
            try await db.delete(from: "interactions")
                .where("id_digest", .equal, digest.hex)
                .where("kind", .equal, kind.rawValue)
                .where("expires_at", .greaterThan, date.millis)
                .returning("*").all().first.map(Self.interaction(row:))
        }
    }

    public func interaction(digest: Data, kind: InteractionKind, at date: Date) async throws -> InteractionRecord? {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("interactions")
                .where("id_digest", .equal, digest.hex)
                .where("kind", .equal, kind.rawValue)
                .where("expires_at", .greaterThan, date.millis)
                .first().map(Self.interaction(row:))
        }
    }

    private static func interaction(row: any SQLRow) throws -> InteractionRecord {
        InteractionRecord(idDigest: Data(hex: try row.decode(column: "id_digest", as: String.self)) ?? Data(),
                          kind: InteractionKind(rawValue: try row.decode(column: "kind", as: String.self)),
                          clientID: try row.decode(column: "client_id", as: String.self),
                          payload: try row.decode(column: "payload", as: String.self),
                          sessionDigest: try row.decode(column: "session_digest", as: String?.self).flatMap { Data(hex: $0) },
                          subject: try row.decode(column: "subject", as: String?.self),
                          createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
                          expiresAt: Date(millis: try row.decode(column: "expires_at", as: Int64.self)))
    }

    public func purgeExpiredInteractions(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "interactions").where("expires_at", .lessThan, date.millis).returning("id_digest").all().count
        }
    }
}
