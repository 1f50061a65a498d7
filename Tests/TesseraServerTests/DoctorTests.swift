import Foundation
import TesseraCore
import TesseraServer
import Testing

@Suite("tessera doctor (RFC 9700 self-check)")
struct DoctorTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func client(_ id: String, grants: Set<GrantType>, redirects: [String] = []) -> Client {
        Client(id: id, name: id, secretDigest: Data([1]), authMethod: .clientSecretBasic, grantTypes: grants,
               allowedScopes: ["read"], redirectURIs: redirects, createdAt: now)
    }

    func key(_ kid: String, activated: TimeInterval, retired: Bool = false) -> SigningKeyRecord {
        SigningKeyRecord(kid: kid, algorithm: .es256, privateKeyPEM: "-", createdAt: now.addingTimeInterval(-activated),
                         activatesAt: now.addingTimeInterval(-activated), retiredAt: retired ? now : nil)
    }

    func check(_ configuration: TesseraConfiguration = TesseraConfiguration(), clients: [Client] = [], keys: [SigningKeyRecord]? = nil) -> [DoctorFinding] {
        Doctor.check(Doctor.Input(configuration: configuration, clients: clients, keys: keys ?? [key("k1", activated: 86_400)], now: now))
    }

    func errors(_ findings: [DoctorFinding]) -> [String] { findings.filter { $0.severity == .error }.map(\.reference) }

    @Test("Defaults and a good client: no errors, no warnings")
    func clean() {
        let findings = check(clients: [client("web", grants: [.authorizationCode, .refreshToken],
                                              redirects: ["https://app.example.com/cb", "http://127.0.0.1:8000/cb", "com.example.app:/cb"])])
        #expect(!Doctor.hasErrors(findings))
        #expect(findings.allSatisfy { $0.severity == .info }, "\(findings)")
        #expect(findings.contains { $0.reference.contains("§4.14.2") }, "refresh rotation reported as info")
    }

    @Test("Password and implicit grants, wildcard and http redirect URIs are errors with their RFC 9700 section")
    func clientErrors() {
        let findings = check(clients: [
            client("legacy", grants: [.password]),
            client("spa", grants: [.implicit], redirects: ["https://*.example.com/cb"]),
            client("plain", grants: [.authorizationCode], redirects: ["http://app.example.com/cb", "http://localhost:3000/cb"]),
        ])
        #expect(Doctor.hasErrors(findings))
        #expect(Set(errors(findings)) == ["RFC 9700 §2.4", "RFC 9700 §2.1.2", "RFC 9700 §2.1, §4.1.3", "RFC 9700 §2.6"])
        #expect(findings.first?.severity == .error, "errors first")
        #expect(findings.contains { $0.message.contains("http://app.example.com/cb") })
        #expect(!findings.contains { $0.message.contains("localhost:3000") })
        #expect(findings.map(\.description).contains { $0.hasPrefix("ERROR   RFC 9700 §2.4: client 'legacy'") })
    }

    @Test("Configuration: http issuer off loopback, weak bcrypt, long codes, open registration, catch-all proxy")
    func configurationFindings() throws {
        var configuration = TesseraConfiguration()
        configuration.issuer = "http://auth.example.com"
        configuration.bcryptCost = 8
        configuration.authorizationCodeLifetime = 300
        configuration.openRegistration = true
        configuration.trustedProxies = try TrustedProxies(parsing: ["0.0.0.0/0"])
        configuration.keyRotationInterval = nil
        configuration.keyEncryptionKeys = [KeyEncryption.newEncodedKey()] // a missing KEK is checked in SecretsAtRestServerTests
        let findings = check(configuration)
        #expect(Set(errors(findings)) == ["RFC 8414 §2, RFC 6749 §3.2", "OWASP Password Storage", "RFC 9700 §4.13"])
        let warnings = findings.filter { $0.severity == .warning }.map(\.message)
        #expect(warnings.contains { $0.contains("authorizationCodeLifetime is 300 s") })
        #expect(warnings.contains { $0.contains("openRegistration") })
        #expect(warnings.contains { $0.contains("rotation is off") })

        var mismatch = TesseraConfiguration()
        mismatch.tlsCert = "/c.pem"
        mismatch.tlsKey = "/k.pem"
        #expect(check(mismatch).allSatisfy { $0.severity == .info }, "default issuer follows TLS")
        mismatch.issuer = "http://127.0.0.1:8443"
        #expect(check(mismatch).contains { $0.severity == .warning && $0.message.contains("serves TLS but the issuer") })

        var loopback = TesseraConfiguration()
        loopback.issuer = "http://localhost:9000"
        #expect(!Doctor.hasErrors(check(loopback)))
    }

    @Test("Signing keys older than the rotation period are reported; retired keys are not")
    func keyAge() {
        let findings = check(keys: [key("old", activated: 40 * 86_400), key("gone", activated: 90 * 86_400, retired: true), key("new", activated: 60)])
        let warnings = findings.filter { $0.severity == .warning }
        #expect(warnings.count == 1)
        #expect(warnings.first?.message.contains("old") == true && warnings.first?.message.contains("40 days") == true)
        #expect(check(keys: []).contains { $0.message.contains("no signing keys yet") })
    }

    @Test("Metrics without a token are a warning off loopback only; a token or metrics off silence it")
    func publicMetrics() {
        func metricsWarnings(_ adjust: (inout TesseraConfiguration) -> Void) -> [DoctorFinding] {
            var configuration = TesseraConfiguration()
            configuration.issuer = "https://auth.example.com"
            adjust(&configuration)
            return check(configuration).filter { $0.severity == .warning && $0.message.contains("/metrics") }
        }
        #expect(metricsWarnings { $0.host = "0.0.0.0" }.count == 1)
        #expect(metricsWarnings { $0.host = "0.0.0.0" }.first?.reference == "RFC 6750 §2.1")
        #expect(metricsWarnings { $0.host = "127.0.0.1" }.isEmpty)
        #expect(metricsWarnings { $0.host = "0.0.0.0"; $0.metricsToken = "0123456789abcdef0123" }.isEmpty)
        #expect(metricsWarnings { $0.host = "0.0.0.0"; $0.metrics = false }.isEmpty)
    }
}
