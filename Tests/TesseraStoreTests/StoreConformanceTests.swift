import Foundation
import TesseraCore
import TesseraStore
import TesseraTesting
import Testing

/// The stores under test. PostgreSQL joins when `TESSERA_TEST_POSTGRES_URL` names a server.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory, sqlite, postgres

    var testDescription: String { rawValue }

    static var available: [StoreKind] {
        postgresURL == nil ? [.memory, .sqlite] : [.memory, .sqlite, .postgres]
    }

    static var postgresURL: String? {
        ProcessInfo.processInfo.environment["TESSERA_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// Runs `body` with a fresh, empty, migrated store of the given kind.
func withFreshStore(_ kind: StoreKind, _ body: @escaping @Sendable (any TesseraStorage) async throws -> Void) async throws {
    switch kind {
    case .memory:
        try await body(MemoryStore())
    case .sqlite:
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let store = try await SQLStore.open(.sqlite(path: path))
        try await store.migrate()
        do { try await body(store) } catch { await store.shutdown(); throw error }
        await store.shutdown()
    case .postgres:
        try await PostgresTestDatabase.withFreshDatabase(adminURL: StoreKind.postgresURL!) { store in try await body(store) }
    }
}

@Suite("Store conformance")
struct StoreConformanceTests {
    @Test("every check on every store", arguments: StoreKind.available, StoreConformance.checks)
    func conformance(kind: StoreKind, check: StoreConformance.Check) async throws {
        try await withFreshStore(kind, check.run)
    }

    @Test("SQLite data survives a restart and migrations are idempotent")
    func sqliteSurvivesRestart() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let first = try await SQLStore.open(.sqlite(path: path))
        let applied = try await first.migrate()
        #expect(applied.first == 1 && applied == applied.sorted(), "every migration applies once, in order")
        try await first.insertUser(User(id: "u", username: "alice", passwordHash: "h", allowedScopes: ["read"], createdAt: Date(timeIntervalSince1970: 1_800_000_000)))
        await first.shutdown()

        let second = try await SQLStore.open(.sqlite(path: path))
        #expect(try await second.migrate() == [], "a migrated database is not migrated again")
        #expect(try await second.schemaVersion() == applied.last)
        #expect(try await second.user(username: "alice")?.id == "u")
        await second.shutdown()
    }

    @Test("database locations parse and never print passwords")
    func locations() {
        #expect(DatabaseLocation("./tessera.sqlite") == .sqlite(path: "./tessera.sqlite"))
        #expect(DatabaseLocation("sqlite:///tmp/x.db") == .sqlite(path: "/tmp/x.db"))
        #expect(DatabaseLocation("postgres://u:p@h:5/db") == .postgres(url: "postgres://u:p@h:5/db"))
        #expect(!DatabaseLocation("postgresql://u:secret@h/db").description.contains("secret"))
    }
}
