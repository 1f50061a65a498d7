import Foundation
import HTTPTypes
import HummingbirdTesting
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// A feature that is off is `nil` in `TesseraConfiguration`, not a `0` sentinel; the environment or file value `0`
/// still means "off" (issue 14).
@Suite("Optional settings (nil = off)")
struct OptionalSettingsTests {
    static let offEnvironment = ["TESSERA_TOKEN_RATE_LIMIT": "0", "TESSERA_LOGIN_RATE_LIMIT": "0",
                                 "TESSERA_LOCKOUT_THRESHOLD": "0", "TESSERA_KEY_ROTATION_INTERVAL": "0"]

    @Test("defaults are on; 0 from the environment reads as nil, and the core sees the feature off")
    func environmentZeroIsNil() async throws {
        let defaults = TesseraConfiguration()
        #expect(defaults.tokenRateLimit == 600 && defaults.loginRateLimit == 20 && defaults.lockoutThreshold == 5)
        #expect(defaults.keyRotationInterval == 30 * 86_400)
        #expect(defaults.oauthSettings.lockout == LockoutPolicy(threshold: 5))

        var configuration = TesseraConfiguration()
        configuration.bcryptCost = 4
        configuration.issuer = "https://auth.test"
        try configuration.apply(environment: Self.offEnvironment)
        #expect(configuration.tokenRateLimit == nil && configuration.loginRateLimit == nil)
        #expect(configuration.lockoutThreshold == nil && configuration.keyRotationInterval == nil)
        try configuration.validate()
        #expect(configuration.oauthSettings.lockout == nil)
        let runtime = try await TesseraRuntime.make(configuration: configuration, storage: MemoryStore())
        #expect(runtime.keyRotationPolicy.interval == nil)
        #expect(runtime.services.settings.lockout == nil)
    }

    @Test("0 in the config file reads as nil too; a number there is kept")
    func fileZeroIsNil() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).json")
        try Data(#"{"tokenRateLimit": 0, "loginRateLimit": 7, "lockoutThreshold": 0, "keyRotationInterval": 7200}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var configuration = TesseraConfiguration()
        try configuration.apply(configFile: file.path)
        #expect(configuration.tokenRateLimit == nil && configuration.lockoutThreshold == nil)
        #expect(configuration.loginRateLimit == 7 && configuration.keyRotationInterval == 7200)
        try configuration.validate()
    }

    @Test("a value that is present must be usable: negative or (in Swift) 0 is a one-line error", arguments: [
        ["TESSERA_TOKEN_RATE_LIMIT": "-1"], ["TESSERA_LOGIN_RATE_LIMIT": "-5"], ["TESSERA_LOCKOUT_THRESHOLD": "-1"],
        ["TESSERA_KEY_ROTATION_INTERVAL": "60"], ["TESSERA_LOCKOUT_THRESHOLD": "off"],
    ])
    func invalid(environment: [String: String]) {
        #expect(throws: TesseraConfiguration.Invalid.self) {
            var configuration = TesseraConfiguration()
            try configuration.apply(environment: environment)
            try configuration.validate()
        }
    }

    @Test("set in Swift, 0 is not a way to say off")
    func swiftZeroRefused() {
        var configuration = TesseraConfiguration()
        configuration.tokenRateLimit = 0
        #expect(throws: TesseraConfiguration.Invalid("tokenRateLimit and loginRateLimit must be at least 1 (or off)")) { try configuration.validate() }
        configuration = TesseraConfiguration()
        configuration.lockoutThreshold = 0
        #expect(throws: TesseraConfiguration.Invalid("lockoutThreshold must be at least 1 (or off)")) { try configuration.validate() }
    }

    @Test("with keyRotationInterval off, maintenance makes no new signing key however old the keys get")
    func rotationOff() async throws {
        var configuration = TesseraConfiguration()
        configuration.bcryptCost = 4
        configuration.issuer = "https://auth.test"
        configuration.keyRotationInterval = nil
        let store = MemoryStore()
        let clock = FixedClock()
        let runtime = try await TesseraRuntime.make(configuration: configuration, storage: store, clock: clock)
        clock.advance(by: 400 * 86_400)
        try await runtime.lifecycleMaintenance()
        #expect(try await store.signingKeys().count == 2, "one key per algorithm, none added")
    }

    @Test("with tokenRateLimit off, /token is never 429")
    func tokenRateLimitOff() async throws {
        let harness = try await ServerHarness.make(clock: FixedClock()) { $0.tokenRateLimit = nil; $0.rateLimitWindow = 60 }
        try await harness.test { client in
            for _ in 0..<8 {
                let response = try await client.postForm("grant_type=client_credentials", authorization: harness.basic)
                #expect(response.status == .ok)
            }
        }
    }

    @Test("with loginRateLimit off, POST /login is never 429")
    func loginRateLimitOff() async throws {
        let harness = try await ServerHarness.make(clock: FixedClock()) { $0.loginRateLimit = nil; $0.lockoutThreshold = nil }
        try await harness.test { client in
            for _ in 0..<25 {
                let response = try await client.postForm("username=alice&password=wrong&csrf_token=x", to: "/login")
                #expect(response.status != .tooManyRequests)
            }
        }
    }
}

