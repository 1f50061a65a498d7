import Foundation
public import Logging
import Synchronization
public import PostgresKit
public import SQLKit
import SQLiteKit
import TesseraCore

/// A database engine behind SQLKit: hands out connections and transactions. The store's queries are
/// written once against `SQLDatabase` and run unchanged on either engine.
public protocol SQLEngine: Sendable {
    /// `sqlite` or `postgresql`.
    var name: String { get }
    /// Runs `body` with a connection from the pool, for reads.
    func withDatabase<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R
    /// Runs `body` with a connection that may write (single statements, no transaction).
    func withWriter<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R
    /// Runs `body` in a transaction that commits when it returns and rolls back when it throws.
    func withTransaction<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R
    /// Closes every connection.
    func shutdown() async
    /// Drops every ``cached(key:shouldCache:_:)`` result. The store calls it after each write to a
    /// table whose rows it reads through the cache (clients, users); other writes leave the cache alone.
    func invalidateCachedReads()
    /// Runs `body` with a runner for ``HotStatement``s on one connection (the writer when `writes`, on SQLite).
    func withHotStatements<R: Sendable>(writes: Bool, _ body: @escaping @Sendable (any HotStatementRunner) async throws -> R) async throws -> R
    /// Runs `load` (which takes its own connection, e.g. a hot statement) through the engine's short-lived read
    /// cache, if it has one (see ``SQLiteEngine``); engines without one just run it. Only results for which
    /// `shouldCache` holds are kept.
    func cached<R: Sendable>(key: String, shouldCache: @escaping @Sendable (R) -> Bool,
                             _ load: @escaping @Sendable () async throws -> R) async throws -> R
}

extension SQLEngine {
    public func invalidateCachedReads() {}

    public func cached<R: Sendable>(key: String, shouldCache: @escaping @Sendable (R) -> Bool,
                                    _ load: @escaping @Sendable () async throws -> R) async throws -> R {
        try await load()
    }
}

/// A small cache of read results for a single-node engine, invalidated by every local write to a cached table.
///
/// An entry is used only while no such write has completed through this engine since it was read (a
/// generation counter, bumped by ``SQLEngine/invalidateCachedReads()``), and for at most `maximumAge`
/// (monotonic time): the bound for writes made by *another process* on the same file, such as the
/// `tessera` CLI. Bounded to `capacity` entries (cleared when full).
final class ReadCache: Sendable {
    private struct Entry {
        let value: any Sendable
        let generation: UInt64
        let readAt: ContinuousClock.Instant
    }

    private struct State {
        var generation: UInt64 = 0
        var entries: [String: Entry] = [:]
    }

    let capacity: Int
    let maximumAge: Duration
    private let state = Mutex(State())

    init(capacity: Int = 1024, maximumAge: Duration = .seconds(1)) {
        self.capacity = capacity
        self.maximumAge = maximumAge
    }

    /// The write generation now; capture it *before* reading.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Invalidates every entry (a write completed).
    func bump() {
        state.withLock { $0.generation &+= 1 }
    }

    func value<R: Sendable>(_ key: String, as type: R.Type) -> R? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard entry.generation == state.generation, now - entry.readAt < maximumAge, let value = entry.value as? R else {
                state.entries[key] = nil
                return nil
            }
            return value
        }
    }

    func store(_ value: some Sendable, for key: String, generation: UInt64) {
        let now = ContinuousClock.now
        state.withLock { state in
            guard generation == state.generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll() }
            state.entries[key] = Entry(value: value, generation: generation, readAt: now)
        }
    }
}

/// Where the database lives, parsed from `--database` / `TESSERA_DATABASE`.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    /// A `postgres://` or `postgresql://` URL selects PostgreSQL; anything else is a SQLite file path
    /// (`sqlite://path` and `:memory:`-style paths included).
    public init(_ value: String) {
        if value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") {
            self = .postgres(url: value)
        } else if value.hasPrefix("sqlite://") {
            self = .sqlite(path: String(value.dropFirst("sqlite://".count)))
        } else {
            self = .sqlite(path: value)
        }
    }

    /// The location without credentials, safe to log.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let url):
            guard var components = URLComponents(string: url) else { return "postgres:(unparseable url)" }
            if components.password != nil { components.password = "***" }
            return components.string ?? "postgres"
        }
    }
}

