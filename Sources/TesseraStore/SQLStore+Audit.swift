import Foundation
import SQLKit
public import TesseraCore
import TesseraJOSE

/// Schema version 7: the audit log.
enum AuditSchema {
    static func apply(_ db: any SQLDatabase) async throws {
        try await db.create(table: "audit_events")
            .column("id", type: .text, .primaryKey(autoIncrement: false))
            .column("at", type: .bigint, .notNull)
            .column("seq", type: .bigint, .notNull)
            .column("kind", type: .text, .notNull)
            .column("client_id", type: .text)
            .column("subject", type: .text)
            .column("detail", type: .text, .notNull)
            .run()
        try await db.create(index: "audit_events_at").on("audit_events").column("at").run()
    }
}

extension SQLStore {
    /// Rows per `INSERT`: 7 bind parameters each keeps a statement far below SQLite's 32,766 and PostgreSQL's
    /// 65,535 parameters however large the batch.
    static let auditRowsPerStatement = 256

    /// One transaction: the batch is stored whole or not at all, so a retried batch is never stored twice.
    public func insertAuditEvents(_ events: [AuditEvent]) async throws {
        guard !events.isEmpty else { return }
        let rows = events.enumerated().map { index, event -> [any SQLExpression] in
            let detail = String(decoding: JSONObjectBytes.sorted(event.detail), as: UTF8.self)
            return [SQLBind(UUID().uuidString), SQLBind(event.at.millis), SQLBind(index), SQLBind(event.kind.rawValue),
                    SQLBind(event.clientID), SQLBind(event.subject), SQLBind(detail)]
        }
        try await engine.withTransaction { db in
            for start in stride(from: 0, to: rows.count, by: Self.auditRowsPerStatement) {
                var insert = db.insert(into: "audit_events").columns("id", "at", "seq", "kind", "client_id", "subject", "detail")
                for row in rows[start..<min(start + Self.auditRowsPerStatement, rows.count)] { insert = insert.values(row) }
                try await insert.run()
            }
        }
    }

    public func auditEvents(_ filter: AuditEventFilter) async throws -> [AuditEvent] {
        try await engine.withDatabase { db in
            let query = db.select().column("*").from("audit_events")
            if let subject = filter.subject { query.where("subject", .equal, subject) }
            if let clientID = filter.clientID { query.where("client_id", .equal, clientID) }
            if let kind = filter.kind { query.where("kind", .equal, kind.rawValue) }
            if let since = filter.since { query.where("at", .greaterThanOrEqual, since.millis) }
            return try await query.orderBy("at", .descending).orderBy("seq", .descending).limit(filter.limit).all().map { row in
                let detail = try JSONDecoder().decode([String: String].self, from: Data(try row.decode(column: "detail", as: String.self).utf8))
                return AuditEvent(AuditEvent.Kind(rawValue: try row.decode(column: "kind", as: String.self)),
                                  at: Date(millis: try row.decode(column: "at", as: Int64.self)),
                                  clientID: try row.decode(column: "client_id", as: String?.self),
                                  subject: try row.decode(column: "subject", as: String?.self), detail: detail)
            }
        }
    }
}

