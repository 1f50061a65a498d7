public import Foundation
import SQLKit
public import TesseraCore

/// Schema version 9: TOTP enrolments, recovery code digests, pending browser MFA challenges, and the
/// per-client `allow_password_grant_with_mfa` flag.
enum MFASchema {
    static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "mfa_totp")
            .column("user_id", type: .text, .primaryKey(autoIncrement: false))
            .column("secret", type: .text, .notNull)
            .column("confirmed", type: .int, .notNull)
            .column("last_step", type: .bigint)
            .column("created_at", type: .bigint, .notNull)
            .column("confirmed_at", type: .bigint)
            .run()
        try await db.create(table: "mfa_recovery_codes")
            .column("code_digest", type: .text, .primaryKey(autoIncrement: false))
            .column("user_id", type: .text, .notNull)
            .column("used_at", type: .bigint)
            .run()
        try await db.create(index: "mfa_recovery_codes_user").on("mfa_recovery_codes").column("user_id").run()
        try await db.create(table: "mfa_challenges")
            .column("session_digest", type: .text, .primaryKey(autoIncrement: false))
            .column("user_id", type: .text, .notNull)
            .column("created_at", type: .bigint, .notNull)
            .column("expires_at", type: .bigint, .notNull)
            .run()
        try await db.alter(table: "clients").column("allow_password_grant_with_mfa", type: .int).run()
    }
}