/// Leases a fixed set of connections to one task at a time.
actor ConnectionLeases<Connection: Sendable> {
    private var idle: [Connection]
    private var waiters: [CheckedContinuation<Connection, Never>] = []

    init(_ connections: [Connection]) { self.idle = connections }

    func acquire() async -> Connection {
        if let connection = idle.popLast() { return connection }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func release(_ connection: Connection) {
        if waiters.isEmpty { idle.append(connection) } else { waiters.removeFirst().resume(returning: connection) }
    }

    func drain() -> [Connection] {
        defer { idle = [] }
        return idle
    }
}

/// SQLite through sqlite-nio: one file in WAL mode, read by a few connections and written by one.
///
/// SQLite admits one writer at a time. Funnelling this process's writes through a single connection
/// queues them in Swift instead of busy-waiting inside SQLite, which would park sqlite-nio's
/// blocking threads while the lock holder waits for one. `busy_timeout` still covers other processes
/// (the CLI) writing the same file. Atomic writes run in `BEGIN IMMEDIATE` transactions.
///
/// SQLite is the single-node store, so ``cached(key:shouldCache:_:)`` keeps hot rows (clients, users) in a
/// ``ReadCache``: dropped by any write to those tables through this node's store, and at most 1 second
/// old, which bounds how late a change made by another process (the CLI) is seen. Writes to other
/// tables (refresh tokens, audit events) leave it intact, so a refresh or token load still hits it.
/// PostgreSQL (clusters) has no such cache.
public final class SQLiteEngine: SQLEngine {
    public let name = "sqlite"
    private let readers: ConnectionLeases<SQLiteConnection>
    private let writer: ConnectionLeases<SQLiteConnection>
    private let logger: Logger
    private let readCache = ReadCache()

    /// Opens (creating if needed) the database file.
    public static func open(path: String, connections: Int = 4, logger: Logger = Logger(label: "tessera.sqlite")) async throws -> SQLiteEngine {
        var opened: [SQLiteConnection] = []
        for _ in 0..<max(2, connections) {
            let connection = try await SQLiteConnection.open(storage: .file(path: path), logger: logger)
            for pragma in ["PRAGMA busy_timeout = 10000", "PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON"] {
                _ = try await connection.query(pragma)
            }
            opened.append(connection)
        }
        return SQLiteEngine(connections: opened, logger: logger)
    }

    private init(connections: [SQLiteConnection], logger: Logger) {
        self.writer = ConnectionLeases([connections[0]])
        self.readers = ConnectionLeases(Array(connections.dropFirst()))
        self.logger = logger
    }

    private func lease<R: Sendable>(_ leases: ConnectionLeases<SQLiteConnection>, _ body: @Sendable (SQLiteConnection) async throws -> R) async throws -> R {
        let connection = await leases.acquire()
        do {
            let result = try await body(connection)
            await leases.release(connection)
            return result
        } catch {
            await leases.release(connection)
            throw error
        }
    }

    public func withDatabase<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await lease(readers) { try await body($0.sql(queryLogLevel: nil)) }
    }

    public func withWriter<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await lease(writer) { try await body($0.sql(queryLogLevel: nil)) }
    }

    public func cached<R: Sendable>(key: String, shouldCache: @escaping @Sendable (R) -> Bool,
                                    _ load: @escaping @Sendable () async throws -> R) async throws -> R {
        if let cached = readCache.value(key, as: R.self) { return cached }
        let generation = readCache.generation
        let value = try await load()
        if shouldCache(value) { readCache.store(value, for: key, generation: generation) }
        return value
    }

    public func withHotStatements<R: Sendable>(writes: Bool, _ body: @escaping @Sendable (any HotStatementRunner) async throws -> R) async throws -> R {
        try await lease(writes ? writer : readers) { try await body(SQLHotStatementRunner(db: $0.sql(queryLogLevel: nil))) }
    }

    public func invalidateCachedReads() {
        readCache.bump()
    }

    public func withTransaction<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await lease(writer) { connection in
            let db = connection.sql(queryLogLevel: nil)
            try await db.raw("BEGIN IMMEDIATE").run()
            do {
                let result = try await body(db)
                try await db.raw("COMMIT").run()
                return result
            } catch {
                try? await db.raw("ROLLBACK").run()
                throw error
            }
        }
    }

    public func shutdown() async {
        for connection in await readers.drain() + writer.drain() { try? await connection.close() }
    }
}

