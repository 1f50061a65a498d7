import ArgumentParser
import Foundation
import TesseraCore
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
                let username = self.username
                let removed = try await withProvisioning(common) { provisioning, store, _ in
                    let user = try await provisioning.requireUser(username)
                    let removed = try await store.deleteMFA(userID: user.id)
                    if removed {
                        try await store.insertAuditEvents([AuditEvent(.mfaDisabled, at: Date(), subject: user.id,
                                                                      detail: ["source": "cli", "username": username])])
                    }
                    return removed
                }
                print(removed ? "two-factor authentication removed for \(username)" : "\(username) had no two-factor authentication")
            }
        }
    }
}
