public import Foundation
public import Logging
public import TesseraCore
import TesseraJOSE

/// Every setting of a Tessera server: one `Sendable` tree, documented once here.
///
/// Sources, lowest precedence first: these defaults, a JSON config file (`--config` / `TESSERA_CONFIG`),
/// environment variables (`TESSERA_*`), then command-line flags.
public struct TesseraConfiguration: Sendable, Equatable {
    /// Address to listen on. Default `127.0.0.1`. Env `TESSERA_HOST`.
    public var host: String = "127.0.0.1"
    /// Port to listen on. Default `8080`. Env `TESSERA_PORT`.
    public var port: Int = 8080
    /// Issuer identifier (RFC 8414). Default `http://<host>:<port>`. Env `TESSERA_ISSUER`.
    public var issuer: String?
    /// SQLite file path or `postgres://` URL. Default `./tessera.sqlite`. Env `TESSERA_DATABASE`.
    public var database: String = "./tessera.sqlite"
    /// Connections per node. Default `10`. Env `TESSERA_DATABASE_POOL_SIZE`.
    public var databasePoolSize: Int = 10
    /// Seconds one PostgreSQL operation may take before the request fails with 503. Default `5`. Env `TESSERA_DATABASE_TIMEOUT`.
    public var databaseTimeout: Int = 5
    /// bcrypt cost for new password hashes; weaker hashes are upgraded at login. Default `12`. Env `TESSERA_BCRYPT_COST`.
    public var bcryptCost: Int = 12
    /// Access token lifetime in seconds. Default `900`. Env `TESSERA_ACCESS_TOKEN_TTL`.
    public var accessTokenLifetime: Int = 900
    /// Access token signing algorithm (RFC 9068 §2.1): `ES256` (default) or `RS256`, case-insensitive. Env `TESSERA_ACCESS_TOKEN_ALG`.
    public var accessTokenAlgorithm: SigningAlgorithm = .es256
    /// Refresh token idle lifetime in seconds. Default 14 days. Env `TESSERA_REFRESH_IDLE_TTL`.
    public var refreshTokenIdleLifetime: Int = 14 * 86_400
    /// Refresh token absolute (family) lifetime in seconds. Default 30 days. Env `TESSERA_REFRESH_ABSOLUTE_TTL`.
    public var refreshTokenAbsoluteLifetime: Int = 30 * 86_400
    /// Seconds after a rotation within which the old refresh token still answers a retry with a fresh pair instead of
    /// revoking the family (0–300). Default `0` (off). Env `TESSERA_REFRESH_GRACE_PERIOD`.
    public var refreshGracePeriod: Int = 0
    /// How many retries one rotated refresh token gets within the grace period (1–10). Default `1`. Env `TESSERA_REFRESH_GRACE_REUSES`.
    public var refreshGraceReuses: Int = 1
    /// Scopes granted when a request names none. Default `read`. Env `TESSERA_DEFAULT_SCOPES` (space-separated).
    public var defaultScopes: ScopeSet = ["read"]
    /// `aud` of access tokens when a request names no `resource`: absolute URIs without fragment (RFC 8707 §2,
    /// RFC 9068 §3), parsed once and checked when the environment or file is applied. Default (`nil`): the issuer.
    /// Env `TESSERA_AUDIENCE` (space-separated); a config-file array or space-separated string.
    public var audience: [String]?
    /// Largest accepted request body in bytes; larger gets 413. Default `65536`. Env `TESSERA_MAX_BODY_BYTES`.
    public var maxBodySize: Int = 65_536
    /// How often each node re-reads signing keys from the database, in seconds. Default `30`. Env `TESSERA_KEY_RELOAD_INTERVAL`.
    public var keyReloadInterval: Int = 30
    /// Log level (`trace` … `critical`, case-insensitive). Default `info`. Env `TESSERA_LOG_LEVEL`.
    public var logLevel: Logger.Level = .info
    /// Allow `POST /register` without an initial access token (RFC 7591 §3; for MCP-style clients that register
    /// themselves), rate limited per IP. Default `false`. Env `TESSERA_OPEN_REGISTRATION`.
    public var openRegistration: Bool = false
    /// Development only: let URLs a client gives (`jwks_uri`) reach loopback addresses, over `http` too (a test
    /// or a local agent serving its documents on 127.0.0.1). Private, link-local and metadata addresses stay refused.
    /// Default `false`. Env `TESSERA_ALLOW_LOOPBACK_CLIENT_URLS`.
    public var allowLoopbackClientURLs: Bool = false
    /// Accept Client ID Metadata Documents: a `client_id` that is an https URL is resolved by fetching it
    /// (draft-ietf-oauth-client-id-metadata-document; MCP's preferred client identification). Default `true`.
    /// Env `TESSERA_CLIENT_ID_METADATA_DOCUMENTS`.
    public var clientIDMetadataDocuments: Bool = true
    /// Origins (space-separated, e.g. `https://app.example`) whose scripts may call `/token`, `/revoke`, `/register`
    /// and `/userinfo` (CORS). Unset: the origins of registered public clients' redirect URIs. Discovery and JWKS
    /// allow any origin. Env `TESSERA_CORS_ORIGINS`.
    public var corsOrigins: Set<String>?
    /// Hosts whose metadata documents are accepted (space-separated); empty = any host the fetch guard allows.
    /// Env `TESSERA_CLIENT_ID_METADATA_DOCUMENT_HOSTS`.
    public var clientIDMetadataDocumentHosts: Set<String> = []
    /// Hosts whose metadata documents are refused (space-separated). Env `TESSERA_CLIENT_ID_METADATA_DOCUMENT_BLOCKED_HOSTS`.
    public var clientIDMetadataDocumentBlockedHosts: Set<String> = []
    /// The longest a fetched metadata document is used, in seconds (its `Cache-Control: max-age` within 60 and this;
    /// a change reaches every node within it). Default `3600`. Env `TESSERA_CLIENT_ID_METADATA_DOCUMENT_MAX_AGE`.
    public var clientIDMetadataDocumentMaxAge: Int = 3600
    /// Lifetime of initial access tokens from `tessera client registration-token`, in seconds. Default `86400`.
    /// Env `TESSERA_INITIAL_ACCESS_TOKEN_TTL`.
    public var initialAccessTokenLifetime: Int = 86_400
    /// Open registrations allowed per IP address per minute. Default `10`. Env `TESSERA_REGISTRATION_RATE_LIMIT`.
    public var registrationRateLimit: Int = 10
    /// Requests to `/token` and `/introspect` allowed per authenticated client (HTTP Basic) or else per IP
    /// address, per `rateLimitWindow`, counted in memory on each node (N nodes admit up to N × this). `nil` turns it
    /// off (env/file value `0`). Default `600`. Env `TESSERA_TOKEN_RATE_LIMIT`.
    public var tokenRateLimit: Int? = 600
    /// The fixed window of `tokenRateLimit`, in seconds. Default `10`. Env `TESSERA_RATE_LIMIT_WINDOW`.
    public var rateLimitWindow: Int = 10
    /// Login form posts (`POST /login`) allowed per IP address per minute. `nil` turns it off (env/file value `0`).
    /// Default `20`. Env `TESSERA_LOGIN_RATE_LIMIT`.
    public var loginRateLimit: Int? = 20
    /// Requests to `/authorize` (GET or POST, starting or resuming an authorization request) allowed per IP address
    /// per minute: each one that needs a sign-in stores a pending interaction. `nil` turns it off (env/file value
    /// `0`). Default `300`. Env `TESSERA_AUTHORIZE_RATE_LIMIT`.
    public var authorizeRateLimit: Int? = 300
    /// Failed logins (password grant or login page) for one username within 15 minutes before it is locked
    /// for 1 minute, doubling with each further failure up to 1 hour. `nil` turns lockout off (env/file value `0`).
    /// Default `5`. Env `TESSERA_LOCKOUT_THRESHOLD`.
    public var lockoutThreshold: Int? = 5
    /// Scopes a dynamically registered client may have (others it asks for are dropped). Default: `defaultScopes`
    /// plus `openid profile email`. Env `TESSERA_REGISTRATION_SCOPES`.
    public var registrationScopes: ScopeSet?
    /// The only scopes a client from open registration (no initial access token) may have, and gets when it names
    /// none. Keep it minimal: no API scopes. Default `openid profile email`. Env `TESSERA_OPEN_REGISTRATION_SCOPES`.
    public var openRegistrationScopes: ScopeSet = TesseraConfiguration.minimalOpenRegistrationScopes
    /// The identity scopes only: what `doctor` accepts for `openRegistrationScopes` without a warning.
    public static let minimalOpenRegistrationScopes: ScopeSet = ["openid", "profile", "email"]
    /// Signing keys are rotated automatically this often, in seconds (at least 3600); `nil` turns it off (env/file
    /// value `0`). Default 30 days. Env `TESSERA_KEY_ROTATION_INTERVAL`.
    public var keyRotationInterval: Int? = 30 * 86_400
    /// A new signing key is published this many seconds before it signs. Default `3600`. Env `TESSERA_KEY_PREPUBLICATION`.
    public var keyPrePublication: Int = 3600
    /// Authorization code lifetime in seconds (at most 600). Default `60`. Env `TESSERA_AUTHORIZATION_CODE_TTL`.
    public var authorizationCodeLifetime: Int = 60
    /// Browser login session lifetime in seconds. Default `28800` (8 hours). Env `TESSERA_SESSION_TTL`.
    public var sessionLifetime: Int = 28_800
    /// Seconds a browser session may go unused before it ends (within `sessionLifetime`; like Keycloak's SSO Session
    /// Idle). Default `1800` (30 minutes). Env `TESSERA_SESSION_IDLE_TTL`.
    public var sessionIdleTimeout: Int = 1800
    /// OpenID Connect ID token lifetime in seconds. Default `3600`. Env `TESSERA_ID_TOKEN_TTL`.
    public var idTokenLifetime: Int = 3600
    /// PEM certificate chain file; with `tlsKey` Tessera serves HTTPS itself. Default none. Env `TESSERA_TLS_CERT`.
    public var tlsCert: String?
    /// PEM private key file for `tlsCert`. Default none. Env `TESSERA_TLS_KEY`.
    public var tlsKey: String?
    /// Reverse proxies (addresses or CIDR ranges) whose `X-Forwarded-For` and `X-Forwarded-Proto` are honoured;
    /// from any other peer they are ignored. Default none. Env `TESSERA_TRUSTED_PROXIES` (comma- or space-separated).
    public var trustedProxies = TrustedProxies([])
    /// Serve Prometheus metrics at `GET /metrics`. Default `true`. Env `TESSERA_METRICS`.
    public var metrics: Bool = true
    /// Bearer token `GET /metrics` requires (compared in constant time); without one the endpoint is public.
    /// Default none. Env `TESSERA_METRICS_TOKEN`, or `TESSERA_METRICS_TOKEN_FILE` naming a file that holds it.
    public var metricsToken: String?
    /// Seconds a connection may take to send a whole request head (from connecting, or from the first byte of
    /// a keep-alive connection's next request); then it is closed. Default `10`. Env `TESSERA_HEADER_TIMEOUT`.
    public var headerTimeout: Int = 10
    /// Seconds a request body may take to arrive after its head. Default `30`. Env `TESSERA_BODY_TIMEOUT`.
    public var bodyTimeout: Int = 30
    /// Seconds a keep-alive connection may stay idle between requests. Default `60`. Env `TESSERA_IDLE_TIMEOUT`.
    public var idleTimeout: Int = 60
    /// Most connections open at once on this node; more are closed as soon as they are accepted. Default `10000`.
    /// Env `TESSERA_MAX_CONNECTIONS`.
    public var maxConnections: Int = 10_000
    /// Key-encryption keys sealing signing keys and TOTP secrets at rest (`KeyEncryption`): base64 of 32 bytes
    /// each, the first seals, all open (rotation). Default none. Env `TESSERA_KEY_ENCRYPTION_KEYS` (comma-separated);
    /// never allowed in the config file. Without any, SQLite uses a generated `<database>.kek` file and
    /// PostgreSQL refuses to start (see `resolveKeyEncryption()`).
    public var keyEncryptionKeys: [String] = []
    /// A file holding more key-encryption keys, one per line (after `keyEncryptionKeys`); it must not be
    /// accessible to group or others. Default none. Env `TESSERA_KEY_ENCRYPTION_KEY_FILE`.
    public var keyEncryptionKeyFile: String?
    /// Upstream identity providers users may sign in through (config file key `identityProviders`, an array;
    /// see `IdentityProviderConfiguration`). Default none.
    public var identityProviders: [IdentityProviderSettings] = []
    /// Why some provider's client secret could not be read (checked by `requireIdentityProviderSecrets()`).
    public var identityProviderSecretProblems: [String] = []