/// `audience` is a list of absolute URIs, parsed and checked once when the environment or file is applied (issue 14).
@Suite("Audience configuration")
struct AudienceConfigurationTests {
    @Test("space-separated values parse once into a list (duplicates dropped) that becomes the default aud")
    func parsed() throws {
        var configuration = TesseraConfiguration()
        #expect(configuration.audience == nil)
        #expect(configuration.oauthSettings.defaultAudience == [configuration.effectiveIssuer])
        try configuration.apply(environment: ["TESSERA_AUDIENCE": "https://api.example.com  urn:example:orders https://api.example.com"])
        #expect(configuration.audience == ["https://api.example.com", "urn:example:orders"])
        #expect(configuration.oauthSettings.defaultAudience == ["https://api.example.com", "urn:example:orders"])
        try configuration.validate()
    }

    @Test("a config-file array is the same list")
    func file() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).json")
        try Data(#"{"audience": ["https://a.example", "https://b.example"]}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var configuration = TesseraConfiguration()
        try configuration.apply(configFile: file.path)
        #expect(configuration.audience == ["https://a.example", "https://b.example"])
    }

    @Test("a value that is not an absolute URI without fragment is a one-line error (was: used as given)", arguments: [
        ("api", "api"), ("https://api.example.com#x", "https://api.example.com#x"), ("https://", "https://"),
    ])
    func invalid(raw: String, named: String) async {
        var configuration = TesseraConfiguration()
        #expect(throws: TesseraConfiguration.Invalid("audience: '\(named)' is not an absolute URI without fragment (RFC 8707 §2)")) {
            try configuration.apply(environment: ["TESSERA_AUDIENCE": "https://ok.example \(raw)"])
        }
        #expect(configuration.audience == nil)
    }

    @Test("set in Swift, the list is checked by validate(): empty or not a URI fails start-up")
    func validated() {
        var configuration = TesseraConfiguration()
        configuration.audience = []
        #expect(throws: TesseraConfiguration.Invalid.self) { try configuration.validate() }
        configuration.audience = ["not a uri"]
        #expect(throws: TesseraConfiguration.Invalid("audience: 'not a uri' is not an absolute URI without fragment (RFC 8707 §2)")) {
            try configuration.validate()
        }
        configuration.audience = ["https://api.example.com"]
        #expect(throws: Never.self) { try configuration.validate() }
    }

    @Test("access tokens carry the configured audience")
    func minted() async throws {
        let harness = try await ServerHarness.make { $0.audience = ["https://api.example.com", "https://auth.test"] }
        try await harness.test { client in
            let response = try await client.postForm("grant_type=client_credentials", authorization: harness.basic)
            #expect(response.status == .ok)
            let token = try #require(response.json["access_token"] as? String)
            let payload = try #require(token.split(separator: ".").dropFirst().first)
            var base64 = payload.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            let data = try #require(Data(base64Encoded: base64))
            let claims = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            #expect(claims["aud"] as? [String] == ["https://api.example.com", "https://auth.test"])
        }
    }
}
