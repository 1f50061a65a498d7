import Foundation
import SQLKit
import TesseraCore

/// Schema version 4: failed-login counters and locks, keyed by username as typed.
enum SecuritySchema {
    static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "login_attempts")
            .column("username", type: .text, .primaryKey(autoIncrement: false))
            .column("failures", type: .bigint, .notNull)
            .column("last_failure_at", type: .bigint, .notNull)
            .column("locked_until", type: .bigint)
            .run()
    }

    /// Schema version 6: fixed-window rate limit counters, one row per key.
    static func applyRateLimits(_ db: any SQLDatabase) async throws {
        try await db.create(table: "rate_limits")
            .column("key", type: .text, .primaryKey(autoIncrement: false))
            .column("window_start", type: .bigint, .notNull)
            .column("hits", type: .bigint, .notNull)
            .run()
    }
}

/// `CASE WHEN condition THEN then ELSE else END`, serialized through SQLKit so both dialects get it.
struct SQLCaseWhen: SQLExpression {
    let condition: any SQLExpression
    let then: any SQLExpression
    let otherwise: any SQLExpression

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write("CASE WHEN ")
        condition.serialize(to: &serializer)
        serializer.write(" THEN ")
        then.serialize(to: &serializer)
        serializer.write(" ELSE ")
        otherwise.serialize(to: &serializer)
        serializer.write(" END")
    }
}

/// Per-account lockout state. Every change is one statement, atomic on SQLite and PostgreSQL.
extension SQLStore {
    public func loginAttempts(username: String) async throws -> LoginAttemptState? {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("login_attempts").where("username", .equal, username).first().map(Self.decodeLoginAttempt)
        }
    }

    public func recordLoginFailure(username: String, at date: Date, window: TimeInterval) async throws -> Int {
        let cutoff = date.addingTimeInterval(-window).millis
        return try await engine.withWriter { db in
            // One upsert: insert 1, or add 1 to the row (restarting at 1 when the last failure left the window).
            let row = try await db.insert(into: "login_attempts")
                .columns("username", "failures", "last_failure_at", "locked_until")
                .values(SQLBind(username), SQLBind(1), SQLBind(date.millis), SQLLiteral.null)
                .onConflict(with: ["username"]) { update in
                    update
                        .set("failures", to: SQLCaseWhen(
                            condition: SQLBinaryExpression(SQLColumn("last_failure_at", table: "login_attempts"), .lessThan, SQLBind(cutoff)),
                            then: SQLBind(1),
                            otherwise: SQLBinaryExpression(SQLColumn("failures", table: "login_attempts"), .add, SQLLiteral.numeric("1"))))
                        .set("last_failure_at", to: SQLBind(date.millis))
                }
                .returning("failures")
                .first()
            guard let row else { throw StoreError(.notFound, "The failure was not recorded.") }
            return try row.decode(column: "failures", as: Int.self)
        }
    }

    public func lockLogin(username: String, until: Date) async throws {
        try await engine.withWriter { db in
            try await db.update("login_attempts")
                .set("locked_until", to: SQLBind(until.millis))
                .where("username", .equal, username)
                .where { $0.where("locked_until", .is, SQLLiteral.null).orWhere("locked_until", .lessThan, until.millis) }
                .run()
        }
    }

    public func clearLoginAttempts(username: String) async throws -> Bool {
        try await engine.withWriter { db in
            try await !db.delete(from: "login_attempts").where("username", .equal, username).returning("username").all().isEmpty
        }
    }

    public func lockedLogins(at date: Date) async throws -> [LoginAttemptState] {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("login_attempts").where("locked_until", .greaterThan, date.millis)
                .orderBy("username").all().map(Self.decodeLoginAttempt)
        }
    }

    public func purgeLoginAttempts(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "login_attempts")
                .where("last_failure_at", .lessThan, date.millis)
                .where { $0.where("locked_until", .is, SQLLiteral.null).orWhere("locked_until", .lessThanOrEqual, date.millis) }
                .returning("username").all().count
        }
    }

    static func decodeLoginAttempt(_ row: any SQLRow) throws -> LoginAttemptState {
        LoginAttemptState(username: try row.decode(column: "username", as: String.self),
                          failures: try row.decode(column: "failures", as: Int.self),
                          lastFailureAt: Date(millis: try row.decode(column: "last_failure_at", as: Int64.self)),
                          lockedUntil: try row.decode(column: "locked_until", as: Int64?.self).map(Date.init(millis:)))
    }
}

/// Shared rate limit counters: one upsert per hit.
extension SQLStore {
    public func countRateLimitHit(key: String, windowStart: Date) async throws -> Int {
        let start = windowStart.millis
        return try await engine.withWriter { db in
            let row = try await db.insert(into: "rate_limits")
                .columns("key", "window_start", "hits")
                .values(SQLBind(key), SQLBind(start), SQLBind(1))
                .onConflict(with: ["key"]) { update in
                    update
                        .set("hits", to: SQLCaseWhen(
                            condition: SQLBinaryExpression(SQLColumn("window_start", table: "rate_limits"), .equal, SQLBind(start)),
                            then: SQLBinaryExpression(SQLColumn("hits", table: "rate_limits"), .add, SQLLiteral.numeric("1")),
                            otherwise: SQLBind(1)))
                        .set("window_start", to: SQLBind(start))
                }
                .returning("hits")
                .first()
            guard let row else { throw StoreError(.notFound, "The hit was not counted.") }
            return try row.decode(column: "hits", as: Int.self)
        }
    }

    public func purgeRateLimits(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "rate_limits").where("window_start", .lessThan, date.millis).returning("key").all().count
        }
    }
}
