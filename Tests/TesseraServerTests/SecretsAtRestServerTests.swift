import Foundation
import HTTPTypes
import SQLKit
import TesseraCore
import TesseraServer
import TesseraStore
import TesseraTesting
import Testing

@Suite("Secrets at rest: configuration, start-up and the SQL rows")
struct SecretsAtRestServerTests {
    func temporaryDatabase() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("tessera-kek-\(UUID().uuidString).sqlite").path
    }

    func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm", ".kek"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }

    /// The raw text values of `column` in `table`, read with SQL (not through the store's decoding).
    func rawColumn(_ store: SQLStore, _ table: String, _ column: String) async throws -> [String] {
        try await store.engine.withDatabase { db in
            try await db.raw("SELECT \(ident: column) AS v FROM \(ident: table)").all().map { try $0.decode(column: "v", as: String.self) }
        }
    }

    @Test("the SQLite rows hold sealed envelopes: no PEM, no TOTP secret; another KEK refuses to start with one line")
    func sqliteRowsAreSealed() async throws {
        let path = temporaryDatabase()
        defer { removeDatabase(path) }
        var configuration = TesseraConfiguration()
        configuration.database = path
        configuration.bcryptCost = 4
        configuration.keyEncryptionKeys = [KeyEncryption.newEncodedKey()]
        let store = try await SQLStore.open(.sqlite(path: path))
        try await store.migrate()
        let runtime = try await TesseraRuntime.make(configuration: configuration, storage: store, keyEncryption: try configuration.configuredKeyEncryption())
        let user = try await Provisioning(storage: store, passwords: runtime.services.passwords).addUser(username: "alice", password: "wonderland-1", scopes: ["read"])
        let setup = try await runtime.mfa.beginEnrollment(user: user)

        let pems = try await rawColumn(store, "signing_keys", "private_key_pem")
        #expect(pems.count == 2)
        for pem in pems { #expect(pem.hasPrefix("tessera-kek:v1:") && !pem.contains("BEGIN") && !pem.contains("PRIVATE KEY")) }
        let secrets = try await rawColumn(store, "mfa_totp", "secret")
        let plaintext = try #require(try await store.mfaEnrollment(userID: user.id)).plaintextSecret(runtime.keyEncryption)
        #expect(secrets.count == 1 && secrets[0].hasPrefix("tessera-kek:v1:"))
        #expect(!secrets[0].contains(plaintext) && !secrets[0].contains(setup.secret))

        var stranger = configuration
        stranger.keyEncryptionKeys = [KeyEncryption.newEncodedKey()]
        do {
            _ = try await TesseraRuntime.make(configuration: stranger, storage: store)
            Issue.record("a node with another KEK started")
        } catch let error as TesseraConfiguration.Invalid {
            #expect(!error.description.contains("\n"))
            #expect(error.description.contains("not configured") && error.description.contains("TESSERA_KEY_ENCRYPTION_KEYS"), "\(error)")
        }
        await store.shutdown()
    }

    @Test("TESSERA_KEY_ENCRYPTION_KEYS: comma-separated, validated, the first seals; never a literal in the config file")
    func configuration() throws {
        let (a, b) = (KeyEncryption.newEncodedKey(), KeyEncryption.newEncodedKey())
        var configuration = TesseraConfiguration()
        try configuration.apply(environment: ["TESSERA_KEY_ENCRYPTION_KEYS": "\(a), \(b)"])
        #expect(configuration.keyEncryptionKeys == [a, b])
        let kek = try #require(try configuration.configuredKeyEncryption())
        let primary = try KeyEncryption(encodedKeys: [a])
        #expect(kek.keys.count == 2 && kek.primaryKeyID == primary.primaryKeyID)

        var bad = TesseraConfiguration()
        try bad.apply(environment: ["TESSERA_KEY_ENCRYPTION_KEYS": "c2hvcnQ="])
        #expect(throws: TesseraConfiguration.Invalid.self) { try bad.validate() }

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try Data(#"{"keyEncryptionKeys": "\#(a)"}"#.utf8).write(to: URL(fileURLWithPath: file))
        var fromFile = TesseraConfiguration()
        do {
            try fromFile.apply(configFile: file, environment: [:])
            Issue.record("a literal key in the config file was accepted")
        } catch {
            #expect("\(error)".contains("keyEncryptionKeys is not allowed in the config file"))
        }
    }

    @Test("the key file must be private; SQLite without a KEK gets <database>.kek (0600, reused); PostgreSQL refuses")
    func resolution() throws {
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).keys").path
        defer { try? FileManager.default.removeItem(atPath: keyFile) }
        let key = KeyEncryption.newEncodedKey()
        FileManager.default.createFile(atPath: keyFile, contents: Data("# rotation: new first\n\(key)\n".utf8), attributes: [.posixPermissions: 0o644])
        var configuration = TesseraConfiguration()
        configuration.keyEncryptionKeyFile = keyFile
        #expect(throws: TesseraConfiguration.Invalid.self) { _ = try configuration.configuredKeyEncryption() }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyFile)
        #expect(try configuration.configuredKeyEncryption()?.primaryKeyID == (try KeyEncryption(encodedKeys: [key])).primaryKeyID)

        let path = temporaryDatabase()
        defer { removeDatabase(path) }
        var sqlite = TesseraConfiguration()
        sqlite.database = path
        let (first, source) = try sqlite.resolveKeyEncryption()
        #expect(source == .generatedFile(path: path + ".kek", created: true))
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path + ".kek")[.posixPermissions] as? NSNumber).intValue
        #expect(mode == 0o600)
        let (again, sourceAgain) = try sqlite.resolveKeyEncryption()
        #expect(again.primaryKeyID == first.primaryKeyID && sourceAgain == .generatedFile(path: path + ".kek", created: false))

        var postgres = TesseraConfiguration()
        postgres.database = "postgres://tessera@127.0.0.1/db"
        do {
            _ = try postgres.resolveKeyEncryption()
            Issue.record("PostgreSQL without a KEK was accepted")
        } catch {
            #expect("\(error)".contains("TESSERA_KEY_ENCRYPTION_KEYS") && !"\(error)".contains("\n"))
        }
    }

    @Test("doctor: a missing KEK is an error off loopback (info on it); plaintext secrets are a warning naming keys rewrap")
    func doctor() {
        var configuration = TesseraConfiguration()
        let reference = "OWASP Cryptographic Storage"
        let local = Doctor.check(Doctor.Input(configuration: configuration, clients: [], keys: [], now: Date()))
        #expect(local.contains { $0.reference == reference && $0.severity == .info })
        #expect(!local.contains { $0.reference == reference && $0.severity != .info })
        configuration.issuer = "https://auth.example.com"
        let remote = Doctor.check(Doctor.Input(configuration: configuration, clients: [], keys: [], now: Date()))
        #expect(remote.contains { $0.reference == reference && $0.severity == .error && $0.message.contains("TESSERA_KEY_ENCRYPTION_KEYS") })

        configuration.keyEncryptionKeys = [KeyEncryption.newEncodedKey()]
        var input = Doctor.Input(configuration: configuration, clients: [], keys: [], now: Date())
        var inventory = SecretsAtRest.Inventory()
        inventory.plaintext = 2
        inventory.current = 1
        input.secretsAtRest = inventory
        let legacy = Doctor.check(input)
        #expect(!legacy.contains { $0.reference == reference && $0.severity == .error })
        #expect(legacy.contains { $0.reference == reference && $0.severity == .warning && $0.message.contains("`tessera keys rewrap`") })
        inventory.plaintext = 0
        inventory.unreadable = ["totp:u-1": "0badc0de"]
        input.secretsAtRest = inventory
        #expect(Doctor.check(input).contains { $0.reference == reference && $0.severity == .error && $0.message.contains("0badc0de") })
    }
}
