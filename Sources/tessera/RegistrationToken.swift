import ArgumentParser
import Foundation
import TesseraCore
import TesseraServer

extension ClientCommand {
    /// `tessera client registration-token`: an initial access token for `POST /register` (RFC 7591 §3).
    struct RegistrationToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "registration-token",
            abstract: "Create an initial access token for dynamic client registration (shown once; only its digest is stored).")
        @OptionGroup var common: CommonOptions
        @Option(help: "Lifetime in seconds (default: initialAccessTokenLifetime, 24 h).") var lifetime: Int?
        @Flag(help: "Print {\"initial_access_token\": ..., \"expires_at\": ...} as JSON.") var json = false

        func run() async throws {
            try await reportingErrors {
                let lifetime = self.lifetime
                let issued = try await withProvisioning(common) { _, store, configuration in
                    let seconds = lifetime ?? configuration.initialAccessTokenLifetime
                    guard seconds >= 60 else { throw CLIError("--lifetime must be at least 60 seconds") }
                    return try await InitialAccessTokens(store: store, clock: SystemTimeSource()).issue(lifetime: TimeInterval(seconds))
                }
                let expiresAt = Int(issued.expiresAt.timeIntervalSince1970)
                if json {
                    let data = try JSONSerialization.data(withJSONObject: ["initial_access_token": issued.token, "expires_at": expiresAt] as [String: Any],
                                                          options: [.sortedKeys])
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print("initial_access_token: \(issued.token)")
                    print("expires_at:           \(isoFormatter(issued.expiresAt))")
                    print("use: curl -X POST <issuer>/register -H 'Authorization: Bearer <token>' -H 'Content-Type: application/json' -d '{...}'")
                }
            }
        }
    }
}
