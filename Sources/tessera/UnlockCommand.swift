import ArgumentParser
import Foundation
import TesseraCore
import TesseraStore

extension UserCommand {
    struct Unlock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lift a login lockout (after repeated failed logins) and reset the failure count.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The username as typed at login (it need not exist: unknown usernames lock too).") var username: String

        func run() async throws {
            try await reportingErrors {
                // Locks are keyed by the canonical username (RFC 8265), like logins.
                try await changeUser(common, Username.canonical(username)?.value ?? username) { _, store, username in
                    guard try await store.clearLoginAttempts(username: username) else { return "\(username) had no failed logins or lock" }
                    let subject = try await store.user(username: username)?.id
                    try await store.insertAuditEvents([AuditEvent(.accountUnlocked, at: Date(), subject: subject, detail: ["username": username])])
                    return "unlocked \(username)"
                }
            }
        }
    }
}
