import ArgumentParser
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Synchronization
import TesseraCore
import TesseraServer
import TesseraStore

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the authorization server.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Address to listen on (default 127.0.0.1; env TESSERA_HOST).") var host: String?
    @Option(help: "Port to listen on (default 8080; env TESSERA_PORT).") var port: Int?
    @Option(help: "Issuer URL (default http://HOST:PORT, https with --tls-cert; env TESSERA_ISSUER).") var issuer: String?
    @Flag(help: "Provision a demo user and client with fresh credentials and print them.") var demo = false
    @Option(help: "PEM certificate chain: serve HTTPS (with --tls-key; env TESSERA_TLS_CERT).") var tlsCert: String?
    @Option(help: "PEM private key of --tls-cert (env TESSERA_TLS_KEY).") var tlsKey: String?
    @Option(help: ArgumentHelp("Proxy address or CIDR whose X-Forwarded-For/-Proto are trusted; repeatable, comma-separated (env TESSERA_TRUSTED_PROXIES).",
                               valueName: "addr[,addr|cidr...]"))
    var trustedProxy: [String] = []
    @Flag(inversion: .prefixedNo, help: "Serve Prometheus metrics at /metrics (default on; env TESSERA_METRICS).") var metrics: Bool?

    func run() async throws {
        try await reportingErrors {
            let proxies: TrustedProxies?
            do { proxies = trustedProxy.isEmpty ? nil : try TrustedProxies(parsing: trustedProxy) } catch { throw CLIError("\(error)") }
            let configuration = try common.configuration { configuration in
                if let host { configuration.host = host }
                if let port { configuration.port = port }
                if let issuer { configuration.issuer = issuer }
                if let tlsCert { configuration.tlsCert = tlsCert }
                if let tlsKey { configuration.tlsKey = tlsKey }
                if let proxies { configuration.trustedProxies = proxies }
                if let metrics { configuration.metrics = metrics }
            }
            do { try configuration.requireIdentityProviderSecrets() } catch { throw CLIError("\(error)") }
            let server: HTTPServerBuilder
            do { server = try httpServer(for: configuration) } catch { throw CLIError("\(error)") }
            let logger = makeLogger(configuration)
            let demo = self.demo
            let keyEncryption = try resolveKeyEncryption(configuration, logger: logger)
            try await withStore(configuration, logger: logger) { store in
                let runtime = try await TesseraRuntime.make(configuration: configuration, storage: store, logger: logger,
                                                            readiness: { try await store.ping() }, keyEncryption: keyEncryption)
                if demo {
                    let credentials = try await Provisioning(storage: store, passwords: runtime.services.passwords).provisionDemo(issuer: configuration.effectiveIssuer)
                    printDemo(credentials, issuer: configuration.effectiveIssuer)
                }
                runtime.metrics?.bootstrapMetricsSystem()
                // "listening" only once the socket is bound; a bind failure is one error line and exit status 1.
                let bound = Atomic<Bool>(false)
                let database = DatabaseLocation(configuration.database).description
                let app = buildApplication(runtime: runtime, server: server) { channel in
                    bound.store(true, ordering: .relaxed)
                    logger.info("Tessera listening", metadata: ["issuer": .string(configuration.effectiveIssuer),
                                                                "address": .string("\(configuration.host):\(channel.localAddress?.port ?? configuration.port)"),
                                                                "database": .string(database)])
                }
                do {
                    try await app.runService()
                } catch let error as IOError where !bound.load(ordering: .relaxed) {
                    throw CLIError("cannot listen on \(configuration.host):\(configuration.port): \(Self.reason(error.errnoCode))")
                }
            }
        }
    }

    /// The socket error as the one line `serve` prints (`address already in use`).
    static func reason(_ code: CInt) -> String {
        String(cString: strerror(code)).lowercased()
    }

    func printDemo(_ demo: Provisioning.DemoCredentials, issuer: String) {
        print("""

        Tessera demo — fresh credentials for this run
          user:           \(demo.username) / \(demo.password)
          client:         \(demo.clientID) / \(demo.clientSecret)

        Get a token with the client credentials grant:
          curl -s -u '\(demo.clientID):\(demo.clientSecret)' -d grant_type=client_credentials -d scope=read \(issuer)/token

        Get a token (and a refresh token) with the password grant:
          curl -s -u '\(demo.clientID):\(demo.clientSecret)' -d grant_type=password -d username=\(demo.username) -d 'password=\(demo.password)' -d 'scope=read write' \(issuer)/token

        Public keys: \(issuer)/jwks.json   Metadata: \(issuer)/.well-known/oauth-authorization-server
        API documentation: \(issuer)/docs (Authorize as the demo user with the public client tessera-docs)

        """)
        fflush(nil)
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the database schema.")
    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await reportingErrors {
            let configuration = try common.configuration()
            let version = try await withStore(configuration, logger: makeLogger(configuration)) { store in try await store.schemaVersion() }
            print("database \(DatabaseLocation(configuration.database)) is at schema version \(version)")
        }
    }
}
