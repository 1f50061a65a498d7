public import Foundation
import SQLKit
public import TesseraCore

/// Schema version 10: pending upstream sign-ins (`federation_states`), identity links
/// (`federated_identities`), and how a session or code was signed in (`amr`, `idp`).
///
/// Users are never deleted (only disabled), so links need no cascade.
enum FederationSchema {
    static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "federation_states")
            .column("state_digest", type: .text, .primaryKey(autoIncrement: false))
            .column("provider_id", type: .text, .notNull)
            .column("nonce", type: .text, .notNull)
            .column("code_verifier", type: .text, .notNull)
            .column("return_to", type: .text, .notNull)
            .column("session_digest", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("expires_at", type: .bigint, .notNull)
            .run()
        try await db.create(index: "federation_states_expiry").on("federation_states").column("expires_at").run()
        try await db.create(table: "federated_identities")
            .column("provider_id", type: .text, .notNull)
            .column("subject", type: .text, .notNull)
            .column("user_id", type: .text, .notNull)
            .column("email", type: .text)
            .column("linked_at", type: .bigint, .notNull)
            .column("last_sign_in_at", type: .bigint)
            .primaryKey("provider_id", "subject")
            .run()
        try await db.create(index: "federated_identities_user").on("federated_identities").column("user_id").run()
        // One column per ALTER: SQLite cannot batch them.
        for table in ["browser_sessions", "authorization_codes"] {
            try await db.alter(table: table).column("amr", type: .text).run()
            try await db.alter(table: table).column("idp", type: .text).run()
        }
    }

    /// The at-rest form of `amr`: the methods joined by spaces. `nil` stays NULL and an empty list is the
    /// empty string, so both round-trip exactly (methods are RFC 8176 tokens, without spaces).
    static func encodeMethods(_ methods: [String]?) -> String? {
        methods?.joined(separator: " ")
    }

    static func decodeMethods(_ column: String?) -> [String]? {
        column.map { $0.split(separator: " ").map(String.init) }
    }
}

/// Federation state. Taking a pending sign-in is one `DELETE … RETURNING` and linking an identity is one
/// `INSERT … ON CONFLICT DO NOTHING … RETURNING`: each is atomic on SQLite and PostgreSQL, across nodes too.
extension SQLStore {
    // MARK: Pending upstream sign-ins

    public func insertFederationState(_ state: FederationState) async throws {
        try await engine.withWriter { db in
            try await db.insert(into: "federation_states")
                .columns("state_digest", "provider_id", "nonce", "code_verifier", "return_to", "session_digest", "created_at", "expires_at")
                .values(SQLBind(state.stateDigest.hex), SQLBind(state.providerID), SQLBind(state.nonce), SQLBind(state.codeVerifier),
                        SQLBind(state.returnTo), SQLBind(state.sessionDigest.hex), SQLBind(state.createdAt.millis), SQLBind(state.expiresAt.millis))
                .run()
        }
    }

    public func takeFederationState(digest: Data) async throws -> FederationState? {
        try await engine.withWriter { db in
            try await db.delete(from: "federation_states").where("state_digest", .equal, digest.hex).returning("*").all().first.map { row in
                FederationState(stateDigest: Data(hex: try row.decode(column: "state_digest", as: String.self)) ?? Data(),
                                providerID: try row.decode(column: "provider_id", as: String.self),
                                nonce: try row.decode(column: "nonce", as: String.self),
                                codeVerifier: try row.decode(column: "code_verifier", as: String.self),
                                returnTo: try row.decode(column: "return_to", as: String.self),
                                sessionDigest: Data(hex: try row.decode(column: "session_digest", as: String.self)) ?? Data(),
                                createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
                                expiresAt: Date(millis: try row.decode(column: "expires_at", as: Int64.self)))
            }
        }
    }

    public func purgeExpiredFederationStates(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "federation_states").where("expires_at", .lessThan, date.millis).returning("state_digest").all().count
        }
    }

    // MARK: Identity links

    public func federatedIdentity(providerID: String, subject: String) async throws -> FederatedIdentity? {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("federated_identities")
                .where("provider_id", .equal, providerID).where("subject", .equal, subject)
                .first().map(Self.decodeFederatedIdentity)
        }
    }

    public func federatedIdentities(userID: String) async throws -> [FederatedIdentity] {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("federated_identities").where("user_id", .equal, userID)
                .orderBy("linked_at").orderBy("provider_id").orderBy("subject")
                .all().map(Self.decodeFederatedIdentity)
        }
    }

    public func insertFederatedIdentity(_ identity: FederatedIdentity) async throws -> Bool {
        try await engine.withWriter { db in
            try await !db.insert(into: "federated_identities")
                .columns("provider_id", "subject", "user_id", "email", "linked_at", "last_sign_in_at")
                .values(SQLBind(identity.providerID), SQLBind(identity.subject), SQLBind(identity.userID), SQLBind(identity.email),
                        SQLBind(identity.linkedAt.millis), SQLBind(identity.lastSignInAt?.millis))
                .ignoringConflicts(with: ["provider_id", "subject"])
                .returning("user_id")
                .all().isEmpty
        }
    }

    public func recordFederatedSignIn(providerID: String, subject: String, at date: Date) async throws {
        try await engine.withWriter { db in
            try await db.update("federated_identities").set("last_sign_in_at", to: SQLBind(date.millis))
                .where("provider_id", .equal, providerID).where("subject", .equal, subject)
                .run()
        }
    }

    public func deleteFederatedIdentity(userID: String, providerID: String, subject: String) async throws -> Bool {
        try await engine.withWriter { db in
            try await !db.delete(from: "federated_identities")
                .where("provider_id", .equal, providerID).where("subject", .equal, subject).where("user_id", .equal, userID)
                .returning("user_id")
                .all().isEmpty
        }
    }

    /// `lower()` on both sides. SQLite's folds ASCII letters only; PostgreSQL's follows the database's locale.
    public func userIDs(email: String) async throws -> [String] {
        try await engine.withDatabase { db in
            try await db.select().column("id").from("users")
                .where(SQLFunction("lower", args: SQLColumn("email")), .equal, SQLFunction("lower", args: SQLBind(email)))
                .orderBy("id")
                .all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    static func decodeFederatedIdentity(_ row: any SQLRow) throws -> FederatedIdentity {
        FederatedIdentity(providerID: try row.decode(column: "provider_id", as: String.self),
                          subject: try row.decode(column: "subject", as: String.self),
                          userID: try row.decode(column: "user_id", as: String.self),
                          email: try row.decode(column: "email", as: String?.self),
                          linkedAt: Date(millis: try row.decode(column: "linked_at", as: Int64.self)),
                          lastSignInAt: try row.decode(column: "last_sign_in_at", as: Int64?.self).map(Date.init(millis:)))
    }
}