    public init() {}

    /// Whether clients reach Tessera over https: the issuer is https, or Tessera terminates TLS itself.
    public var usesHTTPS: Bool { tlsCert != nil || effectiveIssuer.hasPrefix("https://") }

    /// The effective issuer.
    public var effectiveIssuer: String {
        let value = issuer ?? "\(tlsCert == nil ? "http" : "https")://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        return value.hasSuffix("/") ? String(value.dropLast()) : value
    }

    /// A configuration error, reported as one line.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Checks every value; run at start-up.
    public func validate() throws(Invalid) {
        guard (1...65_535).contains(port) else { throw Invalid("port must be between 1 and 65535") }
        guard (4...31).contains(bcryptCost) else { throw Invalid("bcryptCost must be between 4 and 31") }
        guard accessTokenLifetime >= 30, accessTokenLifetime <= 86_400 else { throw Invalid("accessTokenLifetime must be between 30 and 86400 seconds") }
        guard refreshTokenIdleLifetime > 0, refreshTokenAbsoluteLifetime >= refreshTokenIdleLifetime else {
            throw Invalid("refresh token lifetimes must be positive, the absolute one at least the idle one")
        }
        guard (60...86_400).contains(clientIDMetadataDocumentMaxAge) else { throw Invalid("clientIDMetadataDocumentMaxAge must be between 60 and 86400 seconds") }
        guard (0...300).contains(refreshGracePeriod) else { throw Invalid("refreshGracePeriod must be between 0 and 300 seconds") }
        guard (1...10).contains(refreshGraceReuses) else { throw Invalid("refreshGraceReuses must be between 1 and 10") }
        guard databasePoolSize >= 1 else { throw Invalid("databasePoolSize must be at least 1") }
        guard (1...300).contains(databaseTimeout) else { throw Invalid("databaseTimeout must be between 1 and 300 seconds") }
        guard maxBodySize >= 1024 else { throw Invalid("maxBodySize must be at least 1024") }
        guard keyReloadInterval >= 1 else { throw Invalid("keyReloadInterval must be at least 1 second") }
        guard initialAccessTokenLifetime >= 60 else { throw Invalid("initialAccessTokenLifetime must be at least 60 seconds") }
        guard registrationRateLimit >= 1 else { throw Invalid("registrationRateLimit must be at least 1") }
        // An off feature is `nil` (the env/file value `0` reads as `nil`); a value present must be usable.
        guard (tokenRateLimit ?? 1) >= 1, (loginRateLimit ?? 1) >= 1 else { throw Invalid("tokenRateLimit and loginRateLimit must be at least 1 (or off)") }
        guard (authorizeRateLimit ?? 1) >= 1 else { throw Invalid("authorizeRateLimit must be at least 1 (or off)") }
        guard rateLimitWindow >= 1 else { throw Invalid("rateLimitWindow must be at least 1 second") }
        guard (lockoutThreshold ?? 1) >= 1 else { throw Invalid("lockoutThreshold must be at least 1 (or off)") }
        guard (keyRotationInterval ?? 3600) >= 3600 else { throw Invalid("keyRotationInterval must be at least 3600 seconds (or off)") }
        guard keyPrePublication >= 0, keyPrePublication < keyRotationInterval ?? .max else {
            throw Invalid("keyPrePublication must be between 0 and keyRotationInterval")
        }
        if let audience {
            guard !audience.isEmpty else { throw Invalid("audience must name at least one URI (leave it unset for the issuer)") }
            for value in audience where !ResourceIndicators.isValid(value) { throw Self.notAnAudience(value) }
        }
        guard (1...600).contains(authorizationCodeLifetime) else { throw Invalid("authorizationCodeLifetime must be between 1 and 600 seconds") }
        guard sessionLifetime >= 60 else { throw Invalid("sessionLifetime must be at least 60 seconds") }
        guard sessionIdleTimeout >= 1 else { throw Invalid("sessionIdleTimeout must be at least 1 second") }
        guard (60...86_400).contains(idTokenLifetime) else { throw Invalid("idTokenLifetime must be between 60 and 86400 seconds") }
        guard let url = URL(string: effectiveIssuer), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil,
              url.query == nil, url.fragment == nil else {
            throw Invalid("issuer must be an http(s) URL without query or fragment")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw Invalid("tlsCert and tlsKey must be given together") }
        if !keyEncryptionKeys.isEmpty {
            do { _ = try KeyEncryption(encodedKeys: keyEncryptionKeys) } catch { throw Invalid("TESSERA_KEY_ENCRYPTION_KEYS: \(error)") }
        }
        guard headerTimeout >= 1, bodyTimeout >= 1, idleTimeout >= 1 else { throw Invalid("headerTimeout, bodyTimeout and idleTimeout must be at least 1 second") }
        guard maxConnections >= 1 else { throw Invalid("maxConnections must be at least 1") }
        if let metricsToken, metricsToken.count < 16 { throw Invalid("metricsToken must be at least 16 characters") }
        if let metricsToken {
            // Scrapers send it as `Authorization: Bearer`, so it must be RFC 6750 §2.1 `b64token` syntax.
            guard case .token(let parsed) = BearerCredentials.parse("Bearer " + metricsToken), parsed == metricsToken[...] else {
                throw Invalid("metricsToken must be RFC 6750 token characters (letters, digits, - . _ ~ + / and trailing =)")
            }
        }
    }

