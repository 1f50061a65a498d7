import ArgumentParser
import Foundation
import Logging
import TesseraCore
import TesseraServer
import TesseraStore

/// The key-encryption keys of `serve` and of the commands that write secrets, with the warning for a
/// generated key file (see `TesseraConfiguration.resolveKeyEncryption()`).
func resolveKeyEncryption(_ configuration: TesseraConfiguration, logger: Logger) throws -> KeyEncryption {
    let (encryption, source): (KeyEncryption, KeyEncryptionSource)
    do { (encryption, source) = try configuration.resolveKeyEncryption() } catch { throw CLIError("\(error)") }
    switch source {
    case .configured:
        break
    case .generatedFile(let path, let created):
        logger.warning("no key-encryption key configured: signing keys and TOTP secrets are sealed with the \(created ? "newly generated" : "generated") key in \(path); keep that file out of database backups, or set TESSERA_KEY_ENCRYPTION_KEYS",
                       metadata: ["file": .string(path), "key_id": .string(encryption.primaryKeyID)])
    case .temporary:
        logger.warning("no key-encryption key configured for an in-memory database: using a temporary one")
    }
    return encryption
}

extension KeysCommand {
    /// `tessera keys rewrap`: seals legacy plaintext secrets, and secrets sealed under an older key-encryption
    /// key, under the primary (first) one.
    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encrypt plaintext signing keys and TOTP secrets, and re-encrypt those sealed with an older key-encryption key, under the first one.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingErrors {
                let configuration = try common.configuration()
                let encryption = try resolveKeyEncryption(configuration, logger: makeLogger(configuration))
                let (count, inventory) = try await withStore(configuration, logger: makeLogger(configuration)) { store in
                    do {
                        let count = try await SecretsAtRest.rewrap(storage: store, encryption: encryption)
                        return (count, try await SecretsAtRest.inventory(storage: store, encryption: encryption))
                    } catch let error as KeyEncryptionError {
                        throw CLIError("\(error.description); add the key it was sealed with to TESSERA_KEY_ENCRYPTION_KEYS (after the new one) and run again")
                    }
                }
                print("rewrapped \(count) secret\(count == 1 ? "" : "s") under key-encryption key \(encryption.primaryKeyID) (\(inventory.current) sealed under it, \(inventory.needingRewrap) left)")
            }
        }
    }
}
