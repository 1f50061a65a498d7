import Logging
import PostgresKit
public import SQLKit
import TesseraCore

/// A statement on a hot path (the token endpoint's reads and the refresh rotation). Its SQL is written once, with `?`
/// for each bind parameter; each engine runs that one text its own way (``HotStatementRunner``):
/// - PostgreSQL prepares it once per connection and afterwards only binds and executes it (the extended protocol's
///   named statements, through PostgresNIO's `PostgresPreparedStatement`), with the `?`s numbered `$1…$n`;
/// - SQLite binds the same text on every call: sqlite-nio 1.13 prepares and finalises each statement and keeps no
///   handle to reuse (measured: parsing is under 2 % of a rotation's instructions).
///
/// Selects name their columns (never `*`), so a column added by a later migration cannot change the result type of a
/// statement another node has prepared.
public protocol HotStatement: Sendable {
    /// The SQL with one `?` per bind parameter and no other `?`.
    static var sql: String { get }
    /// ``sql`` with the placeholders numbered for PostgreSQL (`HotSQL.numbered(sql)`), computed once per type.
    static var postgresSQL: String { get }
    /// The bind values, in placeholder order.
    var binds: [HotValue] { get }
}

/// A bind value of a ``HotStatement``: the three kinds the store keeps.
public enum HotValue: Sendable, Equatable {
    case text(String)
    case integer(Int64)
    case null

    public init(_ value: String) { self = .text(value) }
    public init(_ value: Int64?) { self = value.map(HotValue.integer) ?? .null }
}

enum HotSQL {
    /// `?` → `$1`, `$2`, … (PostgreSQL's placeholders), in order.
    static func numbered(_ sql: String) -> String {
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var index = 0
        for character in sql {
            if character == "?" {
                index += 1
                out += "$\(index)"
            } else {
                out.append(character)
            }
        }
        return out
    }
}

/// Runs ``HotStatement``s on one connection an engine lent (``SQLEngine/withHotStatements(writes:_:)``).
public protocol HotStatementRunner: Sendable {
    /// Runs `statement` and returns its rows.
    func run<S: HotStatement>(_ statement: S) async throws -> [any SQLRow]
}

/// The SQLKit runner (SQLite): the text is split at its `?`s and bound as SQLKit binds.
struct SQLHotStatementRunner: HotStatementRunner {
    let db: any SQLDatabase

    func run<S: HotStatement>(_ statement: S) async throws -> [any SQLRow] {
        let pieces = S.sql.split(separator: "?", omittingEmptySubsequences: false)
        let binds = statement.binds
        precondition(pieces.count == binds.count + 1, "\(S.self): \(pieces.count - 1) placeholders for \(binds.count) binds")
        var query = SQLQueryString("")
        for (index, piece) in pieces.enumerated() {
            query += "\(unsafeRaw: String(piece))"
            guard index < binds.count else { continue }
            switch binds[index] {
            case .text(let value): query += "\(bind: value)"
            case .integer(let value): query += "\(bind: value)"
            case .null: query += "\(bind: Int64?.none)"
            }
        }
        return try await db.raw(query).all()
    }
}

/// The PostgreSQL runner: a named prepared statement per ``HotStatement`` type and connection.
struct PostgresHotStatementRunner: HotStatementRunner {
    let connection: PostgresConnection
    let logger: Logger

    func run<S: HotStatement>(_ statement: S) async throws -> [any SQLRow] {
        var rows: [any SQLRow] = []
        for try await row in try await connection.execute(PreparedHotStatement(statement: statement), logger: logger) {
            rows.append(row.sql())
        }
        return rows
    }
}

/// A ``HotStatement`` as PostgresNIO's prepared statement: prepared on a connection the first time it runs there.
struct PreparedHotStatement<S: HotStatement>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { "tessera_" + String(describing: S.self) }
    static var sql: String { S.postgresSQL }
    let statement: S

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: statement.binds.count)
        for value in statement.binds {
            switch value {
            case .text(let text): bindings.append(text)
            case .integer(let integer): bindings.append(integer)
            case .null: bindings.appendNull()
            }
        }
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> PostgresRow { row }
}

