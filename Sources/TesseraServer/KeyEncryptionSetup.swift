#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
public import TesseraCore
import TesseraStore

/// Where a node's key-encryption keys come from (see `TesseraConfiguration.resolveKeyEncryption()`).
public enum KeyEncryptionSource: Sendable, Equatable {
    /// `TESSERA_KEY_ENCRYPTION_KEYS` and/or `TESSERA_KEY_ENCRYPTION_KEY_FILE`.
    case configured
    /// No key configured, SQLite: the key file next to the database, `created` on this start.
    case generatedFile(path: String, created: Bool)
    /// No key configured, an in-memory SQLite database: a key for this process only.
    case temporary
}

extension TesseraConfiguration {
    /// The configured key-encryption keys: `keyEncryptionKeys` first (the first of all seals), then the lines
    /// of `keyEncryptionKeyFile`. `nil` when none is configured. Never reads the database.
    public func configuredKeyEncryption() throws(Invalid) -> KeyEncryption? {
        var encoded = keyEncryptionKeys
        if let keyEncryptionKeyFile { encoded += try Self.readKeyFile(keyEncryptionKeyFile) }
        guard !encoded.isEmpty else { return nil }
        do { return try KeyEncryption(encodedKeys: encoded) } catch { throw Invalid("key-encryption keys: \(error)") }
    }

    /// The key-encryption keys of `serve` and of the commands that write secrets (`keys rotate`, `keys rewrap`):
    /// the configured ones; else, on SQLite, `<database>.kek` next to the database (made with a new key,
    /// mode 0600, when missing); on PostgreSQL none is made up — every node must be given the same key, so
    /// this fails naming the setting.
    public func resolveKeyEncryption() throws(Invalid) -> (KeyEncryption, KeyEncryptionSource) {
        if let configured = try configuredKeyEncryption() { return (configured, .configured) }
        switch DatabaseLocation(database) {
        case .postgres:
            throw Invalid("PostgreSQL needs a key-encryption key: set TESSERA_KEY_ENCRYPTION_KEYS (or TESSERA_KEY_ENCRYPTION_KEY_FILE) to the same key on every node, e.g. from `openssl rand -base64 32`")
        case .sqlite(let path):
            if path == ":memory:" || path.hasPrefix("file::memory:") || path.isEmpty { return (.generate(), .temporary) }
            let file = Self.keyFilePath(database: path)
            let created = try Self.createKeyFileIfMissing(file)
            let encoded = try Self.readKeyFile(file)
            do {
                return (try KeyEncryption(encodedKeys: encoded), .generatedFile(path: file, created: created))
            } catch {
                throw Invalid("key-encryption key file \(file): \(error)")
            }
        }
    }

    /// The keys that can be had without making one: the configured keys, else an existing `<database>.kek`
    /// (for `tessera doctor`).
    public func existingKeyEncryption() throws(Invalid) -> KeyEncryption? {
        if let configured = try configuredKeyEncryption() { return configured }
        guard case .sqlite(let path) = DatabaseLocation(database), FileManager.default.fileExists(atPath: Self.keyFilePath(database: path)) else { return nil }
        return try resolveKeyEncryption().0
    }

    /// Whether a key-encryption key is configured (rather than generated next to a SQLite database).
    public var hasConfiguredKeyEncryption: Bool { !keyEncryptionKeys.isEmpty || keyEncryptionKeyFile != nil }

    /// `<database>.kek`: the generated key file of a SQLite database.
    public static func keyFilePath(database path: String) -> String { path + ".kek" }

    /// The keys in a key file, one per line (blank lines and `#` comments skipped). The file must not be
    /// accessible to group or others, like an SSH private key.
    static func readKeyFile(_ path: String) throws(Invalid) -> [String] {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw Invalid("cannot read key-encryption key file \(path)")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
        guard mode & 0o077 == 0 else {
            throw Invalid("key-encryption key file \(path) is accessible to group or others (mode \(String(mode, radix: 8))); run `chmod 600 \(path)`")
        }
        let keys = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard !keys.isEmpty else { throw Invalid("key-encryption key file \(path) holds no key") }
        return keys
    }

    /// Creates `path` with one new key, mode 0600, unless it exists (`O_EXCL`: two processes starting at once
    /// end up with one file). Returns whether it was created.
    static func createKeyFileIfMissing(_ path: String) throws(Invalid) -> Bool {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw Invalid("cannot create key-encryption key file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let contents = Array("# Tessera key-encryption key (generated; keep it secret and apart from database backups)\n\(KeyEncryption.newEncodedKey())\n".utf8)
        let written = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == contents.count, fsync(fd) == 0 else {
            unlink(path)
            throw Invalid("cannot write key-encryption key file \(path)")
        }
        return true
    }
}
