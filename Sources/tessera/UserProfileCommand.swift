import ArgumentParser
import TesseraCore
import TesseraServer

extension UserCommand {
    struct Profile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's OpenID Connect profile claims (name, email) served by /userinfo.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The username.") var username: String
        @Option(help: "The full name (claim `name`, scope profile); empty to clear.") var name: String?
        @Option(help: "The email address (claim `email`, scope email); empty to clear.") var email: String?

        func run() async throws {
            try await reportingErrors {
                let (name, email) = (self.name, self.email)
                try await changeUser(common, username) { provisioning, _, username in
                    let profile = try await provisioning.setProfile(username: username, name: name, email: email)
                    return "user \(username): name \(profile.name ?? "(none)"), email \(profile.email ?? "(none)")"
                }
            }
        }
    }
}
