import ArgumentParser
import Foundation
import TesseraCore
import TesseraServer
import TesseraStore

/// `tessera doctor`: the configuration, clients and signing keys checked against RFC 9700 (see `Doctor`).
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the configuration and database against RFC 9700 (OAuth 2.0 Security BCP); exit 1 on errors.")
    @OptionGroup var common: CommonOptions
    @Flag(help: "Print info findings too (checks that passed).") var verbose = false

    func run() async throws {
        try await reportingErrors {
            let configuration = try common.configuration()
            let encryption: KeyEncryption?
            do { encryption = try configuration.existingKeyEncryption() } catch { throw CLIError("\(error)") }
            let input = try await withStore(configuration, logger: makeLogger(configuration)) { store in
                var input = Doctor.Input(configuration: configuration, clients: try await store.listClients(), keys: try await store.signingKeys(), now: Date(),
                                         users: try await store.listUsers())
                input.secretsAtRest = try await SecretsAtRest.inventory(storage: store, encryption: encryption)
                return input
            }
            let findings = Doctor.check(input)
            let shown = verbose ? findings : findings.filter { $0.severity != .info }
            for finding in shown { print(finding) }
            let errors = findings.filter { $0.severity == .error }.count
            let warnings = findings.filter { $0.severity == .warning }.count
            print("\(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s") (\(input.clients.count) clients, \(input.keys.count) signing keys checked)")
            if errors > 0 { throw ExitCode(1) }
        }
    }
}
