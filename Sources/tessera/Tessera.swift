import ArgumentParser
import Foundation
import Logging
import TesseraCore
import TesseraServer
import TesseraStore

@main
struct Tessera: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tessera",
        abstract: "An OAuth 2.1 and OpenID Connect authorization server.",
        subcommands: [Serve.self, Migrate.self, UserCommand.self, ClientCommand.self, KeysCommand.self, AuditCommand.self, DoctorCommand.self,
                      FederationCommand.self])
}

/// Options every command shares: where the database and configuration are.
struct CommonOptions: ParsableArguments {
    @Option(help: "SQLite file path or postgres:// URL (default ./tessera.sqlite; env TESSERA_DATABASE).")
    var database: String?

    @Option(help: "JSON configuration file (env TESSERA_CONFIG).")
    var config: String?

    /// Defaults < config file < environment < flags.
    func configuration(_ adjust: (inout TesseraConfiguration) -> Void = { _ in }) throws -> TesseraConfiguration {
        var configuration = TesseraConfiguration()
        do {
            if let config { try configuration.apply(configFile: config) }
            try configuration.apply(environment: ProcessInfo.processInfo.environment)
        } catch {
            throw CLIError(error.description)
        }
        if let database { configuration.database = database }
        adjust(&configuration)
        do { try configuration.validate() } catch { throw CLIError(error.description) }
        return configuration
    }
}

/// A one-line error and exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Opens and migrates the store, runs `body`, and closes it. PostgreSQL's pool runs beside `body`.
func withStore<R: Sendable>(_ configuration: TesseraConfiguration, logger: Logger,
                            _ body: @escaping @Sendable (SQLStore) async throws -> R) async throws -> R {
    let location = DatabaseLocation(configuration.database)
    let store: SQLStore
    do {
        store = try await SQLStore.open(location, poolSize: configuration.databasePoolSize,
                                        operationTimeout: .seconds(configuration.databaseTimeout), logger: logger)
    } catch {
        throw CLIError("cannot open database \(location): \(error)")
    }
    return try await withThrowingTaskGroup(of: R?.self) { group in
        if let postgres = store.engine as? PostgresEngine {
            group.addTask {
                await postgres.run()
                return nil
            }
        }
        group.addTask {
            do {
                do {
                    try await withTimeout(seconds: 10) { try await store.ping() }
                } catch {
                    throw CLIError("cannot reach database \(location): \(error)")
                }
                try await store.migrate()
                let result = try await body(store)
                await store.shutdown()
                return result
            } catch {
                await store.shutdown()
                throw error
            }
        }
        defer { group.cancelAll() }
        while let next = try await group.next() {
            if let result = next { return result }
        }
        throw CLIError("database connection ended unexpectedly")
    }
}

func withTimeout<R: Sendable>(seconds: Int, _ body: @escaping @Sendable () async throws -> R) async throws -> R {
    try await withThrowingTaskGroup(of: R.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw CLIError("timed out after \(seconds) s")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

func makeLogger(_ configuration: TesseraConfiguration) -> Logger {
    var logger = Logger(label: "tessera")
    logger.logLevel = configuration.logLevel
    return logger
}

extension AsyncParsableCommand {
    /// Runs a command body, turning errors into one line on stderr and exit status 1.
    func reportingErrors(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as CLIError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(1)
        } catch let error as Provisioning.Invalid {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            throw ExitCode(1)
        } catch let error as ExitCode {
            throw error
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

/// Reads a password from standard input (first line, trailing newline removed).
func readPasswordFromStdin() throws -> String {
    guard let line = readLine(strippingNewline: true), !line.isEmpty else {
        throw CLIError("no password on standard input")
    }
    return line
}

func printJSON(_ value: some Encodable) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
}
