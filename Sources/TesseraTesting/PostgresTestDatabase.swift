import Foundation
import Logging
import SQLKit
import TesseraCore
public import TesseraStore

/// Creates a throw-away PostgreSQL database per test on a real server.
public enum PostgresTestDatabase {
    /// Creates a new database next to the one `adminURL` names, runs `body` with a migrated store on it,
    /// then drops it.
    public static func withFreshDatabase(adminURL: String, _ body: @escaping @Sendable (SQLStore) async throws -> Void) async throws {
        let name = "tessera_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await withRunningStore(url: adminURL) { admin in
            try await admin.engine.withDatabase { db in try await db.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
        }
        var components = URLComponents(string: adminURL)!
        components.path = "/" + name
        do {
            try await withRunningStore(url: components.string!) { store in
                try await store.migrate()
                try await body(store)
            }
        } catch {
            try? await drop(name, adminURL: adminURL)
            throw error
        }
        try await drop(name, adminURL: adminURL)
    }

    private static func drop(_ name: String, adminURL: String) async throws {
        try await withRunningStore(url: adminURL) { admin in
            try await admin.engine.withDatabase { db in try await db.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
        }
    }

    /// Opens a PostgreSQL store and runs its connection pool for the duration of `body`.
    public static func withRunningStore(url: String, poolSize: Int = 8, _ body: @escaping @Sendable (SQLStore) async throws -> Void) async throws {
        var logger = Logger(label: "tessera.test.postgres")
        logger.logLevel = .critical
        let store = try await SQLStore.open(.postgres(url: url), poolSize: poolSize, logger: logger)
        guard let engine = store.engine as? PostgresEngine else { return }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await engine.run() }
            defer { group.cancelAll() }
            try await body(store)
        }
    }
}
