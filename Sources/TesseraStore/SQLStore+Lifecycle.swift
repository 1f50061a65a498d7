public import Foundation
import SQLKit
public import TesseraCore

/// Token lifecycle and client management: client updates, the access token revocation list and
/// initial access tokens.
extension SQLStore {
    public func updateClient(_ client: Client) async throws {
        let redirects = try Self.json(client.redirectURIs)
        let resources = try Self.json(client.resources)
        defer { engine.invalidateCachedReads() }
        try await engine.withWriter { db in
            let updated = try await db.update("clients")
                .set("name", to: client.name)
                .set("secret_digest", to: SQLBind(client.secretDigest?.hex))
                .set("auth_method", to: client.authMethod.rawValue)
                .set("grant_types", to: client.grantTypes.map(\.rawValue).sorted().joined(separator: " "))
                .set("scopes", to: client.allowedScopes.description)
                .set("redirect_uris", to: redirects)
                .set("require_consent", to: client.requireConsent ? 1 : 0)
                .set("secret_expires_at", to: SQLBind(client.secretExpiresAt?.millis))
                .set("resources", to: resources)
                .set("registration_token_digest", to: SQLBind(client.registrationTokenDigest?.hex))
                .set("id_token_alg", to: client.idTokenAlgorithm.rawValue)
                .set("allow_password_grant_with_mfa", to: client.allowPasswordGrantWithMFA ? 1 : 0)
                .set("jwks", to: SQLBind(client.jwks))
                .set("jwks_uri", to: SQLBind(client.jwksURI))
                .set("refresh_grace_period", to: SQLBind(client.refreshGracePeriod))
                .set("application_type", to: client.applicationType.rawValue)
                .where("id", .equal, client.id)
                .returning("id")
                .all()
            if updated.isEmpty { throw StoreError(.notFound, "No such client.") }
        }
    }

    // MARK: Client assertions (private_key_jwt)

    public func recordClientAssertion(clientID: String, jtiDigest: Data, expiresAt: Date) async throws -> Bool {
        try await engine.withWriter { db in
            // One statement: the primary key (client_id, jti_digest) makes a second use DO NOTHING, on every node.
            try await !db.raw("""
                INSERT INTO client_assertions (client_id, jti_digest, expires_at)
                VALUES (\(bind: clientID), \(bind: jtiDigest.hex), \(bind: expiresAt.millis))
                ON CONFLICT DO NOTHING RETURNING jti_digest
                """).all().isEmpty
        }
    }

    @discardableResult
    public func purgeClientAssertions(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "client_assertions").where("expires_at", .lessThan, date.millis).returning("jti_digest").all().count
        }
    }

    // MARK: Access token revocation list

    public func revokeAccessToken(jti: String, clientID: String, expiresAt: Date, at date: Date) async throws {
        try await engine.withTransaction { db in
            // Insert-if-absent portably: a concurrent duplicate revocation is harmless.
            guard try await db.select().column("jti").from("revoked_access_tokens").where("jti", .equal, jti).first() == nil else { return }
            try await db.insert(into: "revoked_access_tokens")
                .columns("jti", "client_id", "expires_at", "revoked_at")
                .values(SQLBind(jti), SQLBind(clientID), SQLBind(expiresAt.millis), SQLBind(date.millis))
                .ignoringConflicts(with: ["jti"])
                .run()
        }
    }

    public func isAccessTokenRevoked(jti: String) async throws -> Bool {
        try await engine.withDatabase { db in
            try await db.select().column("jti").from("revoked_access_tokens").where("jti", .equal, jti).first() != nil
        }
    }

    public func purgeExpiredAccessTokenRevocations(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "revoked_access_tokens").where("expires_at", .lessThan, date.millis).returning("jti").all().count
        }
    }

    // MARK: Initial access tokens

    public func insertInitialAccessToken(digest: Data, expiresAt: Date, createdAt: Date) async throws {
        try await engine.withWriter { db in
            try await db.insert(into: "initial_access_tokens")
                .columns("token_digest", "expires_at", "created_at")
                .values(SQLBind(digest.hex), SQLBind(expiresAt.millis), SQLBind(createdAt.millis))
                .run()
        }
    }

    public func initialAccessTokenExpiry(digest: Data) async throws -> Date? {
        try await engine.withDatabase { db in
            try await db.select().column("expires_at").from("initial_access_tokens").where("token_digest", .equal, digest.hex).first()
                .map { Date(millis: try $0.decode(column: "expires_at", as: Int64.self)) }
        }
    }

    public func purgeExpiredInitialAccessTokens(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "initial_access_tokens").where("expires_at", .lessThan, date.millis).returning("token_digest").all().count
        }
    }
}
