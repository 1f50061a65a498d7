import Foundation
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

@Suite("Lifecycle configuration")
struct LifecycleConfigurationTests {
    @Test("defaults: open registration off, 24 h initial tokens, 30-day rotation with 1 h pre-publication")
    func defaults() throws {
        let configuration = TesseraConfiguration()
        #expect(configuration.openRegistration == false)
        #expect(configuration.initialAccessTokenLifetime == 86_400)
        #expect(configuration.keyRotationInterval == 30 * 86_400)
        #expect(configuration.keyPrePublication == 3600)
        try configuration.validate()
    }

    @Test("environment variables are read and checked")
    func environment() throws {
        var configuration = TesseraConfiguration()
        try configuration.apply(environment: ["TESSERA_OPEN_REGISTRATION": "true", "TESSERA_KEY_ROTATION_INTERVAL": "0",
                                              "TESSERA_REGISTRATION_RATE_LIMIT": "5", "TESSERA_REGISTRATION_SCOPES": "read write"])
        #expect(configuration.openRegistration)
        #expect(configuration.keyRotationInterval == nil, "0 in the environment turns rotation off: nil (issue 14)")
        #expect(configuration.registrationRateLimit == 5)
        try configuration.validate()
        var bad = TesseraConfiguration()
        #expect(throws: TesseraConfiguration.Invalid.self) { try bad.apply(environment: ["TESSERA_OPEN_REGISTRATION": "maybe"]) }
        bad.keyRotationInterval = 60
        #expect(throws: TesseraConfiguration.Invalid.self) { try bad.validate() }
        var prepub = TesseraConfiguration()
        prepub.keyRotationInterval = 7200
        prepub.keyPrePublication = 7200
        #expect(throws: TesseraConfiguration.Invalid.self) { try prepub.validate() }
    }
}

@Suite("Lifecycle maintenance (MaintenanceService's work)")
struct LifecycleMaintenanceTests {
    @Test("rotates keys when due and purges expired revocation entries and initial access tokens")
    func maintenance() async throws {
        var configuration = TesseraConfiguration()
        configuration.issuer = "https://auth.test"
        configuration.bcryptCost = 4
        let store = MemoryStore()
        let clock = FixedClock()
        let runtime = try await TesseraRuntime.make(configuration: configuration, storage: store, clock: clock)
        try await store.revokeAccessToken(jti: "j", clientID: "c", expiresAt: clock.now.addingTimeInterval(60), at: clock.now)
        _ = try await runtime.registrationEndpoint.initialTokens.issue(lifetime: 120)
        try await runtime.lifecycleMaintenance()
        #expect(try await store.signingKeys().count == 2, "nothing is due yet")
        #expect(try await store.isAccessTokenRevoked(jti: "j"))

        clock.advance(by: TimeInterval(try #require(configuration.keyRotationInterval)))
        try await runtime.lifecycleMaintenance()
        let keys = try await store.signingKeys()
        #expect(keys.count == 4)
        #expect(keys.filter { $0.activatesAt > clock.now }.count == 2, "new keys are pre-published")
        #expect(try await store.isAccessTokenRevoked(jti: "j") == false, "expired entries are purged")
        #expect(try await store.purgeExpiredInitialAccessTokens(before: clock.now) == 0, "already purged")

        clock.advance(by: TimeInterval(configuration.keyPrePublication))
        try await runtime.lifecycleMaintenance()
        #expect(try await store.signingKeys().filter { $0.retiredAt != nil }.count == 2)
        clock.advance(by: TimeInterval(configuration.accessTokenLifetime + 61))
        try await runtime.lifecycleMaintenance()
        #expect(try await store.signingKeys().count == 4, "ID tokens (1 h) signed with the retired keys are still valid (issue 20 item 4)")
        clock.advance(by: configuration.oauthSettings.signingKeyRetention - TimeInterval(configuration.accessTokenLifetime + 61) + 1)
        try await runtime.lifecycleMaintenance()
        #expect(try await store.signingKeys().count == 2, "retired keys are dropped after retention")
    }
}
