public import Foundation
public import TesseraCore

/// One result of `tessera doctor`.
public struct DoctorFinding: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable, Comparable {
        case error, warning, info

        var rank: Int { self == .error ? 0 : self == .warning ? 1 : 2 }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }

    public var severity: Severity
    /// The rule it rests on, e.g. `RFC 9700 §2.4`.
    public var reference: String
    /// What was found and what to do.
    public var message: String

    public init(_ severity: Severity, _ reference: String, _ message: String) {
        self.severity = severity
        self.reference = reference
        self.message = message
    }

    /// `ERROR    RFC 9700 §2.4  client 'x' …`
    public var description: String {
        "\(severity.rawValue.uppercased().padding(toLength: 8, withPad: " ", startingAt: 0))\(reference): \(message)"
    }
}

/// Checks a configuration and the registered clients and signing keys against the OAuth 2.0 Security Best
/// Current Practice (RFC 9700) and related rules. Pure: the caller reads the database; nothing here does I/O.
public enum Doctor {
    /// What `check` looks at.
    public struct Input: Sendable {
        public var configuration: TesseraConfiguration
        public var clients: [Client]
        public var keys: [SigningKeyRecord]
        public var now: Date
        /// How the stored signing keys and TOTP secrets are protected (`nil`: not checked).
        public var secretsAtRest: SecretsAtRest.Inventory? = nil
        /// The users, oldest first (for usernames left non-canonical by the RFC 8265 migration).
        public var users: [User]

        public init(configuration: TesseraConfiguration, clients: [Client], keys: [SigningKeyRecord], now: Date, users: [User] = []) {
            self.configuration = configuration
            self.clients = clients
            self.keys = keys
            self.now = now
            self.users = users
        }
    }

