import ArgumentParser
import Foundation
import TesseraCore
import TesseraServer
import TesseraStore

extension UserCommand {
    struct MFAReset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "mfa-reset",
            abstract: "Turn off a user's two-factor authentication (TOTP and recovery codes), e.g. after a lost device.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The username.") var username: String

        func run() async throws {
            try await reportingErrors {
                try await changeUser(common, username) { provisioning, store, username in
                    let user = try await provisioning.requireUser(username)
                    guard try await store.deleteMFA(userID: user.id) else { return "\(username) had no two-factor authentication" }
                    try await store.insertAuditEvents([AuditEvent(.mfaDisabled, at: Date(), subject: user.id,
                                                                  detail: ["source": "cli", "username": username])])
                    return "two-factor authentication removed for \(username)"
                }
            }
        }
    }
}