    /// Fails when a provider's client secret is missing: run by the commands that use the secrets (`serve`,
    /// `federation list`), so other admin commands work with the config file without them.
    public func requireIdentityProviderSecrets() throws(Invalid) {
        if let problem = identityProviderSecretProblems.first { throw Invalid(problem) }
    }

    /// The core's protocol settings.
    public var oauthSettings: OAuthSettings {
        var settings = OAuthSettings(issuer: effectiveIssuer)
        settings.accessTokenLifetime = TimeInterval(accessTokenLifetime)
        settings.accessTokenAlgorithm = accessTokenAlgorithm
        settings.refreshTokenIdleLifetime = TimeInterval(refreshTokenIdleLifetime)
        settings.refreshTokenAbsoluteLifetime = TimeInterval(refreshTokenAbsoluteLifetime)
        settings.refreshRotationGracePeriod = TimeInterval(refreshGracePeriod)
        settings.refreshRotationGraceReuses = refreshGraceReuses
        settings.defaultScopes = defaultScopes
        settings.authorizationCodeLifetime = TimeInterval(authorizationCodeLifetime)
        settings.idTokenLifetime = TimeInterval(idTokenLifetime)
        settings.lockout = lockoutThreshold.map { LockoutPolicy(threshold: $0) }
        if let audience { settings.defaultAudience = audience }
        return settings
    }