    /// Every finding, errors first. Errors are things RFC 9700 says MUST NOT be; warnings SHOULD NOT or weak
    /// settings; info records what was checked and found in order.
    public static func check(_ input: Input) -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        configurationFindings(input.configuration, into: &findings)
        for client in input.clients.sorted(by: { $0.id < $1.id }) { clientFindings(client, into: &findings) }
        keyFindings(input, into: &findings)
        secretsAtRestFindings(input, into: &findings)
        usernameFindings(input.users, into: &findings)
        return findings.enumerated().sorted { ($0.element.severity, $0.offset) < ($1.element.severity, $1.offset) }.map(\.element)
    }

    /// Whether any finding is an error (then `tessera doctor` exits 1).
    public static func hasErrors(_ findings: [DoctorFinding]) -> Bool { findings.contains { $0.severity == .error } }

    // MARK: Usernames

    /// Usernames the RFC 8265 migration could not canonicalise: their users cannot sign in by name until renamed.
    static func usernameFindings(_ users: [User], into findings: inout [DoctorFinding]) {
        let plan = UsernameMigration.plan(users.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }.map { (id: $0.id, username: $0.username) })
        for user in plan.unresolved {
            switch user.reason {
            case .collidesWith(let other):
                findings.append(.init(.error, "RFC 8265 §3.3",
                                      "user '\(user.username)' (\(user.userID)) has the same canonical username as '\(other)': it cannot sign in by name until one of them is deleted"))
            case .invalid(let problem):
                findings.append(.init(.error, "RFC 8265 §3.3",
                                      "user '\(user.username)' (\(user.userID)) has a username that is no longer valid (\(problem)): it cannot sign in by name until it is deleted and re-created"))
            }
        }
    }

    // MARK: Configuration

    static func configurationFindings(_ configuration: TesseraConfiguration, into findings: inout [DoctorFinding]) {
        let issuer = configuration.effectiveIssuer
        if let url = URL(string: issuer), url.scheme == "http" {
            if isLoopback(url.host) {
                findings.append(.init(.info, "RFC 8414 §2", "issuer \(issuer) is http on loopback (fine for development only)"))
            } else {
                findings.append(.init(.error, "RFC 8414 §2, RFC 6749 §3.2",
                                      "issuer \(issuer) is http off loopback: tokens and credentials would cross the network unencrypted; use an https issuer"))
            }
        }
        if issuer.hasPrefix("http://"), configuration.tlsCert != nil {
            findings.append(.init(.warning, "RFC 8414 §2", "Tessera serves TLS but the issuer \(issuer) is http; set an https issuer"))
        }
        if issuer.hasPrefix("https://"), configuration.tlsCert == nil, configuration.trustedProxies.isEmpty {
            findings.append(.init(.info, "RFC 9700 §4.13",
                                  "https issuer without --tls-cert: TLS is terminated by a proxy; list it with --trusted-proxy so client addresses are right"))
        }
        if configuration.trustedProxies.ranges.contains(where: { $0.prefixLength == 0 }) {
            findings.append(.init(.error, "RFC 9700 §4.13",
                                  "trustedProxies contains a catch-all range: any client can forge X-Forwarded-For and X-Forwarded-Proto"))
        }
        if configuration.bcryptCost < 10 {
            findings.append(.init(.error, "OWASP Password Storage", "bcryptCost \(configuration.bcryptCost) is below 10; use 10 or more (default 12)"))
        }
        if configuration.authorizationCodeLifetime > 60 {
            findings.append(.init(.warning, "RFC 9700 §4.5, RFC 6749 §4.1.2",
                                  "authorizationCodeLifetime is \(configuration.authorizationCodeLifetime) s; authorization codes should live at most 60 s"))
        }
        // Refresh tokens always rotate, with reuse detection revoking the family; nothing can turn it off.
        findings.append(.init(.info, "RFC 9700 §2.2.2, §4.14.2",
                              "refresh tokens are rotated on every use and reuse revokes the family (always on)"))
        if configuration.accessTokenLifetime > 3600 {
            findings.append(.init(.warning, "RFC 9700 §4.10",
                                  "accessTokenLifetime is \(configuration.accessTokenLifetime) s; a stolen access token stays usable that long (keep it short, e.g. 900 s)"))
        }
        if configuration.openRegistration {
            findings.append(.init(.warning, "RFC 7591 §3, §5",
                                  "openRegistration is on: anyone can register clients (rate limited per IP); turn it off unless self-registering clients need it"))
            let wider = configuration.openRegistrationScopes.subtracting(TesseraConfiguration.minimalOpenRegistrationScopes)
            if !wider.isEmpty {
                findings.append(.init(.warning, "RFC 7591 §5, RFC 9700 §2.3",
                                      "openRegistrationScopes grants self-registered clients \(wider) beyond openid profile email: anyone can register a client that asks users for them"))
            }
        }
        if configuration.tokenRateLimit == nil || configuration.loginRateLimit == nil {
            findings.append(.init(.warning, "RFC 6749 §10.10", "token or login rate limiting is off (tokenRateLimit/loginRateLimit 0)"))
        }
        if configuration.lockoutThreshold == nil {
            findings.append(.init(.warning, "RFC 6749 §10.10", "account lockout is off (lockoutThreshold 0): passwords can be guessed without limit"))
        }
        if configuration.keyRotationInterval == nil {
            findings.append(.init(.warning, "RFC 7517 §5 (key rotation)", "automatic signing key rotation is off (keyRotationInterval 0)"))
        }
        if configuration.metrics, configuration.metricsToken == nil, !isLoopback(configuration.host) {
            findings.append(.init(.warning, "RFC 6750 §2.1",
                                  "metrics are served to anyone at \(configuration.host):\(configuration.port)/metrics; set metricsToken (TESSERA_METRICS_TOKEN) or turn metrics off"))
        }
        for provider in configuration.identityProviders { identityProviderFindings(provider, into: &findings) }
        for problem in configuration.identityProviderSecretProblems {
            findings.append(.init(.error, "RFC 6749 §2.3.1", "\(problem): `tessera serve` will refuse to start"))
        }
    }

    // MARK: Upstream identity providers

    static func identityProviderFindings(_ provider: IdentityProviderSettings, into findings: inout [DoctorFinding]) {
        let name = "identity provider '\(provider.id)'"
        let urls: [String] = switch provider.kind {
        case .openIDConnect(let issuer): [issuer]
        case .oauth2(let endpoints, _): [endpoints.authorization, endpoints.token, endpoints.userinfo]
        }
        for url in urls where url.hasPrefix("http://") {
            findings.append(.init(.warning, "RFC 9700 §2.6", "\(name) is reached over http (\(url)); only acceptable on loopback for development"))
        }
        if case .oauth2 = provider.kind {
            findings.append(.init(.info, "RFC 9700 §4.4 (mix-up)",
                                  "\(name) is plain OAuth 2.0: no ID token, the identity comes from its userinfo endpoint; prefer OpenID Connect where offered"))
        }
        if provider.linkByVerifiedEmail {
            findings.append(.init(.warning, "OIDC Core §5.7",
                                  "\(name) links first sign-ins to existing users by verified email: enable only for a provider authoritative for those addresses"))
        }
        if provider.trustedForMFA {
            findings.append(.init(.info, "RFC 8176", "\(name) is trusted for MFA: Tessera's own TOTP step is skipped for users who sign in through it"))
        }
    }

    // MARK: Clients

    static func clientFindings(_ client: Client, into findings: inout [DoctorFinding]) {
        let name = "client '\(client.name)' (\(client.id))"
        if client.grantTypes.contains(.password) {
            findings.append(.init(.error, "RFC 9700 §2.4",
                                  "\(name) may use the resource owner password credentials grant, which MUST NOT be used; move it to the authorization code flow"))
        }
        if client.grantTypes.contains(.implicit) {
            findings.append(.init(.error, "RFC 9700 §2.1.2",
                                  "\(name) may use the implicit grant, which SHOULD NOT be used (tokens in the front channel); use the authorization code flow with PKCE"))
        }
        for uri in client.redirectURIs {
            if uri.contains("*") {
                findings.append(.init(.error, "RFC 9700 §2.1, §4.1.3",
                                      "\(name) has wildcard redirect URI \(uri); redirect URIs MUST be compared by exact string matching"))
            }
            guard let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased() else {
                findings.append(.init(.error, "RFC 9700 §2.1", "\(name) has redirect URI \(uri) that is not an absolute URI"))
                continue
            }
            if scheme == "http", !isLoopback(components.host) {
                findings.append(.init(.error, "RFC 9700 §2.6",
                                      "\(name) has http redirect URI \(uri) off loopback; authorization responses MUST NOT travel unencrypted (use https)"))
            }
        }
    }

    // MARK: Keys

    static func keyFindings(_ input: Input, into findings: inout [DoctorFinding]) {
        let interval = input.configuration.keyRotationInterval.map(TimeInterval.init)
        let signing = input.keys.filter { $0.retiredAt == nil && $0.activatesAt <= input.now }
        if input.keys.isEmpty {
            findings.append(.init(.info, "RFC 7517 §5 (key rotation)", "no signing keys yet (the server creates them when it first starts)"))
        }
        guard let interval else { return }
        for key in signing where input.now.timeIntervalSince(key.activatesAt) > interval {
            let days = Int(input.now.timeIntervalSince(key.activatesAt) / 86_400)
            findings.append(.init(.warning, "RFC 7517 §5 (key rotation)",
                                  "signing key \(key.kid) (\(key.algorithm.rawValue)) has signed for \(days) days, longer than keyRotationInterval; run `tessera keys rotate` or start the server"))
        }
    }

    /// `localhost`, `127.0.0.0/8`, `::1` (RFC 8252 §7.3, §8.3).
    static func isLoopback(_ host: String?) -> Bool {
        guard var host = host?.lowercased() else { return false }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host.hasSuffix(".localhost") { return true }
        guard let bytes = IPRange.parseAddress(host) else { return false }
        return IPRange("127.0.0.0/8")!.contains(bytes) || IPRange("::1")!.contains(bytes)
    }
}
