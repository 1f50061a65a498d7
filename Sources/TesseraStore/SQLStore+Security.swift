public import Foundation
import SQLKit
public import TesseraCore

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

/// `CASE WHEN c1 THEN v1 WHEN c2 THEN v2 … ELSE otherwise END`: the first true branch wins.
struct SQLCase: SQLExpression {
    let branches: [(condition: any SQLExpression, then: any SQLExpression)]
    let otherwise: any SQLExpression

    func serialize(to serializer: inout SQLSerializer) {
        guard !branches.isEmpty else { return otherwise.serialize(to: &serializer) }
        serializer.write("CASE")
        for branch in branches {
            serializer.write(" WHEN ")
            branch.condition.serialize(to: &serializer)
            serializer.write(" THEN ")
            branch.then.serialize(to: &serializer)
        }
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

    public func reserveLoginAttempt(username: String, at date: Date, policy: LockoutPolicy) async throws -> LoginAttemptReservation? {
        @Sendable func column(_ name: String) -> SQLColumn { SQLColumn(name, table: "login_attempts") }
        let now = date.millis
        let cutoff = date.addingTimeInterval(-policy.window).millis
        // Stale (`LoginAttemptState.isStale`): the last failure and the last lock's end both left the window.
        let stale = SQLBinaryExpression(
            SQLBinaryExpression(column("last_failure_at"), .lessThan, SQLBind(cutoff)), .and,
            SQLGroupExpression(SQLBinaryExpression(SQLBinaryExpression(column("locked_until"), .is, SQLLiteral.null), .or,
                                                   SQLBinaryExpression(column("locked_until"), .lessThan, SQLBind(cutoff)))))
        let newCount = SQLGroupExpression(SQLCaseWhen(condition: stale, then: SQLLiteral.numeric("1"),
                                                      otherwise: SQLBinaryExpression(column("failures"), .add, SQLLiteral.numeric("1"))))
        // The lock for the new count, from LockoutPolicy's schedule (highest step first); below the threshold the
        // old (expired) lock stays, for the staleness rule.
        let lock = SQLCase(branches: policy.lockSchedule.reversed().map { step in
            (SQLBinaryExpression(newCount, .greaterThanOrEqual, SQLLiteral.numeric(String(step.failures))),
             SQLBind(date.addingTimeInterval(step.delay).millis))
        }, otherwise: column("locked_until"))
        let firstLock = policy.lockEnd(afterFailures: 1, at: date)
        return try await engine.withWriter { db in
            // One conditional upsert: the row is counted (and maybe locked) only if it is not locked at `now`;
            // a locked row is left alone and no row comes back.
            let row = try await db.insert(into: "login_attempts")
                .columns("username", "failures", "last_failure_at", "locked_until")
                .values(SQLBind(username), SQLBind(1), SQLBind(now), firstLock.map { SQLBind($0.millis) as any SQLExpression } ?? SQLLiteral.null)
                .onConflict(with: ["username"]) { update in
                    update
                        .set("failures", to: newCount)
                        .set("last_failure_at", to: SQLBind(now))
                        .set("locked_until", to: lock)
                        .where(SQLGroupExpression(SQLBinaryExpression(
                            SQLBinaryExpression(column("locked_until"), .is, SQLLiteral.null), .or,
                            SQLBinaryExpression(column("locked_until"), .lessThanOrEqual, SQLBind(now)))))
                }
                .returning("failures")
                .first()
            guard let row else { return nil }
            let failures = try row.decode(column: "failures", as: Int.self)
            return LoginAttemptReservation(username: username, failures: failures,
                                           lockedUntil: policy.lockEnd(afterFailures: failures, at: date), at: date)
        }
    }

    public func releaseLoginAttempt(_ reservation: LoginAttemptReservation) async throws {
        try await engine.withWriter { db in
            var update = db.update("login_attempts")
                .set("failures", to: SQLCaseWhen(condition: SQLBinaryExpression(SQLColumn("failures"), .greaterThan, SQLLiteral.numeric("0")),
                                                 then: SQLBinaryExpression(SQLColumn("failures"), .subtract, SQLLiteral.numeric("1")),
                                                 otherwise: SQLLiteral.numeric("0")))
            if let lock = reservation.lockedUntil {
                update = update.set("locked_until", to: SQLCaseWhen(
                    condition: SQLBinaryExpression(SQLColumn("locked_until"), .equal, SQLBind(lock.millis)),
                    then: SQLLiteral.null, otherwise: SQLColumn("locked_until")))
            }
            try await update.where("username", .equal, reservation.username).run()
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