    // MARK: Loading

    /// Applies a JSON config file whose keys are this struct's property names.
    /// `identityProviders` secrets are read from `environment` (`clientSecretEnv`) or files.
    public mutating func apply(configFile path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(Invalid) {
        guard let data = FileManager.default.contents(atPath: path) else { throw Invalid("cannot read config file \(path)") }
        guard var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Invalid("config file \(path) is not a JSON object")
        }
        if let providers = object.removeValue(forKey: "identityProviders") {
            (identityProviders, identityProviderSecretProblems) = try IdentityProviderConfiguration.parse(providers, environment: environment)
        }
        if object["keyEncryptionKeys"] != nil {
            throw Invalid("config file \(path): a literal keyEncryptionKeys is not allowed in the config file; use TESSERA_KEY_ENCRYPTION_KEYS or keyEncryptionKeyFile")
        }
        var values: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case let string as String: values[key] = string
            case let number as NSNumber: values[key] = number.stringValue
            case let array as [String]: values[key] = array.joined(separator: " ")
            default: throw Invalid("config file key '\(key)' has an unsupported value")
            }
        }
        for key in values.keys where Self.keys[key] == nil { throw Invalid("config file has unknown key '\(key)'") }
        try apply(values, source: "config file")
    }

    /// Applies `TESSERA_*` environment variables (and `TESSERA_CONFIG` first, if set).
    public mutating func apply(environment: [String: String]) throws(Invalid) {
        if let file = environment["TESSERA_CONFIG"], !file.isEmpty { try apply(configFile: file, environment: environment) }
        var values: [String: String] = [:]
        for (key, env) in Self.keys { if let value = environment[env], !value.isEmpty { values[key] = value } }
        try apply(values, source: "environment")
    }

    /// Config-file key (property name) → environment variable, derived from `settings`; README.md's configuration
    /// table is tested against it (`ConfigurationDocumentationTests`).
    public static let keys: [String: String] = Dictionary(uniqueKeysWithValues: settings.map { ($0.key, $0.environment) })

    /// One setting as both loaders see it: its config-file key (the property name), its environment variable, and
    /// how a raw value is parsed into the typed property. Adding a setting is its property (with the doc comment),
    /// one entry in `settings`, a check in `validate()` if it has bounds, and its README row.
    struct Setting: Sendable {
        /// The property a setting writes (a key path literal is `Sendable`, SE-0418).
        typealias Path<Value> = any WritableKeyPath<TesseraConfiguration, Value> & Sendable
        let key: String
        let environment: String
        let apply: @Sendable (inout TesseraConfiguration, _ raw: String, _ source: String) throws(Invalid) -> Void

        /// Free text (a path, an address, a URL checked by `validate()`).
        static func text(_ key: String, _ environment: String, _ path: Path<String>) -> Setting {
            Setting(key: key, environment: environment) { configuration, raw, _ in configuration[keyPath: path] = raw }
        }
        static func text(_ key: String, _ environment: String, _ path: Path<String?>) -> Setting {
            Setting(key: key, environment: environment) { configuration, raw, _ in configuration[keyPath: path] = raw }
        }
        /// A whole number.
        static func int(_ key: String, _ environment: String, _ path: Path<Int>) -> Setting {
            Setting(key: key, environment: environment) { configuration, raw, source throws(Invalid) in
                configuration[keyPath: path] = try TesseraConfiguration.int(raw, key, source)
            }
        }
        /// A whole number whose feature is off when `nil`; the value `0` means off too (as before these were optional).
        static func intOrOff(_ key: String, _ environment: String, _ path: Path<Int?>) -> Setting {
            Setting(key: key, environment: environment) { configuration, raw, source throws(Invalid) in
                let value = try TesseraConfiguration.int(raw, key, source)
                configuration[keyPath: path] = value == 0 ? nil : value
            }
        }
        /// `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
        static func flag(_ key: String, _ environment: String, _ path: Path<Bool>) -> Setting {
            Setting(key: key, environment: environment) { configuration, raw, source throws(Invalid) in
                switch raw.lowercased() {
                case "true", "1", "yes", "on": configuration[keyPath: path] = true
                case "false", "0", "no", "off": configuration[keyPath: path] = false
                default: throw Invalid("\(key) from \(source) must be true or false, got '\(raw)'")
                }
            }
        }
        /// A space-separated list of host names (lowercased; letters, digits, `.`, `-`).
        static func hosts(_ key: String, _ environment: String, _ path: Path<Set<String>>) -> Setting {
            Setting(key: key, environment: environment) { configuration, raw, source throws(Invalid) in
                let hosts = raw.split(whereSeparator: { $0 == " " || $0 == "," }).map { $0.lowercased() }
                for host in hosts where host.isEmpty || !host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) {
                    throw Invalid("\(key) from \(source) must be host names separated by spaces, got '\(host)'")
                }
                configuration[keyPath: path] = Set(hosts)
            }
        }
        /// A space-separated `scope` list (RFC 6749 §3.3).
        static func scopes(_ key: String, _ environment: String, _ path: Path<ScopeSet>,
                           naming name: @escaping @Sendable (String) -> String = { _ in "" }) -> Setting {
            Setting(key: key, environment: environment) { configuration, raw, source throws(Invalid) in
                configuration[keyPath: path] = try TesseraConfiguration.scopes(raw, key + name(source))
            }
        }
        static func scopes(_ key: String, _ environment: String, _ path: Path<ScopeSet?>) -> Setting {
            Setting(key: key, environment: environment) { configuration, raw, _ throws(Invalid) in
                configuration[keyPath: path] = try TesseraConfiguration.scopes(raw, key)
            }
        }
    }

    /// Every setting, in the order both loaders apply them (`metricsTokenFile` after `metricsToken`, so the file wins).
    static let settings: [Setting] = [
        .text("host", "TESSERA_HOST", \.host),
        .int("port", "TESSERA_PORT", \.port),
        .text("issuer", "TESSERA_ISSUER", \.issuer),
        .text("database", "TESSERA_DATABASE", \.database),
        .int("databasePoolSize", "TESSERA_DATABASE_POOL_SIZE", \.databasePoolSize),
        .int("databaseTimeout", "TESSERA_DATABASE_TIMEOUT", \.databaseTimeout),
        .int("bcryptCost", "TESSERA_BCRYPT_COST", \.bcryptCost),
        .int("accessTokenLifetime", "TESSERA_ACCESS_TOKEN_TTL", \.accessTokenLifetime),
        Setting(key: "accessTokenAlgorithm", environment: "TESSERA_ACCESS_TOKEN_ALG") { configuration, raw, _ throws(Invalid) in
            guard let algorithm = SigningAlgorithm(rawValue: raw.uppercased()) else { throw Invalid("accessTokenAlgorithm must be ES256 or RS256") }
            configuration.accessTokenAlgorithm = algorithm
        },
        .int("refreshTokenIdleLifetime", "TESSERA_REFRESH_IDLE_TTL", \.refreshTokenIdleLifetime),
        .int("refreshTokenAbsoluteLifetime", "TESSERA_REFRESH_ABSOLUTE_TTL", \.refreshTokenAbsoluteLifetime),
        .int("refreshGracePeriod", "TESSERA_REFRESH_GRACE_PERIOD", \.refreshGracePeriod),
        .int("refreshGraceReuses", "TESSERA_REFRESH_GRACE_REUSES", \.refreshGraceReuses),
        .scopes("defaultScopes", "TESSERA_DEFAULT_SCOPES", \.defaultScopes),
        Setting(key: "audience", environment: "TESSERA_AUDIENCE") { configuration, raw, _ throws(Invalid) in
            configuration.audience = try TesseraConfiguration.audience(parsing: raw)
        },
        .int("maxBodySize", "TESSERA_MAX_BODY_BYTES", \.maxBodySize),
        .int("keyReloadInterval", "TESSERA_KEY_RELOAD_INTERVAL", \.keyReloadInterval),
        Setting(key: "logLevel", environment: "TESSERA_LOG_LEVEL") { configuration, raw, source throws(Invalid) in
            guard let level = Logger.Level(rawValue: raw.lowercased()) else {
                throw Invalid("logLevel from \(source) must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got '\(raw)'")
            }
            configuration.logLevel = level
        },
        .flag("openRegistration", "TESSERA_OPEN_REGISTRATION", \.openRegistration),
        .flag("allowLoopbackClientURLs", "TESSERA_ALLOW_LOOPBACK_CLIENT_URLS", \.allowLoopbackClientURLs),
        .flag("clientIDMetadataDocuments", "TESSERA_CLIENT_ID_METADATA_DOCUMENTS", \.clientIDMetadataDocuments),
        Setting(key: "corsOrigins", environment: "TESSERA_CORS_ORIGINS") { configuration, raw, source throws(Invalid) in
            let origins = raw.split(separator: " ").map(String.init)
            for origin in origins where AllowedOrigins.origin(of: origin) == nil {
                throw Invalid("corsOrigins from \(source) must be http(s) origins such as https://app.example, got '\(origin)'")
            }
            configuration.corsOrigins = Set(origins)
        },
        .hosts("clientIDMetadataDocumentHosts", "TESSERA_CLIENT_ID_METADATA_DOCUMENT_HOSTS", \.clientIDMetadataDocumentHosts),
        .hosts("clientIDMetadataDocumentBlockedHosts", "TESSERA_CLIENT_ID_METADATA_DOCUMENT_BLOCKED_HOSTS", \.clientIDMetadataDocumentBlockedHosts),
        .int("clientIDMetadataDocumentMaxAge", "TESSERA_CLIENT_ID_METADATA_DOCUMENT_MAX_AGE", \.clientIDMetadataDocumentMaxAge),
        .int("initialAccessTokenLifetime", "TESSERA_INITIAL_ACCESS_TOKEN_TTL", \.initialAccessTokenLifetime),
        .int("registrationRateLimit", "TESSERA_REGISTRATION_RATE_LIMIT", \.registrationRateLimit),
        .intOrOff("tokenRateLimit", "TESSERA_TOKEN_RATE_LIMIT", \.tokenRateLimit),
        .int("rateLimitWindow", "TESSERA_RATE_LIMIT_WINDOW", \.rateLimitWindow),
        .intOrOff("loginRateLimit", "TESSERA_LOGIN_RATE_LIMIT", \.loginRateLimit),
        .intOrOff("authorizeRateLimit", "TESSERA_AUTHORIZE_RATE_LIMIT", \.authorizeRateLimit),
        .intOrOff("lockoutThreshold", "TESSERA_LOCKOUT_THRESHOLD", \.lockoutThreshold),
        .scopes("registrationScopes", "TESSERA_REGISTRATION_SCOPES", \.registrationScopes),
        .scopes("openRegistrationScopes", "TESSERA_OPEN_REGISTRATION_SCOPES", \.openRegistrationScopes, naming: { " from \($0)" }),
        .intOrOff("keyRotationInterval", "TESSERA_KEY_ROTATION_INTERVAL", \.keyRotationInterval),
        .int("keyPrePublication", "TESSERA_KEY_PREPUBLICATION", \.keyPrePublication),
        .int("authorizationCodeLifetime", "TESSERA_AUTHORIZATION_CODE_TTL", \.authorizationCodeLifetime),
        .int("sessionLifetime", "TESSERA_SESSION_TTL", \.sessionLifetime),
        .int("sessionIdleTimeout", "TESSERA_SESSION_IDLE_TTL", \.sessionIdleTimeout),
        .int("idTokenLifetime", "TESSERA_ID_TOKEN_TTL", \.idTokenLifetime),
        Setting(key: "keyEncryptionKeys", environment: "TESSERA_KEY_ENCRYPTION_KEYS") { configuration, raw, _ in
            configuration.keyEncryptionKeys = raw.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        },
        .text("keyEncryptionKeyFile", "TESSERA_KEY_ENCRYPTION_KEY_FILE", \.keyEncryptionKeyFile),
        .text("tlsCert", "TESSERA_TLS_CERT", \.tlsCert),
        .text("tlsKey", "TESSERA_TLS_KEY", \.tlsKey),
        Setting(key: "trustedProxies", environment: "TESSERA_TRUSTED_PROXIES") { configuration, raw, _ throws(Invalid) in
            configuration.trustedProxies = try TrustedProxies(parsing: [raw])
        },
        .text("metricsToken", "TESSERA_METRICS_TOKEN", \.metricsToken),
        Setting(key: "metricsTokenFile", environment: "TESSERA_METRICS_TOKEN_FILE") { configuration, path, source throws(Invalid) in
            guard let data = FileManager.default.contents(atPath: path),
                  let token = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty
            else { throw Invalid("metricsTokenFile from \(source): cannot read a token from \(path)") }
            configuration.metricsToken = token
        },
        .int("headerTimeout", "TESSERA_HEADER_TIMEOUT", \.headerTimeout),
        .int("bodyTimeout", "TESSERA_BODY_TIMEOUT", \.bodyTimeout),
        .int("idleTimeout", "TESSERA_IDLE_TIMEOUT", \.idleTimeout),
        .int("maxConnections", "TESSERA_MAX_CONNECTIONS", \.maxConnections),
        .flag("metrics", "TESSERA_METRICS", \.metrics),
    ]

    private mutating func apply(_ values: [String: String], source: String) throws(Invalid) {
        for setting in Self.settings {
            if let raw = values[setting.key] { try setting.apply(&self, raw, source) }
        }
    }

    static func int(_ raw: String, _ key: String, _ source: String) throws(Invalid) -> Int {
        guard let value = Int(raw) else { throw Invalid("\(key) from \(source) must be a whole number, got '\(raw)'") }
        return value
    }

    /// A space-separated `scope` list (RFC 6749 §3.3).
    static func scopes(_ raw: String, _ key: String) throws(Invalid) -> ScopeSet {
        do { return try ScopeSet(parsing: raw) } catch { throw Invalid("\(key) has invalid characters") }
    }

    /// `audience` from its space-separated form: each value an absolute URI without fragment (RFC 8707 §2, the
    /// rule `resource` parameters follow), duplicates dropped; blank means the default (the issuer).
    public static func audience(parsing raw: String) throws(Invalid) -> [String]? {
        var values: [String] = []
        for value in raw.split(whereSeparator: \.isWhitespace).map(String.init) where !values.contains(value) {
            guard ResourceIndicators.isValid(value) else { throw notAnAudience(value) }
            values.append(value)
        }
        return values.isEmpty ? nil : values
    }

    private static func notAnAudience(_ value: String) -> Invalid {
        Invalid("audience: '\(value)' is not an absolute URI without fragment (RFC 8707 §2)")
    }
}