/// PostgreSQL through postgres-nio's `PostgresClient` (a pooled client that must be running; see `run()`).
public final class PostgresEngine: SQLEngine {
    public let name = "postgresql"
    public let client: PostgresClient
    private let logger: Logger
    /// How long one database operation may take before the request fails with 503.
    public let operationTimeout: Duration

    /// - Parameters:
    ///   - url: `postgres://user:pass@host:port/db?sslmode=require|prefer|disable`.
    ///   - poolSize: maximum connections per node.
    public init(url: String, poolSize: Int = 10, operationTimeout: Duration = .seconds(5), logger: Logger = Logger(label: "tessera.postgres")) throws {
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user else {
            throw StoreError(.unavailable, "The PostgreSQL URL must look like postgres://user:password@host:port/database.")
        }
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        case "prefer": tls = .prefer(.makeClientConfiguration())
        default: tls = .disable
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: String(components.path.dropFirst()).nilIfEmpty, tls: tls)
        configuration.options.maximumConnections = max(1, poolSize)
        configuration.options.connectTimeout = .seconds(3)
        // The pool logs every failed connection attempt at info; keep its background chatter to warnings.
        var background = logger
        background.logLevel = max(logger.logLevel, .warning)
        self.client = PostgresClient(configuration: configuration, backgroundLogger: background)
        self.logger = logger
        self.operationTimeout = operationTimeout
    }

    /// Runs the connection pool until the task is cancelled. Must run for queries to be served.
    public func run() async {
        await client.run()
    }

    public func withDatabase<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await bounded { try await self.client.withConnection { try await body($0.sql(queryLogLevel: nil)) } }
    }

    public func withWriter<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await withDatabase(body)
    }

    public func withHotStatements<R: Sendable>(writes: Bool, _ body: @escaping @Sendable (any HotStatementRunner) async throws -> R) async throws -> R {
        let logger = self.logger
        return try await bounded { try await self.client.withConnection { try await body(PostgresHotStatementRunner(connection: $0, logger: logger)) } }
    }

    public func withTransaction<R: Sendable>(_ body: @escaping @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await bounded {
            do {
                return try await self.client.withTransaction(logger: self.logger) { try await body($0.sql(queryLogLevel: nil)) }
            } catch let error as PostgresTransactionError {
                // The body's own error wins; otherwise BEGIN/COMMIT/ROLLBACK failed and nothing was committed.
                throw error.closureError ?? error.beginError ?? error.commitError ?? StoreError(.unavailable, "PostgreSQL transaction failed.")
            }
        }
    }

    /// Runs one operation with a deadline and maps connection trouble to `StoreError.unavailable`
    /// (503 `temporarily_unavailable`), so a database outage fails requests fast instead of
    /// holding them; the pool reconnects on its own once the server is back.
    private func bounded<R: Sendable>(_ operation: @escaping @Sendable () async throws -> R) async throws -> R {
        let timeout = operationTimeout
        do {
            return try await withThrowingTaskGroup(of: R.self) { group in
                group.addTask { try await operation() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw StoreError(.unavailable, "PostgreSQL did not answer within \(timeout).")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } catch let error as PSQLError where Self.isConnectionFailure(error) {
            throw StoreError(.unavailable, "PostgreSQL is unreachable (\(error.code)).")
        }
    }

    /// Connection-level failures, and server errors of SQLSTATE class 08 (connection exception) or
    /// 57 (operator intervention: shutdown, restart).
    static func isConnectionFailure(_ error: PSQLError) -> Bool {
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .poolClosed, .uncleanShutdown, .queryCancelled:
            return true
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57")
        default:
            return false
        }
    }

    public func shutdown() async {}
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
