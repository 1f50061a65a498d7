public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// Verifies access tokens by asking the issuer (OAuth 2.0 Token Introspection, RFC 7662).
///
/// Unlike ``AccessTokenVerifier`` it sees revocations: a revoked token is refused as soon as its cached
/// answer expires. The API authenticates at `<issuer>/introspect` with its own client credentials
/// (HTTP Basic). Only positive answers are cached, for ``Configuration/cacheDuration`` (default 30 s) and
/// never beyond the token's `exp`.
///
/// A token is accepted when the answer is `"active": true`, `token_type` (if given) is `access_token`,
/// `iss` (if given) is the configured issuer, `exp` is in the future, `sub` and `client_id` are present,
/// and `aud` contains ``Configuration/audience`` when one is configured.
///
/// ```swift
/// let verifier = IntrospectionTokenVerifier(issuer: "https://auth.example.com", clientID: "orders-api",
///                                           clientSecret: secret, audience: "https://orders.example.com")
/// router.add(middleware: BearerTokenMiddleware(verifier: verifier))
/// ```
public struct IntrospectionTokenVerifier: BearerTokenVerifier {
    public struct Configuration: Sendable {
        /// The issuer identifier; a returned `iss` must equal it.
        public var issuer: String
        /// The introspection endpoint. Default `<issuer>/introspect`.
        public var endpoint: String
        /// This API's client id and secret at the issuer.
        public var clientID: String
        public var clientSecret: String
        /// The audience required in `aud`; `nil` skips the check.
        public var audience: String?
        /// How long a positive answer is reused. Default 30 seconds; zero disables caching.
        public var cacheDuration: Duration
        /// Tokens longer than this are rejected without asking. Default 16 KiB.
        public var maximumTokenLength: Int

        public init(issuer: String, endpoint: String? = nil, clientID: String, clientSecret: String, audience: String? = nil,
                    cacheDuration: Duration = .seconds(30), maximumTokenLength: Int = 16 * 1024) {
            var base = issuer
            while base.hasSuffix("/") { base.removeLast() }
            self.issuer = issuer
            self.endpoint = endpoint ?? base + "/introspect"
            self.clientID = clientID
            self.clientSecret = clientSecret
            self.audience = audience
            self.cacheDuration = cacheDuration
            self.maximumTokenLength = maximumTokenLength
        }
    }

    /// Sends the introspection request and returns the JSON answer. Injectable for tests.
    public typealias Transport = @Sendable (_ token: String, _ configuration: Configuration) async throws -> Data

    public let configuration: Configuration
    private let transport: Transport
    private let cache: IntrospectionCache
    private let now: @Sendable () -> Date

    public init(configuration: Configuration, transport: @escaping Transport, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.transport = transport
        self.cache = IntrospectionCache()
        self.now = now
    }

    /// A verifier that POSTs to the issuer's introspection endpoint with AsyncHTTPClient.
    public init(issuer: String, clientID: String, clientSecret: String, audience: String? = nil, cacheDuration: Duration = .seconds(30),
                httpClient: HTTPClient = .shared) {
        self.init(configuration: Configuration(issuer: issuer, clientID: clientID, clientSecret: clientSecret, audience: audience,
                                               cacheDuration: cacheDuration),
                  transport: Self.httpTransport(httpClient))
    }

    public func verify(_ token: some StringProtocol) async throws -> AccessToken {
        let token = String(token)
        guard !token.isEmpty, token.utf8.count <= configuration.maximumTokenLength else {
            throw TokenVerificationError(.malformed, "The access token is too long")
        }
        let now = self.now()
        if let cached = await cache.get(token, now: now) { return cached }
        let data: Data
        do {
            data = try await transport(token, configuration)
        } catch let error as TokenVerificationError {
            throw error
        } catch {
            throw TokenVerificationError(.introspectionUnavailable, "The authorization server could not be asked about the token")
        }
        let accessToken = try validate(data, now: now)
        let seconds = configuration.cacheDuration.timeInterval
        if seconds > 0 {
            await cache.put(token, accessToken, until: min(now.addingTimeInterval(seconds), accessToken.expiresAt), now: now)
        }
        return accessToken
    }

