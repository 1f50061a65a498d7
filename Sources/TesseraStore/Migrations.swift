import Foundation
import SQLKit
import TesseraCore

/// A versioned schema change. Versions are applied in order, once, and recorded in `tessera_migrations`.
struct Migration: Sendable {
    let version: Int
    let name: String
    let apply: @Sendable (any SQLDatabase) async throws -> Void
}

/// The schema, written once with SQLKit's builders so each engine gets its own dialect.
enum Schema {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "initial") { db in
            try await db.create(table: "users")
                .column("id", type: .text, .primaryKey(autoIncrement: false))
                .column("username", type: .text, .notNull, .unique)
                .column("password_hash", type: .text, .notNull)
                .column("scopes", type: .text, .notNull)
                .column("disabled", type: .int, .notNull)
                .column("created_at", type: .bigint, .notNull)
                .run()
            try await db.create(table: "clients")
                .column("id", type: .text, .primaryKey(autoIncrement: false))
                .column("name", type: .text, .notNull)
                .column("secret_digest", type: .text)
                .column("auth_method", type: .text, .notNull)
                .column("grant_types", type: .text, .notNull)
                .column("scopes", type: .text, .notNull)
                .column("redirect_uris", type: .text, .notNull)
                .column("require_consent", type: .int, .notNull)
                .column("created_at", type: .bigint, .notNull)
                .column("secret_expires_at", type: .bigint)
                .run()
            try await db.create(table: "refresh_tokens")
                .column("id", type: .text, .primaryKey(autoIncrement: false))
                .column("token_digest", type: .text, .notNull, .unique)
                .column("family_id", type: .text, .notNull)
                .column("client_id", type: .text, .notNull)
                .column("subject", type: .text, .notNull)
                .column("scopes", type: .text, .notNull)
                .column("audience", type: .text, .notNull)
                .column("issued_at", type: .bigint, .notNull)
                .column("expires_at", type: .bigint, .notNull)
                .column("family_expires_at", type: .bigint, .notNull)
                .column("auth_time", type: .bigint)
                .column("rotated_at", type: .bigint)
                .column("revoked_at", type: .bigint)
                .run()
            try await db.create(index: "refresh_tokens_family").on("refresh_tokens").column("family_id").run()
            try await db.create(index: "refresh_tokens_client").on("refresh_tokens").column("client_id").run()
            try await db.create(table: "signing_keys")
                .column("kid", type: .text, .primaryKey(autoIncrement: false))
                .column("algorithm", type: .text, .notNull)
                .column("private_key_pem", type: .text, .notNull)
                .column("created_at", type: .bigint, .notNull)
                .column("activates_at", type: .bigint, .notNull)
                .column("retired_at", type: .bigint)
                .run()
        },
        Migration(version: 2, name: "lifecycle") { db in
            // One column per ALTER: SQLite cannot batch them.
            try await db.alter(table: "clients").column("resources", type: .text).run()
            try await db.alter(table: "clients").column("registration_token_digest", type: .text).run()
            try await db.create(table: "revoked_access_tokens")
                .column("jti", type: .text, .primaryKey(autoIncrement: false))
                .column("client_id", type: .text, .notNull)
                .column("expires_at", type: .bigint, .notNull)
                .column("revoked_at", type: .bigint, .notNull)
                .run()
            try await db.create(index: "revoked_access_tokens_expiry").on("revoked_access_tokens").column("expires_at").run()
            try await db.create(table: "initial_access_tokens")
                .column("token_digest", type: .text, .primaryKey(autoIncrement: false))
                .column("expires_at", type: .bigint, .notNull)
                .column("created_at", type: .bigint, .notNull)
                .run()
        },
        // Issue 3: browser flows. Independent of version 2.
        Migration(version: 3, name: "browser") { db in try await BrowserSchema.apply(db) },
        // Issue 6: lockout (SQLStore+Security.swift).
        Migration(version: 4, name: "security") { db in try await SecuritySchema.apply(db) },
        // RFC 8707 resource indicators at /authorize: the resources a code was issued for.
        Migration(version: 5, name: "code_resources") { db in try await CodeResourcesSchema.apply(db) },
        // Issue 6: shared rate limit counters. No longer used (rate limits are node-local, `LocalRateLimiter`;
        // the `RateLimitStore` protocol was removed): the empty table stays and needs no migration.
        Migration(version: 6, name: "rate_limits") { db in try await SecuritySchema.applyRateLimits(db) },
        // Issue 6: the audit log (SQLStore+Audit.swift).
        Migration(version: 7, name: "audit") { db in try await AuditSchema.apply(db) },
        // OIDC Registration `id_token_signed_response_alg` per client (NULL = RS256).
        Migration(version: 8, name: "id_token_alg") { db in
            try await db.alter(table: "clients").column("id_token_alg", type: .text).run()
        },
        // Issue 6: TOTP MFA, recovery codes, pending browser challenges, the client flag (SQLStore+MFA.swift).
        Migration(version: 9, name: "mfa") { db in try await MFASchema.apply(db) },
        // Issue 8: federated identity — pending upstream sign-ins, identity links, amr/idp on sessions and codes
        // (SQLStore+Federation.swift).
        Migration(version: 10, name: "federation") { db in try await FederationSchema.apply(db) },
        // Issue 13: usernames in RFC 8265 canonical form. Names that would collide are left and reported by
        // `tessera doctor` (UsernameMigration), never merged.
        Migration(version: 11, name: "canonical_usernames") { db in
            let users = try await db.select().column("id").column("username").from("users").orderBy("created_at").orderBy("id").all()
                .map { (id: try $0.decode(column: "id", as: String.self), username: try $0.decode(column: "username", as: String.self)) }
            for rename in UsernameMigration.plan(users).renames {
                try await db.update("users").set("username", to: SQLBind(rename.username)).where("id", .equal, rename.id).run()
            }
        },
        // Issue 20: clients that registered themselves (open registration) may introspect only their own tokens
        // (RFC 7662 §4). Existing ones are found through their `client.registered` audit event (`"open":"true"`).
        Migration(version: 12, name: "anonymous_registration") { db in
            try await db.alter(table: "clients").column("registered_anonymously", type: .int).run()
            let open = try await db.select().column("client_id").from("audit_events")
                .where("kind", .equal, AuditEvent.Kind.clientRegistered.rawValue)
                .where("detail", .like, #"%"open":"true"%"#).all()
                .compactMap { try $0.decode(column: "client_id", as: String?.self) }
            for id in Set(open) {
                try await db.update("clients").set("registered_anonymously", to: 1).where("id", .equal, id).run()
            }
        },
        // Issue 20 item 6 / issue 14: pending interactions (consent today; PAR and device codes later), single-use,
        // digest at rest (SQLStore+Interactions.swift).
        Migration(version: 13, name: "interactions") { db in try await InteractionSchema.apply(db) },
        // Issue 20: the first key of an algorithm is one atomic claim across nodes. It is inserted with `claim` =
        // its algorithm, and at most one unretired row may hold a claim (SQLStore.insertSigningKeyIfNoneActive).
        // Not a unique index on unretired `algorithm`: a pre-published successor (KeyRotationPolicy) is unretired
        // beside the key it replaces. Existing rows keep a NULL claim, which the index ignores.
        Migration(version: 14, name: "signing_key_claim") { db in
            try await db.alter(table: "signing_keys").column("claim", type: .text).run()
            try await db.raw("CREATE UNIQUE INDEX signing_keys_claim ON signing_keys (claim) WHERE retired_at IS NULL").run()
        },
        // Issue 20 item 8: when the session's user last re-entered their credentials (step-up before MFA changes).
        Migration(version: 15, name: "session_reauthentication") { db in
            try await db.alter(table: "browser_sessions").column("reauthenticated_at", type: .bigint).run()
        },
        // Issue 15: `private_key_jwt` (RFC 7523 §2.2) — a client's registered keys, and the assertion `jti`s already
        // used (single use across nodes: the primary key makes the second insert of one jti do nothing).
        Migration(version: 16, name: "private_key_jwt") { db in
            try await db.alter(table: "clients").column("jwks", type: .text).run()
            try await db.alter(table: "clients").column("jwks_uri", type: .text).run()
            try await db.create(table: "client_assertions")
                .column("client_id", type: .text, .notNull)
                .column("jti_digest", type: .text, .notNull)
                .column("expires_at", type: .bigint, .notNull)
                .primaryKey("client_id", "jti_digest")
                .run()
            try await db.create(index: "client_assertions_expiry").on("client_assertions").column("expires_at").run()
        },
        // Issue 15: the refresh rotation grace window — how often a rotated token was redeemed again within it, and a
        // client's own grace period.
        Migration(version: 17, name: "refresh_grace") { db in
            try await db.alter(table: "refresh_tokens").column("grace_uses", type: .int).run()
            try await db.alter(table: "clients").column("refresh_grace_period", type: .int).run()
        },
        // Issue 15: OIDC Registration `application_type` (web or native, RFC 8252).
        Migration(version: 18, name: "application_type") { db in
            try await db.alter(table: "clients").column("application_type", type: .text).run()
        },
    ]

    /// The newest schema version this build knows.
    static var latestVersion: Int { migrations.map(\.version).max() ?? 0 }
}
