import Foundation
import ServiceLifecycle
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// `TesseraRuntime.make` is the composition root: it parses the configuration once, and a value that does not
/// parse stops start-up with one line. These values used to be read with `try?` on every request or at
/// router set-up and silently replaced by a default (issue 14).
@Suite("Composition root")
struct CompositionRootTests {
    private func make(_ adjust: (inout TesseraConfiguration) throws -> Void) async throws {
        var configuration = TesseraConfiguration()
        configuration.bcryptCost = 4
        configuration.issuer = "https://auth.test"
        try adjust(&configuration)
        _ = try await TesseraRuntime.make(configuration: configuration, storage: MemoryStore())
    }

    @Test("registrationScopes that do not parse fail start-up (was: /register silently allowed the default scopes)")
    func registrationScopes() async throws {
        await #expect(throws: TesseraConfiguration.Invalid("registrationScopes has invalid characters")) {
            try await make { try $0.apply(environment: ["TESSERA_REGISTRATION_SCOPES": #"read "write""#]) }
        }
    }

    @Test("defaultScopes that do not parse fail start-up (was: silently 'read')")
    func defaultScopes() async throws {
        await #expect(throws: TesseraConfiguration.Invalid("defaultScopes has invalid characters")) {
            try await make { try $0.apply(environment: ["TESSERA_DEFAULT_SCOPES": #"read\write"#]) }
        }
    }

    @Test("an unknown accessTokenAlgorithm fails start-up (was: silently ES256)")
    func accessTokenAlgorithm() async throws {
        await #expect(throws: TesseraConfiguration.Invalid("accessTokenAlgorithm must be ES256 or RS256")) {
            try await make { try $0.apply(environment: ["TESSERA_ACCESS_TOKEN_ALG": "HS256"]) }
        }
    }

    @Test("trustedProxies that do not parse fail start-up (was: silently trust no proxy)")
    func trustedProxies() async throws {
        await #expect(throws: TesseraConfiguration.Invalid("trustedProxies: 'not-an-address' is not an IP address or CIDR range")) {
            try await make { try $0.apply(environment: ["TESSERA_TRUSTED_PROXIES": "10.0.0.0/8 not-an-address"]) }
        }
    }

    @Test("the endpoints are built once from the parsed settings; the audit sink keeps its concrete type")
    func builtOnce() async throws {
        var configuration = TesseraConfiguration()
        configuration.bcryptCost = 4
        configuration.issuer = "https://auth.test"
        try configuration.apply(environment: ["TESSERA_DEFAULT_SCOPES": "read write", "TESSERA_REGISTRATION_SCOPES": "openid read",
                                              "TESSERA_ACCESS_TOKEN_ALG": "rs256"])
        let runtime = try await TesseraRuntime.make(configuration: configuration, storage: MemoryStore())
        #expect(runtime.services.settings.defaultScopes == ["read", "write"])
        #expect(runtime.services.settings.accessTokenAlgorithm == .rs256)
        #expect(runtime.registrationEndpoint.settings.allowedScopes == ["openid", "read"])
        #expect(runtime.registrationEndpoint.settings.defaultScopes == ["read"])
        #expect((runtime.services.audit as? BufferedAuditSink) === runtime.auditSink)
    }
}

/// The long-running work `buildApplication` adds (MaintenanceService, AuditFlushService) stops on cancellation
/// at once, however long its interval, and the audit flush writes what is still buffered on the way out.
@Suite("Background services stop")
struct BackgroundServicesTests {
    @Test("cancelling the application ends maintenance and audit flushing promptly; buffered events are written")
    func stopOnCancellation() async throws {
        var configuration = TesseraConfiguration()
        configuration.bcryptCost = 4
        configuration.host = "127.0.0.1"
        configuration.port = 0
        configuration.issuer = "https://auth.test"
        configuration.keyReloadInterval = 86_400
        let store = MemoryStore()
        let runtime = try await TesseraRuntime.make(configuration: configuration, storage: store)
        let (started, startedContinuation) = AsyncStream<Void>.makeStream()
        let app = buildApplication(runtime: runtime, onServerRunning: { _ in startedContinuation.yield() })
        let running = Task { try await app.run() }
        for await _ in started { break }
        runtime.auditSink.record(AuditEvent(.keyRotated, at: Date(), detail: ["kid": "shutdown-test"]))
        let cancelledAt = ContinuousClock.now
        running.cancel()
        _ = await running.result
        #expect(ContinuousClock.now - cancelledAt < .seconds(5), "no service waits out its interval")
        #expect(runtime.auditSink.pending == 0)
        #expect(try await store.auditEvents(AuditEventFilter()).contains { $0.detail["kid"] == "shutdown-test" })
    }
}