    private func validate(_ data: Data, now: Date) throws -> AccessToken {
        guard let claims = try? JSONDecoder().decode([String: ClaimValue].self, from: data) else {
            throw TokenVerificationError(.introspectionUnavailable, "The introspection answer is not a JSON object")
        }
        guard case .bool(true) = claims["active"] else { throw TokenVerificationError(.inactive, "The access token is not active") }
        if let type = claims["token_type"], type.stringValue != "access_token" {
            throw TokenVerificationError(.invalidType, "The token is not an access token")
        }
        if let iss = claims["iss"], iss.stringValue != configuration.issuer {
            throw TokenVerificationError(.issuerMismatch, "The access token was issued by another authorization server")
        }
        guard let subject = claims["sub"]?.stringValue, let clientID = claims["client_id"]?.stringValue,
              let exp = claims["exp"]?.numberValue else {
            throw TokenVerificationError(.invalidClaims, "The introspection answer lacks sub, client_id or exp")
        }
        let expiresAt = Date(timeIntervalSince1970: exp)
        guard expiresAt > now else { throw TokenVerificationError(.expired, "The access token expired") }
        let audience: [String]
        switch claims["aud"] {
        case .string(let value): audience = [value]
        case .array(let values): audience = values.compactMap(\.stringValue)
        default: audience = []
        }
        if let expected = configuration.audience, !audience.contains(expected) {
            throw TokenVerificationError(.audienceMismatch, "The access token is not intended for this resource server")
        }
        let scopes = Set((claims["scope"]?.stringValue ?? "").split(separator: " ").map(String.init))
        return AccessToken(issuer: claims["iss"]?.stringValue ?? configuration.issuer, subject: subject, clientID: clientID, scopes: scopes,
                           audience: audience, expiresAt: expiresAt,
                           issuedAt: claims["iat"]?.numberValue.map(Date.init(timeIntervalSince1970:)) ?? now,
                           id: claims["jti"]?.stringValue ?? "", claims: claims)
    }

    /// POSTs `token=…&token_type_hint=access_token` with HTTP Basic client authentication (RFC 7662 §2.1).
    public static func httpTransport(_ httpClient: HTTPClient, timeout: Duration = .seconds(10)) -> Transport {
        { token, configuration in
            var request = HTTPClientRequest(url: configuration.endpoint)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.headers.add(name: "Accept", value: "application/json")
            // RFC 6749 §2.3.1: id and secret are form-encoded before Basic encoding.
            let credentials = "\(formEncode(configuration.clientID)):\(formEncode(configuration.clientSecret))"
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
            request.body = .bytes(ByteBuffer(string: "token=\(formEncode(token))&token_type_hint=access_token"))
            let components = timeout.components
            let response = try await httpClient.execute(request, timeout: .seconds(components.seconds))
            guard response.status == .ok else {
                throw TokenVerificationError(.introspectionUnavailable, "The introspection endpoint answered HTTP \(response.status.code)")
            }
            var body = try await response.body.collect(upTo: 64 * 1024)
            return Data(body.readBytes(length: body.readableBytes) ?? [])
        }
    }

    static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

/// Positive introspection answers, by token, until their cache expiry. Bounded in size.
actor IntrospectionCache {
    private var entries: [String: (token: AccessToken, until: Date)] = [:]
    private let capacity = 10_000

    func get(_ key: String, now: Date) -> AccessToken? {
        guard let entry = entries[key] else { return nil }
        guard entry.until > now else {
            entries[key] = nil
            return nil
        }
        return entry.token
    }

    func put(_ key: String, _ token: AccessToken, until: Date, now: Date) {
        if entries.count >= capacity { entries = entries.filter { $0.value.until > now } }
        if entries.count >= capacity { entries.removeAll() }
        entries[key] = (token, until)
    }
}
