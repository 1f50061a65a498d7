import Foundation
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// The `username_hmac` of failed-login audit events (issue 13 item 10) is keyed by the key-encryption key: every
/// node and restart with the same key records one value per name; another deployment's key gives another value.
@Suite("Audit username key")
struct AuditKeyTests {
    @Test("two runtimes with one key-encryption key agree; another key disagrees")
    func derivedFromTheKeyEncryptionKey() async throws {
        let key = KeyEncryption.newEncodedKey()
        var configuration = TesseraConfiguration()
        configuration.keyEncryptionKeys = [key]
        let first = try await TesseraRuntime.make(configuration: configuration, storage: MemoryStore())
        let second = try await TesseraRuntime.make(configuration: configuration, storage: MemoryStore())
        configuration.keyEncryptionKeys = [KeyEncryption.newEncodedKey()]
        let other = try await TesseraRuntime.make(configuration: configuration, storage: MemoryStore())
        let typed = "hunter2-typed-as-a-username"
        let value = try #require(first.services.auditUsername(typed, names: nil)["username_hmac"])
        #expect(second.services.auditUsername(typed, names: nil)["username_hmac"] == value)
        #expect(other.services.auditUsername(typed, names: nil)["username_hmac"] != value)
        #expect(!value.contains(typed))
    }
}
