public import Foundation
public import Logging
import SQLKit
public import TesseraCore

/// The one SQL implementation of Tessera's store protocols, for SQLite and PostgreSQL alike.
public final class SQLStore: TesseraStorage {
    public let engine: any SQLEngine

    public init(engine: any SQLEngine) {
        self.engine = engine
    }

    /// Opens the database at `location` (creating a SQLite file if needed). Call `migrate()` next.
    public static func open(_ location: DatabaseLocation, poolSize: Int = 10, operationTimeout: Duration = .seconds(5),
                            logger: Logger = Logger(label: "tessera.store")) async throws -> SQLStore {
        switch location {
        case .sqlite(let path):
            return SQLStore(engine: try await SQLiteEngine.open(path: path, connections: min(poolSize, 8), logger: logger))
        case .postgres(let url):
            return SQLStore(engine: try PostgresEngine(url: url, poolSize: poolSize, operationTimeout: operationTimeout, logger: logger))
        }
    }

    // MARK: Migrations

    /// Applies every migration not yet applied. Returns the versions applied now.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await engine.withTransaction { db in
            // Nodes starting together on a new database migrate one after the other: SQLite's BEGIN IMMEDIATE
            // already serialises; on PostgreSQL concurrent CREATE TABLEs would fail, so take a transaction-scoped
            // advisory lock first (released at COMMIT; the next node then sees every version applied).
            if db.dialect.name == "postgresql" {
                try await db.raw("SELECT pg_advisory_xact_lock(7365726173)").run()
            }
            try await db.create(table: "tessera_migrations").ifNotExists()
                .column("version", type: .bigint, .primaryKey(autoIncrement: false))
                .column("name", type: .text, .notNull)
                .column("applied_at", type: .bigint, .notNull)
                .run()
            let applied = Set(try await db.select().column("version").from("tessera_migrations").all()
                .map { try $0.decode(column: "version", as: Int.self) })
            var newlyApplied: [Int] = []
            for migration in Schema.migrations.sorted(by: { $0.version < $1.version }) where !applied.contains(migration.version) {
                try await migration.apply(db)
                try await db.insert(into: "tessera_migrations")
                    .columns("version", "name", "applied_at")
                    .values(SQLBind(migration.version), SQLBind(migration.name), SQLBind(Date().millis))
                    .run()
                newlyApplied.append(migration.version)
            }
            return newlyApplied
        }
    }

    /// The schema version of the database (0 for an empty one).
    public func schemaVersion() async throws -> Int {
        try await engine.withDatabase { db in
            do {
                let rows = try await db.select().column(SQLFunction("MAX", args: SQLColumn("version")), as: "v").from("tessera_migrations").all()
                return try rows.first?.decodeNil(column: "v") == false ? try rows[0].decode(column: "v", as: Int.self) : 0
            } catch {
                return 0
            }
        }
    }

    /// Whether the database answers a trivial query.
    public func ping() async throws {
        try await engine.withDatabase { db in _ = try await db.raw("SELECT 1 AS one").all() }
    }

    public func shutdown() async { await engine.shutdown() }

    // MARK: Clients

    public func client(id: String) async throws -> Client? {
        // Found clients are cached briefly on SQLite, dropped by any local client write (SQLEngine.cached).
        try await engine.cached(key: "client:" + id, shouldCache: { $0 != nil }) { [engine] in
            try await engine.withHotStatements(writes: false) { try await $0.run(ClientByID(id: id)).first.map(Self.decodeClient) }
        }
    }

    public func insertClient(_ client: Client) async throws {
        defer { engine.invalidateCachedReads() }
        try await engine.withWriter { db in
            if try await db.select().column("id").from("clients").where("id", .equal, client.id).first() != nil {
                throw StoreError(.conflict, "A client with this id already exists.")
            }
            try await db.insert(into: "clients")
                .columns("id", "name", "secret_digest", "auth_method", "grant_types", "scopes", "redirect_uris", "require_consent", "created_at", "secret_expires_at",
                         "resources", "registration_token_digest", "id_token_alg", "allow_password_grant_with_mfa", "registered_anonymously",
                         "jwks", "jwks_uri", "refresh_grace_period", "application_type")
                .values(SQLBind(client.id), SQLBind(client.name), SQLBind(client.secretDigest?.hex), SQLBind(client.authMethod.rawValue),
                        SQLBind(client.grantTypes.map(\.rawValue).sorted().joined(separator: " ")), SQLBind(client.allowedScopes.description),
                        SQLBind(try Self.json(client.redirectURIs)), SQLBind(client.requireConsent ? 1 : 0), SQLBind(client.createdAt.millis),
                        SQLBind(client.secretExpiresAt?.millis), SQLBind(try Self.json(client.resources)), SQLBind(client.registrationTokenDigest?.hex),
                        SQLBind(client.idTokenAlgorithm.rawValue), SQLBind(client.allowPasswordGrantWithMFA ? 1 : 0),
                        SQLBind(client.registeredAnonymously ? 1 : 0), SQLBind(client.jwks), SQLBind(client.jwksURI),
                        SQLBind(client.refreshGracePeriod), SQLBind(client.applicationType.rawValue))
                .run()
        }
    }

    public func listClients() async throws -> [Client] {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("clients").orderBy("created_at").all().map(Self.decodeClient)
        }
    }

    public func deleteClient(id: String) async throws -> Bool {
        defer { engine.invalidateCachedReads() }
        return try await engine.withTransaction { db in
            // Everything issued to or remembered for the client goes with it.
            for table in ["refresh_tokens", "authorization_codes", "consents"] {
                try await db.delete(from: table).where("client_id", .equal, id).run()
            }
            return !(try await db.delete(from: "clients").where("id", .equal, id).returning("id").all().isEmpty)
        }
    }

    static func decodeClient(_ row: any SQLRow) throws -> Client {
        let redirectJSON = try row.decode(column: "redirect_uris", as: String.self)
        var client = Client(
            id: try row.decode(column: "id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            secretDigest: try row.decode(column: "secret_digest", as: String?.self).flatMap(Data.init(hex:)),
            authMethod: ClientAuthMethod(rawValue: try row.decode(column: "auth_method", as: String.self)) ?? .clientSecretBasic,
            grantTypes: Set(try row.decode(column: "grant_types", as: String.self).split(separator: " ").map { GrantType(rawValue: String($0)) }),
            allowedScopes: ScopeSet(try row.decode(column: "scopes", as: String.self).split(separator: " ").map(String.init)),
            redirectURIs: try JSONDecoder().decode([String].self, from: Data(redirectJSON.utf8)),
            requireConsent: try row.decode(column: "require_consent", as: Int.self) != 0,
            createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
            secretExpiresAt: try row.decode(column: "secret_expires_at", as: Int64?.self).map(Date.init(millis:)),
            resources: try row.decode(column: "resources", as: String?.self).map { try JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? [],
            registrationTokenDigest: try row.decode(column: "registration_token_digest", as: String?.self).flatMap(Data.init(hex:)))
        client.idTokenAlgorithm = try row.decode(column: "id_token_alg", as: String?.self).flatMap(SigningAlgorithm.init(rawValue:)) ?? .rs256
        client.allowPasswordGrantWithMFA = try row.decode(column: "allow_password_grant_with_mfa", as: Int?.self).map { $0 != 0 } ?? false
        client.registeredAnonymously = try row.decode(column: "registered_anonymously", as: Int?.self).map { $0 != 0 } ?? false
        client.jwks = try row.decode(column: "jwks", as: String?.self)
        client.jwksURI = try row.decode(column: "jwks_uri", as: String?.self)
        client.refreshGracePeriod = try row.decode(column: "refresh_grace_period", as: Int?.self)
        client.applicationType = try row.decode(column: "application_type", as: String?.self).flatMap(ApplicationType.init(rawValue:)) ?? .web
        return client
    }

    // MARK: Users

    public func user(username: Username) async throws -> User? {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("users").where("username", .equal, username.value).first().map(Self.decodeUser)
        }
    }

    public func user(id: String) async throws -> User? {
        // Cached like clients: the refresh grant reads the user (disabled?) on every rotation.
        try await engine.cached(key: "user:" + id, shouldCache: { $0 != nil }) { [engine] in
            try await engine.withHotStatements(writes: false) { try await $0.run(UserByID(id: id)).first.map(Self.decodeUser) }
        }
    }

    public func insertUser(_ user: User) async throws {
        defer { engine.invalidateCachedReads() }
        try await engine.withWriter { db in
            if try await db.select().column("id").from("users").where("username", .equal, user.username).first() != nil {
                throw StoreError(.conflict, "A user with this username already exists.")
            }
            try await db.insert(into: "users")
                .columns("id", "username", "password_hash", "scopes", "disabled", "created_at")
                .values(SQLBind(user.id), SQLBind(user.username), SQLBind(user.passwordHash), SQLBind(user.allowedScopes.description),
                        SQLBind(user.disabled ? 1 : 0), SQLBind(user.createdAt.millis))
                .run()
        }
    }

    public func listUsers() async throws -> [User] {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("users").orderBy("username").all().map(Self.decodeUser)
        }
    }

    public func updatePasswordHash(userID: String, hash: String) async throws {
        try await updateUser(userID) { $0.set("password_hash", to: hash) }
    }

    public func setDisabled(userID: String, disabled: Bool) async throws {
        try await updateUser(userID) { $0.set("disabled", to: disabled ? 1 : 0) }
    }

    private func updateUser(_ id: String, _ change: @escaping @Sendable (SQLUpdateBuilder) -> SQLUpdateBuilder) async throws {
        defer { engine.invalidateCachedReads() }
        try await engine.withWriter { db in
            let updated = try await change(db.update("users")).where("id", .equal, id).returning("id").all()
            if updated.isEmpty { throw StoreError(.notFound, "No such user.") }
        }
    }

    static func decodeUser(_ row: any SQLRow) throws -> User {
        User(id: try row.decode(column: "id", as: String.self),
             username: try row.decode(column: "username", as: String.self),
             passwordHash: try row.decode(column: "password_hash", as: String.self),
             allowedScopes: ScopeSet(try row.decode(column: "scopes", as: String.self).split(separator: " ").map(String.init)),
             disabled: try row.decode(column: "disabled", as: Int.self) != 0,
             createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)))
    }

    // MARK: Refresh tokens

    // The statements on the token endpoint's hot path (the refresh grant, client and user lookups) are
    // ``HotStatement``s (HotStatements.swift): SQL text written once, prepared once per connection on PostgreSQL,
    // bound without a builder on SQLite.

    public func insertRefreshToken(_ token: RefreshTokenRecord) async throws {
        try await engine.withWriter { db in try await Self.insertRefreshToken(token, into: db) }
    }

    /// The insert of a ``HotStatement``, here on a connection in the caller's transaction (code redemption).
    static func insertRefreshToken(_ token: RefreshTokenRecord, into db: any SQLDatabase) async throws {
        _ = try await SQLHotStatementRunner(db: db).run(InsertRefreshToken(token: token))
    }

    public func refreshToken(digest: Data) async throws -> RefreshTokenRecord? {
        try await engine.withHotStatements(writes: false) { try await $0.run(RefreshTokenByDigest(digest: digest.hex)).first.map(Self.decodeRefreshToken) }
    }

    /// Two statements, no transaction: the successor is inserted first, then the conditional `UPDATE`
    /// claims the presented token — the atomic step: only one statement can move `rotated_at` off NULL,
    /// on any number of connections or nodes. The loser deletes the successor it inserted. A successor
    /// row is therefore never missing for a won claim; one left behind by a crash between the two
    /// statements was never handed to anyone (its value is random and unsent) and expires unused. If
    /// the family is revoked between the two statements, the claim fails (`revoked_at` is set) and the
    /// successor is deleted, so revocation always wins.
    public func rotateRefreshToken(digest: Data, successor: RefreshTokenRecord, at date: Date) async throws -> Bool {
        try await engine.withHotStatements(writes: true) { statements in
            _ = try await statements.run(InsertRefreshToken(token: successor))
            let claimed = try await statements.run(ClaimRefreshToken(digest: digest.hex, at: date.millis))
            guard !claimed.isEmpty else {
                _ = try await statements.run(DeleteRefreshToken(id: successor.id))
                return false
            }
            return true
        }
    }

    public func rotateRefreshTokenWithinGrace(digest: Data, successor: RefreshTokenRecord, rotatedSince: Date, maximumReuses: Int) async throws -> Bool {
        try await engine.withHotStatements(writes: true) { statements in
            _ = try await statements.run(InsertRefreshToken(token: successor))
            let claimed = try await statements.run(ClaimRefreshTokenGraceUse(digest: digest.hex, rotatedSince: rotatedSince.millis,
                                                                             maximumReuses: maximumReuses))
            guard !claimed.isEmpty else {
                _ = try await statements.run(DeleteRefreshToken(id: successor.id))
                return false
            }
            return true
        }
    }

    public func revokeRefreshTokenFamily(familyID: String, at date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.update("refresh_tokens")
                .set("revoked_at", to: date.millis)
                .where("family_id", .equal, familyID)
                .where("revoked_at", .is, SQLLiteral.null)
                .returning("id")
                .all().count
        }
    }

    public func purgeExpiredRefreshTokens(before date: Date) async throws -> Int {
        try await engine.withWriter { db in
            try await db.delete(from: "refresh_tokens").where("family_expires_at", .lessThan, date.millis).returning("id").all().count
        }
    }

    static func decodeRefreshToken(_ row: any SQLRow) throws -> RefreshTokenRecord {
        RefreshTokenRecord(
            id: try row.decode(column: "id", as: String.self),
            tokenDigest: Data(hex: try row.decode(column: "token_digest", as: String.self)) ?? Data(),
            familyID: try row.decode(column: "family_id", as: String.self),
            clientID: try row.decode(column: "client_id", as: String.self),
            subject: try row.decode(column: "subject", as: String.self),
            scopes: ScopeSet(try row.decode(column: "scopes", as: String.self).split(separator: " ").map(String.init)),
            audience: try row.decode(column: "audience", as: String.self).split(separator: " ").map(String.init),
            issuedAt: Date(millis: try row.decode(column: "issued_at", as: Int64.self)),
            expiresAt: Date(millis: try row.decode(column: "expires_at", as: Int64.self)),
            familyExpiresAt: Date(millis: try row.decode(column: "family_expires_at", as: Int64.self)),
            authTime: try row.decode(column: "auth_time", as: Int64?.self).map(Date.init(millis:)),
            rotatedAt: try row.decode(column: "rotated_at", as: Int64?.self).map(Date.init(millis:)),
            revokedAt: try row.decode(column: "revoked_at", as: Int64?.self).map(Date.init(millis:)))
    }

    // MARK: Signing keys

    public func signingKeys() async throws -> [SigningKeyRecord] {
        try await engine.withDatabase { db in
            try await db.select().column("*").from("signing_keys").orderBy("created_at").all().map { row in
                SigningKeyRecord(
                    kid: try row.decode(column: "kid", as: String.self),
                    algorithm: SigningAlgorithm(rawValue: try row.decode(column: "algorithm", as: String.self)) ?? .es256,
                    privateKeyPEM: try row.decode(column: "private_key_pem", as: String.self),
                    createdAt: Date(millis: try row.decode(column: "created_at", as: Int64.self)),
                    activatesAt: Date(millis: try row.decode(column: "activates_at", as: Int64.self)),
                    retiredAt: try row.decode(column: "retired_at", as: Int64?.self).map(Date.init(millis:)))
            }
        }
    }

    public func insertSigningKey(_ key: SigningKeyRecord) async throws {
        try await engine.withWriter { db in
            try await db.insert(into: "signing_keys")
                .columns("kid", "algorithm", "private_key_pem", "created_at", "activates_at", "retired_at")
                .values(SQLBind(key.kid), SQLBind(key.algorithm.rawValue), SQLBind(key.privateKeyPEM), SQLBind(key.createdAt.millis),
                        SQLBind(key.activatesAt.millis), SQLBind(key.retiredAt?.millis))
                .run()
        }
    }

    public func insertSigningKeyIfNoneActive(_ key: SigningKeyRecord) async throws -> Bool {
        let algorithm = key.algorithm.rawValue
        return try await engine.withWriter { db in
            // One statement. On SQLite (one writer) the NOT EXISTS alone makes it atomic; on PostgreSQL two
            // READ COMMITTED inserts can both pass it, so the row carries `claim` = its algorithm and the unique
            // index on unretired claims (migration 14) turns the second into DO NOTHING (it waits for the first).
            try await !db.raw("""
                INSERT INTO signing_keys (kid, algorithm, private_key_pem, created_at, activates_at, claim)
                SELECT \(bind: key.kid), \(bind: algorithm), \(bind: key.privateKeyPEM), \(bind: key.createdAt.millis), \
                \(bind: key.activatesAt.millis), \(bind: algorithm)
                WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE algorithm = \(bind: algorithm) AND retired_at IS NULL)
                ON CONFLICT DO NOTHING RETURNING kid
                """).all().isEmpty
        }
    }

    public func retireSigningKey(kid: String, at date: Date) async throws {
        try await engine.withWriter { db in
            try await db.update("signing_keys").set("retired_at", to: date.millis).where("kid", .equal, kid)
                .where("retired_at", .is, SQLLiteral.null).run()
        }
    }

    public func deleteSigningKey(kid: String) async throws {
        try await engine.withWriter { db in try await db.delete(from: "signing_keys").where("kid", .equal, kid).run() }
    }

    public func replaceSigningKeyMaterial(kid: String, from old: String, to new: String) async throws -> Bool {
        try await engine.withWriter { db in
            // Compare-and-set on the stored value: two concurrent rewraps re-seal a key once.
            try await !db.update("signing_keys").set("private_key_pem", to: SQLBind(new))
                .where("kid", .equal, kid).where("private_key_pem", .equal, old)
                .returning("kid").all().isEmpty
        }
    }

    static func json(_ value: [String]) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }
}

extension Date {
    /// Milliseconds since 1970, the at-rest form of every timestamp.
    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
    init(millis: Int64) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
}

extension Data {
    /// Lowercase hex, the at-rest form of digests.
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    init?(hex: String) {
        let chars = Array(hex.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(chars.count / 2)
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x61...0x66: c - 0x61 + 10
            case 0x41...0x46: c - 0x41 + 10
            default: nil
            }
        }
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        self.init(bytes)
    }
}