/// MFA state. Every single-use decision (a TOTP step, a recovery code, confirming) is one conditional
/// statement, atomic on SQLite and PostgreSQL alike.
extension SQLStore {
    public func mfaEnrollment(userID: String) async throws -> MFAEnrollment? {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("mfa_totp").where("user_id", .equal, userID).first().map(Self.decodeMFAEnrollment)
        }
    }

    public func saveUnconfirmedMFAEnrollment(_ enrollment: MFAEnrollment) async throws -> Bool {
        try await engine.withWriter { db in
            // Upsert that only replaces an unconfirmed row: a confirmed enrolment is never overwritten.
            try await !db.insert(into: "mfa_totp")
                .columns("user_id", "secret", "confirmed", "last_step", "created_at", "confirmed_at")
                .values(SQLBind(enrollment.userID), SQLBind(enrollment.secret), SQLBind(0), SQLLiteral.null,
                        SQLBind(enrollment.createdAt.millis), SQLLiteral.null)
                .onConflict(with: ["user_id"]) { update in
                    update.set(excludedValueOf: "secret").set(excludedValueOf: "created_at").set(excludedValueOf: "last_step")
                        .where(SQLColumn("confirmed", table: "mfa_totp"), .equal, SQLBind(0))
                }
                .returning("user_id")
                .all().isEmpty
        }
    }

    public func confirmMFAEnrollment(userID: String, secret: String, step: Int64, recoveryCodeDigests: [Data], at date: Date) async throws -> Bool {
        try await engine.withTransaction { db in
            let claimed = try await db.update("mfa_totp")
                .set("confirmed", to: 1)
                .set("last_step", to: SQLBind(step))
                .set("confirmed_at", to: SQLBind(date.millis))
                .where("user_id", .equal, userID)
                .where("secret", .equal, secret)
                .where("confirmed", .equal, 0)
                .returning("user_id")
                .all()
            guard !claimed.isEmpty else { return false }
            try await db.delete(from: "mfa_recovery_codes").where("user_id", .equal, userID).run()
            if !recoveryCodeDigests.isEmpty {
                var insert = db.insert(into: "mfa_recovery_codes").columns("code_digest", "user_id", "used_at")
                for digest in recoveryCodeDigests {
                    insert = insert.values(SQLBind(digest.hex), SQLBind(userID), SQLLiteral.null)
                }
                try await insert.run()
            }
            return true
        }
    }

    public func acceptTOTPStep(userID: String, step: Int64) async throws -> Bool {
        try await engine.withWriter { db in
            try await !db.update("mfa_totp")
                .set("last_step", to: SQLBind(step))
                .where("user_id", .equal, userID)
                .where("confirmed", .equal, 1)
                .where { $0.where("last_step", .is, SQLLiteral.null).orWhere("last_step", .lessThan, SQLBind(step)) }
                .returning("user_id")
                .all().isEmpty
        }
    }

    public func recoveryCodes(userID: String) async throws -> [RecoveryCodeRecord] {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("mfa_recovery_codes").where("user_id", .equal, userID).orderBy("code_digest").all().map { row in
                RecoveryCodeRecord(userID: try row.decode(column: "user_id", as: String.self),
                                   digest: Data(hex: try row.decode(column: "code_digest", as: String.self)) ?? Data(),
                                   usedAt: try row.decode(column: "used_at", as: Int64?.self).map(Date.init(millis:)))
            }
        }
    }

    public func consumeRecoveryCode(userID: String, digest: Data, at date: Date) async throws -> Bool {
        try await engine.withWriter { db in
            try await !db.update("mfa_recovery_codes")
                .set("used_at", to: SQLBind(date.millis))
                .where("code_digest", .equal, digest.hex)
                .where("user_id", .equal, userID)
                .where("used_at", .is, SQLLiteral.null)
                .returning("user_id")
                .all().isEmpty
        }
    }

    public func deleteMFA(userID: String) async throws -> Bool {
        try await engine.withTransaction { db in
            try await db.delete(from: "mfa_recovery_codes").where("user_id", .equal, userID).run()
            try await db.delete(from: "mfa_challenges").where("user_id", .equal, userID).run()
            return try await !db.delete(from: "mfa_totp").where("user_id", .equal, userID).returning("user_id").all().isEmpty
        }
    }

    public func mfaEnabledUserIDs() async throws -> Set<String> {
        try await engine.withDatabase { db in
            Set(try await db.select().column("user_id").from("mfa_totp").where("confirmed", .equal, 1).all()
                .map { try $0.decode(column: "user_id", as: String.self) })
        }
    }

    public func mfaSecrets() async throws -> [String: String] {
        try await engine.withDatabase { db in
            Dictionary(uniqueKeysWithValues: try await db.select().column("user_id").column("secret").from("mfa_totp").all().map {
                (try $0.decode(column: "user_id", as: String.self), try $0.decode(column: "secret", as: String.self))
            })
        }
    }

    public func replaceMFASecret(userID: String, from old: String, to new: String) async throws -> Bool {
        try await engine.withWriter { db in
            // Compare-and-set: a secret replaced meanwhile (a new enrolment) is left alone.
            try await !db.update("mfa_totp").set("secret", to: SQLBind(new))
                .where("user_id", .equal, userID).where("secret", .equal, old)
                .returning("user_id").all().isEmpty
        }
    }

    public func insertMFAChallenge(_ challenge: MFAChallenge) async throws {
        try await engine.withWriter { db in
            try await db.insert(into: "mfa_challenges")
                .columns("session_digest", "user_id", "created_at", "expires_at")
                .values(SQLBind(challenge.sessionDigest.hex), SQLBind(challenge.userID), SQLBind(challenge.createdAt.millis),
                        SQLBind(challenge.expiresAt.millis))
                .onConflict(with: ["session_digest"]) { update in
                    update.set(excludedValueOf: "user_id").set(excludedValueOf: "created_at").set(excludedValueOf: "expires_at")
                }
                .run()
        }
    }

    public func mfaChallenge(sessionDigest: Data) async throws -> MFAChallenge? {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("mfa_challenges").where("session_digest", .equal, sessionDigest.hex).first().map { row in
                MFAChallenge(sessionDigest: Data(hex: try row.decode(column: "session_digest", as: String.self)) ?? Data(),
                             userID: try row.decode(column: "user_id", as: String.self),
                             createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
                             expiresAt: Date(millis: try row.decode(column: "expires_at", as: Int64.self)))
            }
        }
    }

    public func deleteMFAChallenge(sessionDigest: Data) async throws {
        try await engine.withWriter { db in
            try await db.delete(from: "mfa_challenges").where("session_digest", .equal, sessionDigest.hex).run()
        }
    }

    public func purgeExpiredMFAChallenges(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "mfa_challenges").where("expires_at", .lessThan, date.millis).returning("user_id").all().count
        }
    }

    static func decodeMFAEnrollment(_ row: any SQLRow) throws -> MFAEnrollment {
        MFAEnrollment(userID: try row.decode(column: "user_id", as: String.self),
                      secret: try row.decode(column: "secret", as: String.self),
                      confirmed: try row.decode(column: "confirmed", as: Int.self) != 0,
                      lastUsedStep: try row.decode(column: "last_step", as: Int64?.self),
                      createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
                      confirmedAt: try row.decode(column: "confirmed_at", as: Int64?.self).map(Date.init(millis:)))
    }
}