// MARK: The hot statements

/// The columns ``SQLStore/decodeClient(_:)`` reads.
private let clientColumns = """
    id, name, secret_digest, auth_method, grant_types, scopes, redirect_uris, require_consent, created_at, secret_expires_at, \
    resources, registration_token_digest, id_token_alg, allow_password_grant_with_mfa, registered_anonymously, jwks, jwks_uri, \
    refresh_grace_period, application_type
    """
/// The columns ``SQLStore/decodeRefreshToken(_:)`` reads, in the order ``InsertRefreshToken`` binds them.
private let refreshTokenColumns = """
    id, token_digest, family_id, client_id, subject, scopes, audience, issued_at, expires_at, family_expires_at, auth_time, \
    rotated_at, revoked_at
    """

struct ClientByID: HotStatement {
    static let sql = "SELECT \(clientColumns) FROM clients WHERE id = ?"
    static let postgresSQL = HotSQL.numbered(sql)
    let id: String
    var binds: [HotValue] { [HotValue(id)] }
}

struct UserByID: HotStatement {
    static let sql = "SELECT id, username, password_hash, scopes, disabled, created_at FROM users WHERE id = ?"
    static let postgresSQL = HotSQL.numbered(sql)
    let id: String
    var binds: [HotValue] { [HotValue(id)] }
}

struct RefreshTokenByDigest: HotStatement {
    static let sql = "SELECT \(refreshTokenColumns) FROM refresh_tokens WHERE token_digest = ?"
    static let postgresSQL = HotSQL.numbered(sql)
    let digest: String
    var binds: [HotValue] { [HotValue(digest)] }
}

struct InsertRefreshToken: HotStatement {
    static let sql = "INSERT INTO refresh_tokens (\(refreshTokenColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    static let postgresSQL = HotSQL.numbered(sql)
    let token: RefreshTokenRecord
    var binds: [HotValue] {
        [HotValue(token.id), HotValue(token.tokenDigest.hex), HotValue(token.familyID), HotValue(token.clientID), HotValue(token.subject),
         HotValue(token.scopes.description), HotValue(token.audience.joined(separator: " ")), HotValue(token.issuedAt.millis),
         HotValue(token.expiresAt.millis), HotValue(token.familyExpiresAt.millis), HotValue(token.authTime?.millis),
         HotValue(token.rotatedAt?.millis), HotValue(token.revokedAt?.millis)]
    }
}

/// The atomic step of a rotation: only one statement can move `rotated_at` off NULL.
struct ClaimRefreshToken: HotStatement {
    static let sql = "UPDATE refresh_tokens SET rotated_at = ? WHERE token_digest = ? AND rotated_at IS NULL AND revoked_at IS NULL RETURNING id"
    static let postgresSQL = HotSQL.numbered(sql)
    let digest: String
    let at: Int64
    var binds: [HotValue] { [.integer(at), HotValue(digest)] }
}

/// Counts one reuse of a rotated token within the grace window, only while the window and the reuse budget last.
struct ClaimRefreshTokenGraceUse: HotStatement {
    static let sql = """
        UPDATE refresh_tokens SET grace_uses = COALESCE(grace_uses, 0) + 1 \
        WHERE token_digest = ? AND rotated_at IS NOT NULL AND rotated_at >= ? AND revoked_at IS NULL AND COALESCE(grace_uses, 0) < ? \
        RETURNING id
        """
    static let postgresSQL = HotSQL.numbered(sql)
    let digest: String
    let rotatedSince: Int64
    let maximumReuses: Int
    var binds: [HotValue] { [HotValue(digest), .integer(rotatedSince), .integer(Int64(maximumReuses))] }
}

struct DeleteRefreshToken: HotStatement {
    static let sql = "DELETE FROM refresh_tokens WHERE id = ?"
    static let postgresSQL = HotSQL.numbered(sql)
    let id: String
    var binds: [HotValue] { [HotValue(id)] }
}
