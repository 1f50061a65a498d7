public import Foundation
import SQLKit
public import TesseraCore

/// Schema version 3: authorization codes, browser sessions, consents and users' profile claims.
enum BrowserSchema {
    static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "authorization_codes")
            .column("code_digest", type: .text, .primaryKey(autoIncrement: false))
            .column("client_id", type: .text, .notNull)
            .column("subject", type: .text, .notNull)
            .column("redirect_uri", type: .text, .notNull)
            .column("redirect_uri_sent", type: .int, .notNull)
            .column("scopes", type: .text, .notNull)
            .column("code_challenge", type: .text)
            .column("nonce", type: .text)
            .column("auth_time", type: .bigint, .notNull)
            .column("issued_at", type: .bigint, .notNull)
            .column("expires_at", type: .bigint, .notNull)
            .column("consumed_at", type: .bigint)
            .column("refresh_family_id", type: .text)
            .column("access_token_jti", type: .text)
            .column("access_token_expires_at", type: .bigint)
            .run()
        try await db.create(index: "authorization_codes_expiry").on("authorization_codes").column("expires_at").run()
        try await db.create(table: "browser_sessions")
            .column("id_digest", type: .text, .primaryKey(autoIncrement: false))
            .column("user_id", type: .text)
            .column("auth_time", type: .bigint)
            .column("csrf_token", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("expires_at", type: .bigint, .notNull)
            .run()
        try await db.create(index: "browser_sessions_expiry").on("browser_sessions").column("expires_at").run()
        try await db.create(table: "consents")
            .column("subject", type: .text, .notNull)
            .column("client_id", type: .text, .notNull)
            .column("scopes", type: .text, .notNull)
            .column("granted_at", type: .bigint, .notNull)
            .column("updated_at", type: .bigint, .notNull)
            .primaryKey("subject", "client_id")
            .run()
        try await db.create(index: "refresh_tokens_subject_client").on("refresh_tokens").column("subject").column("client_id").run()
        try await db.alter(table: "users").column("name", type: .text).run()
        try await db.alter(table: "users").column("email", type: .text).run()
    }
}

/// Schema version 5: the `resource` values (RFC 8707) an authorization code was issued for, space-separated.
enum CodeResourcesSchema {
    static func apply(_ db: any SQLDatabase) async throws {
        try await db.alter(table: "authorization_codes").column("resources", type: .text).run()
    }
}

extension SQLStore {
    // MARK: Authorization codes

    public func insertAuthorizationCode(_ code: AuthorizationCodeRecord) async throws {
        try await engine.withWriter { db in
            try await db.insert(into: "authorization_codes")
                .columns("code_digest", "client_id", "subject", "redirect_uri", "redirect_uri_sent", "scopes", "code_challenge", "nonce",
                         "auth_time", "issued_at", "expires_at", "consumed_at", "refresh_family_id", "access_token_jti", "access_token_expires_at", "resources",
                         "amr", "idp")
                .values(SQLBind(code.codeDigest.hex), SQLBind(code.clientID), SQLBind(code.subject), SQLBind(code.redirectURI),
                        SQLBind(code.redirectURIWasSent ? 1 : 0), SQLBind(code.scopes.description), SQLBind(code.codeChallenge), SQLBind(code.nonce),
                        SQLBind(code.authTime.millis), SQLBind(code.issuedAt.millis), SQLBind(code.expiresAt.millis), SQLBind(code.consumedAt?.millis),
                        SQLBind(code.refreshFamilyID), SQLBind(code.accessTokenJTI), SQLBind(code.accessTokenExpiresAt?.millis),
                        SQLBind(code.resources.isEmpty ? nil : code.resources.joined(separator: " ")),
                        SQLBind(FederationSchema.encodeMethods(code.authenticationMethods)), SQLBind(code.identityProvider))
                .run()
        }
    }

