import Foundation
import TesseraCore
import TesseraServer
import Testing

@Suite("Form and Basic parsing")
struct ParsingTests {
    @Test("form bodies decode + and percent escapes and keep duplicates for the core to judge")
    func form() throws {
        let pairs = try FormBody.parse(Array("a=1+2&b=%2F%3d&a=3&flag&=empty".utf8))
        #expect(pairs.map(\.0) == ["a", "b", "a", "flag", ""])
        #expect(pairs.map(\.1) == ["1 2", "/=", "3", "", "empty"])
    }

    @Test("malformed input is refused, never guessed", arguments: ["%", "%4", "%G0", "a=%FF", "a=%C3%28", "a=%00"])
    func malformed(body: String) {
        #expect(throws: OAuthError.self) { try FormBody.parse(Array(body.utf8)) }
    }

    @Test("random bytes never crash the parser")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in
                [UInt8(ascii: "%"), UInt8(ascii: "="), UInt8(ascii: "&"), UInt8(ascii: "+"), UInt8.random(in: 0...255, using: &generator)].randomElement()!
            }
            _ = try? FormBody.parse(bytes)
            _ = try? BasicCredentials.parse(authorization: "Basic " + Data(bytes).base64EncodedString())
        }
    }

    @Test("Basic credentials: form-decoded id and secret (RFC 6749 §2.3.1)")
    func basic() throws {
        let header = "basic " + Data("my%20app:p%3Ass+w".utf8).base64EncodedString()
        let parsed = try #require(try BasicCredentials.parse(authorization: header))
        #expect(parsed.id == "my app")
        #expect(parsed.secret == "p:ss w")
        #expect(try BasicCredentials.parse(authorization: "Bearer x") == nil)
        #expect(throws: OAuthError.self) { try BasicCredentials.parse(authorization: "Basic ###") }
        #expect(throws: OAuthError.self) { try BasicCredentials.parse(authorization: "Basic " + Data(":secret".utf8).base64EncodedString()) }
    }
}

@Suite("Configuration")
struct ConfigurationTests {
    @Test("defaults, environment and file, in that order of precedence")
    func precedence() throws {
        var configuration = TesseraConfiguration()
        #expect(configuration.effectiveIssuer == "http://127.0.0.1:8080")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).json")
        try Data(#"{"port": 9000, "defaultScopes": ["read", "profile"], "bcryptCost": 10}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try configuration.apply(environment: ["TESSERA_CONFIG": file.path, "TESSERA_PORT": "9100", "TESSERA_ISSUER": "https://id.example/"])
        #expect(configuration.port == 9100)
        #expect(configuration.bcryptCost == 10)
        #expect(configuration.defaultScopes == ["read", "profile"])
        #expect(configuration.effectiveIssuer == "https://id.example")
        try configuration.validate()
    }

    @Test("bad values are one-line errors", arguments: [
        ["TESSERA_PORT": "eighty"], ["TESSERA_PORT": "70000"], ["TESSERA_BCRYPT_COST": "3"], ["TESSERA_ACCESS_TOKEN_ALG": "HS256"],
        ["TESSERA_ISSUER": "ftp://x"], ["TESSERA_DEFAULT_SCOPES": "a\"b"],
    ])
    func invalid(environment: [String: String]) {
        #expect(throws: TesseraConfiguration.Invalid.self) {
            var configuration = TesseraConfiguration()
            try configuration.apply(environment: environment)
            try configuration.validate()
        }
    }

    @Test("unknown config file keys are refused")
    func unknownKey() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tessera-\(UUID().uuidString).json")
        try Data(#"{"prot": 1}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        var configuration = TesseraConfiguration()
        #expect(throws: TesseraConfiguration.Invalid.self) { try configuration.apply(configFile: file.path) }
    }
}
