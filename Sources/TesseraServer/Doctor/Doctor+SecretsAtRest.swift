import Foundation
import TesseraCore

extension Doctor {
    /// Encryption at rest of signing keys and TOTP secrets (`KeyEncryption`): a missing key-encryption key off
    /// loopback is an error, plaintext (legacy) or older-key secrets a warning pointing to `tessera keys rewrap`.
    static func secretsAtRestFindings(_ input: Input, into findings: inout [DoctorFinding]) {
        let reference = "OWASP Cryptographic Storage"
        if !input.configuration.hasConfiguredKeyEncryption {
            if isLoopback(URL(string: input.configuration.effectiveIssuer)?.host) {
                findings.append(.init(.info, reference, "no key-encryption key configured: on SQLite a generated <database>.kek seals secrets (fine for development)"))
            } else {
                findings.append(.init(.error, reference,
                                      "no key-encryption key configured: set TESSERA_KEY_ENCRYPTION_KEYS or TESSERA_KEY_ENCRYPTION_KEY_FILE (a key generated beside a SQLite database is copied with it; PostgreSQL refuses to start without one)"))
            }
        }
        guard let inventory = input.secretsAtRest else { return }
        if !inventory.unreadable.isEmpty {
            let keyIDs = Set(inventory.unreadable.values).sorted().joined(separator: ", ")
            findings.append(.init(.error, reference,
                                  "\(inventory.unreadable.count) stored secret(s) are sealed with key-encryption key(s) \(keyIDs), which are not configured: `tessera serve` will refuse to start"))
        }
        if inventory.plaintext > 0 {
            findings.append(.init(.warning, reference,
                                  "\(inventory.plaintext) signing key(s) or TOTP secret(s) are stored in plain text (from before encryption at rest); run `tessera keys rewrap`"))
        }
        if inventory.olderKey > 0 {
            findings.append(.init(.warning, reference,
                                  "\(inventory.olderKey) secret(s) are sealed with an older key-encryption key; run `tessera keys rewrap`, then remove the old key"))
        }
        if inventory.needingRewrap == 0, inventory.unreadable.isEmpty {
            findings.append(.init(.info, reference, "\(inventory.current) stored secret(s) are sealed under the primary key-encryption key"))
        }
    }
}