    public func authorizationCode(digest: Data) async throws -> AuthorizationCodeRecord? {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("authorization_codes").where("code_digest", .equal, digest.hex).first().map(Self.decodeCode)
        }
    }

    public func redeemAuthorizationCode(digest: Data, at date: Date, issuing refreshToken: RefreshTokenRecord?,
                                        accessTokenJTI: String?, accessTokenExpiresAt: Date?) async throws -> CodeRedemption {
        try await engine.withTransaction { db in
            // The conditional UPDATE is the atomic claim: only one transaction can move consumed_at off NULL.
            let claimed = try await db.update("authorization_codes")
                .set("consumed_at", to: date.millis)
                .set("refresh_family_id", to: SQLBind(refreshToken?.familyID))
                .set("access_token_jti", to: SQLBind(accessTokenJTI))
                .set("access_token_expires_at", to: SQLBind(accessTokenExpiresAt?.millis))
                .where("code_digest", .equal, digest.hex)
                .where("consumed_at", .is, SQLLiteral.null)
                .returning("*")
                .all()
            if let row = claimed.first {
                if let refreshToken { try await Self.insertRefreshToken(refreshToken, into: db) }
                return .redeemed(try Self.decodeCode(row))
            }
            guard let row = try await db.select().column("*").from("authorization_codes").where("code_digest", .equal, digest.hex).first() else {
                return .notFound
            }
            return .alreadyRedeemed(try Self.decodeCode(row))
        }
    }

    public func recordAuthorizationCodeAccessToken(digest: Data, jti: String, expiresAt: Date) async throws {
        try await engine.withWriter { db in
            try await db.update("authorization_codes")
                .set("access_token_jti", to: jti)
                .set("access_token_expires_at", to: expiresAt.millis)
                .where("code_digest", .equal, digest.hex)
                .run()
        }
    }

    public func purgeExpiredAuthorizationCodes(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "authorization_codes").where("expires_at", .lessThan, date.millis).returning("code_digest").all().count
        }
    }

    static func decodeCode(_ row: any SQLRow) throws -> AuthorizationCodeRecord {
        AuthorizationCodeRecord(
            codeDigest: Data(hex: try row.decode(column: "code_digest", as: String.self)) ?? Data(),
            clientID: try row.decode(column: "client_id", as: String.self),
            subject: try row.decode(column: "subject", as: String.self),
            redirectURI: try row.decode(column: "redirect_uri", as: String.self),
            redirectURIWasSent: try row.decode(column: "redirect_uri_sent", as: Int.self) != 0,
            scopes: ScopeSet(try row.decode(column: "scopes", as: String.self).split(separator: " ").map(String.init)),
            codeChallenge: try row.decode(column: "code_challenge", as: String?.self),
            nonce: try row.decode(column: "nonce", as: String?.self),
            authTime: Date(millis: try row.decode(column: "auth_time", as: Int64.self)),
            issuedAt: Date(millis: try row.decode(column: "issued_at", as: Int64.self)),
            expiresAt: Date(millis: try row.decode(column: "expires_at", as: Int64.self)),
            consumedAt: try row.decode(column: "consumed_at", as: Int64?.self).map(Date.init(millis:)),
            refreshFamilyID: try row.decode(column: "refresh_family_id", as: String?.self),
            accessTokenJTI: try row.decode(column: "access_token_jti", as: String?.self),
            accessTokenExpiresAt: try row.decode(column: "access_token_expires_at", as: Int64?.self).map(Date.init(millis:)),
            resources: (try row.decode(column: "resources", as: String?.self) ?? "").split(separator: " ").map(String.init),
            authenticationMethods: FederationSchema.decodeMethods(try row.decode(column: "amr", as: String?.self)),
            identityProvider: try row.decode(column: "idp", as: String?.self))
    }

    // MARK: Sessions

    public func insertSession(_ session: BrowserSession) async throws {
        try await engine.withWriter { db in
            try await db.insert(into: "browser_sessions")
                .columns("id_digest", "user_id", "auth_time", "csrf_token", "created_at", "expires_at", "amr", "idp", "reauthenticated_at")
                .values(SQLBind(session.idDigest.hex), SQLBind(session.userID), SQLBind(session.authTime?.millis), SQLBind(session.csrfToken),
                        SQLBind(session.createdAt.millis), SQLBind(session.expiresAt.millis),
                        SQLBind(FederationSchema.encodeMethods(session.authenticationMethods)), SQLBind(session.identityProvider),
                        SQLBind(session.reauthenticatedAt?.millis))
                .run()
        }
    }

    public func session(digest: Data) async throws -> BrowserSession? {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("browser_sessions").where("id_digest", .equal, digest.hex).first().map { row in
                BrowserSession(
                    idDigest: Data(hex: try row.decode(column: "id_digest", as: String.self)) ?? Data(),
                    userID: try row.decode(column: "user_id", as: String?.self),
                    authTime: try row.decode(column: "auth_time", as: Int64?.self).map(Date.init(millis:)),
                    csrfToken: try row.decode(column: "csrf_token", as: String.self),
                    createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
                    expiresAt: Date(millis: try row.decode(column: "expires_at", as: Int64.self)),
                    authenticationMethods: FederationSchema.decodeMethods(try row.decode(column: "amr", as: String?.self)),
                    identityProvider: try row.decode(column: "idp", as: String?.self),
                    reauthenticatedAt: try row.decode(column: "reauthenticated_at", as: Int64?.self).map(Date.init(millis:)))
            }
        }
    }

    public func deleteSession(digest: Data) async throws {
        try await engine.withWriter { db in try await db.delete(from: "browser_sessions").where("id_digest", .equal, digest.hex).run() }
    }

    public func extendSession(digest: Data, until date: Date) async throws {
        try await engine.withWriter { db in
            // Conditional: of concurrent extensions the later deadline wins, and none moves it back.
            try await db.update("browser_sessions")
                .set("expires_at", to: date.millis)
                .where("id_digest", .equal, digest.hex)
                .where("expires_at", .lessThan, date.millis)
                .run()
        }
    }

    public func deleteSessions(userID: String, except kept: Data?) async throws -> Int {
        try await engine.withWriter { db in
            var delete = db.delete(from: "browser_sessions").where("user_id", .equal, userID)
            if let kept { delete = delete.where("id_digest", .notEqual, kept.hex) }
            return try await delete.returning("id_digest").all().count
        }
    }

    public func purgeExpiredSessions(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "browser_sessions").where("expires_at", .lessThan, date.millis).returning("id_digest").all().count
        }
    }

    // MARK: Consents

    public func consent(subject: String, clientID: String) async throws -> ConsentRecord? {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("consents").where("subject", .equal, subject).where("client_id", .equal, clientID)
                .first().map(Self.decodeConsent)
        }
    }

    public func saveConsent(_ consent: ConsentRecord) async throws {
        try await engine.withTransaction { db in
            try await db.delete(from: "consents").where("subject", .equal, consent.subject).where("client_id", .equal, consent.clientID).run()
            try await db.insert(into: "consents")
                .columns("subject", "client_id", "scopes", "granted_at", "updated_at")
                .values(SQLBind(consent.subject), SQLBind(consent.clientID), SQLBind(consent.scopes.description),
                        SQLBind(consent.grantedAt.millis), SQLBind(consent.updatedAt.millis))
                .run()
        }
    }

    public func consents(subject: String) async throws -> [ConsentRecord] {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("consents").where("subject", .equal, subject)
                .orderBy("granted_at").orderBy("client_id").all().map(Self.decodeConsent)
        }
    }

    public func deleteConsents(clientID: String) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "consents").where("client_id", .equal, clientID).returning("subject").all().count
        }
    }

    public func deleteConsent(subject: String, clientID: String) async throws -> Bool {
        try await engine.withWriter { db in
            !(try await db.delete(from: "consents").where("subject", .equal, subject).where("client_id", .equal, clientID)
                .returning("client_id").all().isEmpty)
        }
    }

    public func revokeRefreshTokens(subject: String, clientID: String, at date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.update("refresh_tokens")
                .set("revoked_at", to: date.millis)
                .where("subject", .equal, subject)
                .where("client_id", .equal, clientID)
                .where("revoked_at", .is, SQLLiteral.null)
                .returning("id")
                .all().count
        }
    }

    public func revokeRefreshTokens(subject: String, at date: Date) async throws -> Int {
        try await engine.withWriter { db in
            let revoked = try await db.update("refresh_tokens")
                .set("revoked_at", to: date.millis)
                .where("subject", .equal, subject)
                .where("revoked_at", .is, SQLLiteral.null)
                .returning("family_id")
                .all()
            return Set(try revoked.map { try $0.decode(column: "family_id", as: String.self) }).count
        }
    }

    static func decodeConsent(_ row: any SQLRow) throws -> ConsentRecord {
        ConsentRecord(subject: try row.decode(column: "subject", as: String.self),
                      clientID: try row.decode(column: "client_id", as: String.self),
                      scopes: ScopeSet(try row.decode(column: "scopes", as: String.self).split(separator: " ").map(String.init)),
                      grantedAt: Date(millis: try row.decode(column: "granted_at", as: Int64.self)),
                      updatedAt: Date(millis: try row.decode(column: "updated_at", as: Int64.self)))
    }

    // MARK: Profiles

    public func userProfile(userID: String) async throws -> UserProfile {
        try await engine.withDatabase { db in
            guard let row = try await db.select().column("name").column("email").from("users").where("id", .equal, userID).first() else {
                return UserProfile()
            }
            return UserProfile(name: try row.decode(column: "name", as: String?.self), email: try row.decode(column: "email", as: String?.self))
        }
    }

    public func setUserProfile(userID: String, profile: UserProfile) async throws {
        defer { engine.invalidateCachedReads() }
        try await engine.withWriter { db in
            let updated = try await db.update("users").set("name", to: SQLBind(profile.name)).set("email", to: SQLBind(profile.email))
                .where("id", .equal, userID).returning("id").all()
            if updated.isEmpty { throw StoreError(.notFound, "No such user.") }
        }
    }
}
