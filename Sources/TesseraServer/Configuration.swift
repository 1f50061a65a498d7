import Foundation
import Logging
import TesseraCore

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
    /// Scopes granted when a request names none. Default `read`. Env `TESSERA_DEFAULT_SCOPES` (space-separated).
    public var defaultScopes: ScopeSet = ["read"]
    /// `aud` of access tokens. Default: the issuer. Env `TESSERA_AUDIENCE` (space-separated).
    public var audience: String?
    /// Largest accepted request body in bytes; larger gets 413. Default `65536`. Env `TESSERA_MAX_BODY_BYTES`.
    public var maxBodySize: Int = 65_536
    /// How often each node re-reads signing keys from the database, in seconds. Default `30`. Env `TESSERA_KEY_RELOAD_INTERVAL`.
    public var keyReloadInterval: Int = 30
    /// Log level (`trace` … `critical`, case-insensitive). Default `info`. Env `TESSERA_LOG_LEVEL`.
    public var logLevel: Logger.Level = .info
    /// Allow `POST /register` without an initial access token (RFC 7591 §3; for MCP-style clients that register
    /// themselves), rate limited per IP. Default `false`. Env `TESSERA_OPEN_REGISTRATION`.
    public var openRegistration: Bool = false
    /// Lifetime of initial access tokens from `tessera client registration-token`, in seconds. Default `86400`.
    /// Env `TESSERA_INITIAL_ACCESS_TOKEN_TTL`.
    public var initialAccessTokenLifetime: Int = 86_400
    /// Open registrations allowed per IP address per minute. Default `10`. Env `TESSERA_REGISTRATION_RATE_LIMIT`.
    public var registrationRateLimit: Int = 10
    /// Requests to `/token` and `/introspect` allowed per authenticated client (HTTP Basic) or else per IP
    /// address, per `rateLimitWindow`, counted in memory on each node (N nodes admit up to N × this). `0` turns it off. Default `600`. Env `TESSERA_TOKEN_RATE_LIMIT`.
    public var tokenRateLimit: Int = 600
    /// The fixed window of `tokenRateLimit`, in seconds. Default `10`. Env `TESSERA_RATE_LIMIT_WINDOW`.
    public var rateLimitWindow: Int = 10
    /// Login form posts (`POST /login`) allowed per IP address per minute. `0` turns it off. Default `20`.
    /// Env `TESSERA_LOGIN_RATE_LIMIT`.
    public var loginRateLimit: Int = 20
    /// Failed logins (password grant or login page) for one username within 15 minutes before it is locked
    /// for 1 minute, doubling with each further failure up to 1 hour. `0` turns lockout off. Default `5`.
    /// Env `TESSERA_LOCKOUT_THRESHOLD`.
    public var lockoutThreshold: Int = 5
    /// Scopes a dynamically registered client may have (others it asks for are dropped). Default: `defaultScopes`
    /// plus `openid profile email`. Env `TESSERA_REGISTRATION_SCOPES`.
    public var registrationScopes: ScopeSet?
    /// The only scopes a client from open registration (no initial access token) may have, and gets when it names
    /// none. Keep it minimal: no API scopes. Default `openid profile email`. Env `TESSERA_OPEN_REGISTRATION_SCOPES`.
    public var openRegistrationScopes: ScopeSet = TesseraConfiguration.minimalOpenRegistrationScopes
    /// The identity scopes only: what `doctor` accepts for `openRegistrationScopes` without a warning.
    public static let minimalOpenRegistrationScopes: ScopeSet = ["openid", "profile", "email"]
    /// Signing keys are rotated automatically this often, in seconds; `0` turns it off. Default 30 days.
    /// Env `TESSERA_KEY_ROTATION_INTERVAL`.
    public var keyRotationInterval: Int = 30 * 86_400
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
        guard databasePoolSize >= 1 else { throw Invalid("databasePoolSize must be at least 1") }
        guard (1...300).contains(databaseTimeout) else { throw Invalid("databaseTimeout must be between 1 and 300 seconds") }
        guard maxBodySize >= 1024 else { throw Invalid("maxBodySize must be at least 1024") }
        guard keyReloadInterval >= 1 else { throw Invalid("keyReloadInterval must be at least 1 second") }
        guard initialAccessTokenLifetime >= 60 else { throw Invalid("initialAccessTokenLifetime must be at least 60 seconds") }
        guard registrationRateLimit >= 1 else { throw Invalid("registrationRateLimit must be at least 1") }
        guard tokenRateLimit >= 0, loginRateLimit >= 0 else { throw Invalid("tokenRateLimit and loginRateLimit must be 0 (off) or more") }
        guard rateLimitWindow >= 1 else { throw Invalid("rateLimitWindow must be at least 1 second") }
        guard lockoutThreshold >= 0 else { throw Invalid("lockoutThreshold must be 0 (off) or more") }
        guard keyRotationInterval == 0 || keyRotationInterval >= 3600 else { throw Invalid("keyRotationInterval must be 0 (off) or at least 3600 seconds") }
        guard keyPrePublication >= 0, keyRotationInterval == 0 || keyPrePublication < keyRotationInterval else {
            throw Invalid("keyPrePublication must be between 0 and keyRotationInterval")
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
        settings.defaultScopes = defaultScopes
        settings.authorizationCodeLifetime = TimeInterval(authorizationCodeLifetime)
        settings.idTokenLifetime = TimeInterval(idTokenLifetime)
        settings.lockout.threshold = lockoutThreshold
        if let audience, !audience.isEmpty {
            settings.defaultAudience = audience.split(separator: " ").map(String.init)
        }
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

    /// Config-file key (property name) → environment variable: the one table both loaders read; README.md's
    /// configuration table is tested against it (`ConfigurationDocumentationTests`).
    public static let keys: [String: String] = [
        "host": "TESSERA_HOST", "port": "TESSERA_PORT", "issuer": "TESSERA_ISSUER", "database": "TESSERA_DATABASE",
        "databasePoolSize": "TESSERA_DATABASE_POOL_SIZE", "databaseTimeout": "TESSERA_DATABASE_TIMEOUT", "bcryptCost": "TESSERA_BCRYPT_COST",
        "accessTokenLifetime": "TESSERA_ACCESS_TOKEN_TTL", "accessTokenAlgorithm": "TESSERA_ACCESS_TOKEN_ALG",
        "refreshTokenIdleLifetime": "TESSERA_REFRESH_IDLE_TTL", "refreshTokenAbsoluteLifetime": "TESSERA_REFRESH_ABSOLUTE_TTL",
        "defaultScopes": "TESSERA_DEFAULT_SCOPES", "audience": "TESSERA_AUDIENCE", "maxBodySize": "TESSERA_MAX_BODY_BYTES",
        "keyReloadInterval": "TESSERA_KEY_RELOAD_INTERVAL", "logLevel": "TESSERA_LOG_LEVEL",
        "openRegistration": "TESSERA_OPEN_REGISTRATION", "initialAccessTokenLifetime": "TESSERA_INITIAL_ACCESS_TOKEN_TTL",
        "registrationRateLimit": "TESSERA_REGISTRATION_RATE_LIMIT", "registrationScopes": "TESSERA_REGISTRATION_SCOPES",
        "openRegistrationScopes": "TESSERA_OPEN_REGISTRATION_SCOPES",
        "tokenRateLimit": "TESSERA_TOKEN_RATE_LIMIT", "rateLimitWindow": "TESSERA_RATE_LIMIT_WINDOW", "loginRateLimit": "TESSERA_LOGIN_RATE_LIMIT",
        "lockoutThreshold": "TESSERA_LOCKOUT_THRESHOLD",
        "keyRotationInterval": "TESSERA_KEY_ROTATION_INTERVAL", "keyPrePublication": "TESSERA_KEY_PREPUBLICATION",
        "authorizationCodeLifetime": "TESSERA_AUTHORIZATION_CODE_TTL", "sessionLifetime": "TESSERA_SESSION_TTL",
        "sessionIdleTimeout": "TESSERA_SESSION_IDLE_TTL",
        "idTokenLifetime": "TESSERA_ID_TOKEN_TTL",
        "keyEncryptionKeys": "TESSERA_KEY_ENCRYPTION_KEYS", "keyEncryptionKeyFile": "TESSERA_KEY_ENCRYPTION_KEY_FILE",
        "tlsCert": "TESSERA_TLS_CERT", "tlsKey": "TESSERA_TLS_KEY", "trustedProxies": "TESSERA_TRUSTED_PROXIES", "metrics": "TESSERA_METRICS",
        "metricsToken": "TESSERA_METRICS_TOKEN", "metricsTokenFile": "TESSERA_METRICS_TOKEN_FILE",
        "headerTimeout": "TESSERA_HEADER_TIMEOUT", "bodyTimeout": "TESSERA_BODY_TIMEOUT", "idleTimeout": "TESSERA_IDLE_TIMEOUT",
        "maxConnections": "TESSERA_MAX_CONNECTIONS",
    ]

    private mutating func apply(_ values: [String: String], source: String) throws(Invalid) {
        func int(_ key: String) throws(Invalid) -> Int? {
            guard let raw = values[key] else { return nil }
            guard let value = Int(raw) else { throw Invalid("\(key) from \(source) must be a whole number, got '\(raw)'") }
            return value
        }
        /// A space-separated `scope` list (RFC 6749 §3.3).
        func scopes(_ raw: String, _ key: String) throws(Invalid) -> ScopeSet {
            do { return try ScopeSet(parsing: raw) } catch { throw Invalid("\(key) has invalid characters") }
        }
        if let v = values["host"] { host = v }
        if let v = try int("port") { port = v }
        if let v = values["issuer"] { issuer = v }
        if let v = values["database"] { database = v }
        if let v = try int("databasePoolSize") { databasePoolSize = v }
        if let v = try int("databaseTimeout") { databaseTimeout = v }
        if let v = try int("bcryptCost") { bcryptCost = v }
        if let v = try int("accessTokenLifetime") { accessTokenLifetime = v }
        if let v = values["accessTokenAlgorithm"] {
            guard let algorithm = SigningAlgorithm(rawValue: v.uppercased()) else { throw Invalid("accessTokenAlgorithm must be ES256 or RS256") }
            accessTokenAlgorithm = algorithm
        }
        if let v = try int("refreshTokenIdleLifetime") { refreshTokenIdleLifetime = v }
        if let v = try int("refreshTokenAbsoluteLifetime") { refreshTokenAbsoluteLifetime = v }
        if let v = values["defaultScopes"] { defaultScopes = try scopes(v, "defaultScopes") }
        if let v = values["audience"] { audience = v }
        if let v = try int("maxBodySize") { maxBodySize = v }
        if let v = try int("keyReloadInterval") { keyReloadInterval = v }
        if let v = values["logLevel"] {
            guard let level = Logger.Level(rawValue: v.lowercased()) else {
                throw Invalid("logLevel from \(source) must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")), got '\(v)'")
            }
            logLevel = level
        }
        if let raw = values["openRegistration"] {
            switch raw.lowercased() {
            case "true", "1", "yes", "on": openRegistration = true
            case "false", "0", "no", "off": openRegistration = false
            default: throw Invalid("openRegistration from \(source) must be true or false, got '\(raw)'")
            }
        }
        if let v = try int("initialAccessTokenLifetime") { initialAccessTokenLifetime = v }
        if let v = try int("registrationRateLimit") { registrationRateLimit = v }
        if let v = try int("tokenRateLimit") { tokenRateLimit = v }
        if let v = try int("rateLimitWindow") { rateLimitWindow = v }
        if let v = try int("loginRateLimit") { loginRateLimit = v }
        if let v = try int("lockoutThreshold") { lockoutThreshold = v }
        if let v = values["registrationScopes"] { registrationScopes = try scopes(v, "registrationScopes") }
        if let v = values["openRegistrationScopes"] { openRegistrationScopes = try scopes(v, "openRegistrationScopes from \(source)") }
        if let v = try int("keyRotationInterval") { keyRotationInterval = v }
        if let v = try int("keyPrePublication") { keyPrePublication = v }
        if let v = try int("authorizationCodeLifetime") { authorizationCodeLifetime = v }
        if let v = try int("sessionLifetime") { sessionLifetime = v }
        if let v = try int("sessionIdleTimeout") { sessionIdleTimeout = v }
        if let v = try int("idTokenLifetime") { idTokenLifetime = v }
        if let v = values["keyEncryptionKeys"] { keyEncryptionKeys = v.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init) }
        if let v = values["keyEncryptionKeyFile"] { keyEncryptionKeyFile = v }
        if let v = values["tlsCert"] { tlsCert = v }
        if let v = values["tlsKey"] { tlsKey = v }
        if let v = values["trustedProxies"] { trustedProxies = try TrustedProxies(parsing: [v]) }
        if let v = values["metricsToken"] { metricsToken = v }
        if let path = values["metricsTokenFile"] {
            guard let data = FileManager.default.contents(atPath: path),
                  let token = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty
            else { throw Invalid("metricsTokenFile from \(source): cannot read a token from \(path)") }
            metricsToken = token
        }
        if let v = try int("headerTimeout") { headerTimeout = v }
        if let v = try int("bodyTimeout") { bodyTimeout = v }
        if let v = try int("idleTimeout") { idleTimeout = v }
        if let v = try int("maxConnections") { maxConnections = v }
        if let raw = values["metrics"] {
            switch raw.lowercased() {
            case "true", "1", "yes", "on": metrics = true
            case "false", "0", "no", "off": metrics = false
            default: throw Invalid("metrics from \(source) must be true or false, got '\(raw)'")
            }
        }
    }
}
