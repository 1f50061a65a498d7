public import AsyncHTTPClient
public import Foundation
import JWTKit
public import Logging
public import TesseraJOSE

/// Verifies JWT access tokens (RFC 9068) issued by one authorization server.
///
/// A token is accepted only if all of these hold, in this order:
/// 1. it is a compact JWS whose header has `typ` `at+jwt` (or `application/at+jwt`), an `alg` in
///    ``Configuration/allowedAlgorithms``, a `kid`, and no `crit`;
/// 2. the signature verifies with the issuer's published key for that `kid` and `alg`;
/// 3. the payload has `iss`, `sub`, `client_id`, `jti`, `exp` and `iat`, with the right types;
/// 4. `iss` equals ``Configuration/issuer`` exactly;
/// 5. `exp` is in the future, and `nbf` and `iat` are not, allowing ``Configuration/leeway``;
/// 6. `aud` contains ``Configuration/audience``, when one is configured.
///
/// ```swift
/// let verifier = AccessTokenVerifier(issuer: "https://auth.example.com", audience: "https://api.example.com")
/// let token = try await verifier.verify(bearerToken)
/// ```
public struct AccessTokenVerifier: Sendable {
    /// What the verifier accepts.
    public struct Configuration: Sendable {
        /// The issuer identifier; the `iss` claim must equal it exactly.
        public var issuer: String
        /// The audience this resource server expects in `aud`; `nil` (the default) skips the check.
        public var audience: String?
        /// The signature algorithms accepted. Default ES256 and RS256.
        public var allowedAlgorithms: Set<JWSAlgorithm>
        /// Clock skew tolerated on `exp`, `nbf` and `iat`. Default 10 seconds.
        public var leeway: Duration
        /// Tokens longer than this many bytes are rejected unparsed. Default 16 KiB.
        public var maximumTokenLength: Int
        /// How many verified tokens ``VerifiedTokenCache`` remembers; `0` turns the cache off. Default 10,000.
        public var verifiedTokenCacheSize: Int

        /// Creates a configuration.
        public init(
            issuer: String,
            audience: String? = nil,
            allowedAlgorithms: Set<JWSAlgorithm> = [.es256, .rs256],
            leeway: Duration = .seconds(10),
            maximumTokenLength: Int = 16 * 1024,
            verifiedTokenCacheSize: Int = 10_000
        ) {
            self.issuer = issuer
            self.audience = audience
            self.allowedAlgorithms = allowedAlgorithms
            self.leeway = leeway
            self.maximumTokenLength = maximumTokenLength
            self.verifiedTokenCacheSize = verifiedTokenCacheSize
        }
    }

    /// What the verifier accepts.
    public let configuration: Configuration
    /// The issuer's keys.
    public let keys: JWKSCache
    /// Tokens that passed verification (``VerifiedTokenCache``); `nil` when turned off.
    public let cache: VerifiedTokenCache?
    private let now: @Sendable () -> Date

    /// Creates a verifier over an existing key cache.
    /// - Parameters:
    ///   - configuration: What the verifier accepts.
    ///   - keys: The issuer's keys; one cache may be shared by several verifiers.
    ///   - now: The clock; defaults to the system time.
    public init(configuration: Configuration, keys: JWKSCache, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.keys = keys
        self.cache = configuration.verifiedTokenCacheSize > 0 ? VerifiedTokenCache(capacity: configuration.verifiedTokenCacheSize) : nil
        self.now = now
    }

    /// Creates a verifier for Tessera tokens, fetching keys from `<issuer>/jwks.json`.
    /// - Parameters:
    ///   - issuer: The issuer identifier, e.g. `http://127.0.0.1:8080`.
    ///   - audience: The audience to require in `aud`, if any.
    ///   - httpClient: The client used to fetch keys.
    ///   - logger: Receives key refresh events; defaults to a no-op logger.
    public init(
        issuer: String,
        audience: String? = nil,
        httpClient: HTTPClient = .shared,
        logger: Logger = Logger(label: "tessera.resource-server", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        let fetcher = HTTPJWKSFetcher(issuer: issuer, httpClient: httpClient)
        self.init(
            configuration: Configuration(issuer: issuer, audience: audience),
            keys: JWKSCache(fetcher: fetcher, logger: logger)
        )
    }

    /// Creates a verifier for the resource described by `metadata`: RFC 9068 §4 requires a resource
    /// server to check that `aud` names it, so the expected audience is ``ProtectedResourceMetadata/resource``
    /// and the issuer is the first of ``ProtectedResourceMetadata/authorizationServers``.
    /// - Parameters:
    ///   - metadata: The resource's RFC 9728 metadata.
    ///   - httpClient: The client used to fetch keys.
    ///   - logger: Receives key refresh events; defaults to a no-op logger.
    public init(
        resource metadata: ProtectedResourceMetadata,
        httpClient: HTTPClient = .shared,
        logger: Logger = Logger(label: "tessera.resource-server", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.init(issuer: metadata.authorizationServers[0], audience: metadata.resource, httpClient: httpClient, logger: logger)
    }

    /// Verifies a compact JWT access token.
    ///
    /// A token verified before is answered from ``cache`` after re-checking its `exp` against the clock
    /// and that its signing key is still published (see ``VerifiedTokenCache``).
    /// - Returns: The verified token.
    /// - Throws: ``TokenVerificationError``, and nothing else.
    public func verify(_ token: some StringProtocol) async throws -> AccessToken {
        let now = self.now()
        guard token.utf8.count <= self.configuration.maximumTokenLength else {
            throw TokenVerificationError(.malformed, "The access token is too long")
        }
        let cacheKey = self.cache.map { _ in VerifiedTokenCache.key(token) }
        if let cache = self.cache, let cacheKey, let entry = cache.entry(for: cacheKey) {
            guard now.timeIntervalSince(entry.token.expiresAt) < self.configuration.leeway.timeInterval else {
                cache.remove(cacheKey)
                throw TokenVerificationError(.expired, "The access token expired")
            }
            if self.keys.isCurrent(kid: entry.kid, algorithm: entry.algorithm, now: now) {
                return entry.token
            }
            // The key left the key set, or the key set is due for a refresh: verify in full.
            cache.remove(cacheKey)
        }
        let malformed = TokenVerificationError(.malformed, "The access token is not a well-formed JWT")
        guard let jws = try? CompactJWS(token),
            let header = try? JSONDecoder().decode(JWSHeader.self, from: Data(jws.headerBytes))
        else {
            throw malformed
        }

        // RFC 9068 §4: typ must be at+jwt, which keeps ID tokens and other JWTs out.
        guard let type = header.typ?.lowercased(), type == "at+jwt" || type == "application/at+jwt" else {
            throw TokenVerificationError(.invalidType, "The token is not a JWT access token (typ must be at+jwt)")
        }
        guard let name = header.alg, let algorithm = JWSAlgorithm(name: name),
            self.configuration.allowedAlgorithms.contains(algorithm)
        else {
            throw TokenVerificationError(.algorithmNotAllowed, "The access token's signature algorithm is not accepted")
        }
        guard header.crit == nil else {
            throw TokenVerificationError(.unsupportedCriticalHeader, "The access token has unsupported critical header parameters")
        }
        guard let kid = header.kid, !kid.isEmpty else {
            throw TokenVerificationError(.unknownKey, "The access token does not identify its signing key")
        }

        let key = try await self.keys.verificationKey(kid: kid, algorithm: algorithm, now: now)
        let valid = (try? key.verify(jws.signature, signs: jws.signingInput)) ?? false
        guard valid else {
            throw TokenVerificationError(.invalidSignature, "The access token's signature is invalid")
        }

        let claims: [String: ClaimValue]
        do {
            claims = try JSONDecoder().decode([String: ClaimValue].self, from: jws.payload)
        } catch {
            throw TokenVerificationError(.malformed, "The access token's payload is not a JSON object")
        }
        let verified = try self.validate(claims, now: now)
        if let cache = self.cache, let cacheKey {
            cache.insert(VerifiedTokenCache.Entry(token: verified, kid: kid, algorithm: algorithm), for: cacheKey)
        }
        return verified
    }

    private func validate(_ claims: [String: ClaimValue], now: Date) throws -> AccessToken {
        func string(_ name: String) throws -> String {
            guard let value = claims[name]?.stringValue else {
                throw TokenVerificationError(.invalidClaims, "The access token has no valid \"\(name)\" claim")
            }
            return value
        }
        func date(_ name: String) throws -> Date? {
            guard let claim = claims[name] else { return nil }
            guard let seconds = claim.numberValue, seconds.isFinite else {
                throw TokenVerificationError(.invalidClaims, "The access token has no valid \"\(name)\" claim")
            }
            return Date(timeIntervalSince1970: seconds)
        }
        func requiredDate(_ name: String) throws -> Date {
            guard let value = try date(name) else {
                throw TokenVerificationError(.invalidClaims, "The access token has no valid \"\(name)\" claim")
            }
            return value
        }

        let issuer = try string("iss")
        let subject = try string("sub")
        let clientID = try string("client_id")
        let id = try string("jti")
        let expiresAt = try requiredDate("exp")
        let issuedAt = try requiredDate("iat")
        let notBefore = try date("nbf")

        let audience: [String]
        switch claims["aud"] {
        case nil:
            audience = []
        case .string(let value):
            audience = [value]
        case .array(let values):
            let strings = values.compactMap(\.stringValue)
            guard strings.count == values.count else {
                throw TokenVerificationError(.invalidClaims, "The access token has no valid \"aud\" claim")
            }
            audience = strings
        default:
            throw TokenVerificationError(.invalidClaims, "The access token has no valid \"aud\" claim")
        }

        let scopes: Set<String>
        switch claims["scope"] {
        case nil:
            scopes = []
        case .string(let value):
            scopes = Set(value.split(separator: " ").map(String.init))
        default:
            throw TokenVerificationError(.invalidClaims, "The access token has no valid \"scope\" claim")
        }

        guard issuer == self.configuration.issuer else {
            throw TokenVerificationError(.issuerMismatch, "The access token was issued by another authorization server")
        }
        let leeway = self.configuration.leeway.timeInterval
        guard now.timeIntervalSince(expiresAt) < leeway else {
            throw TokenVerificationError(.expired, "The access token expired")
        }
        if let notBefore, notBefore.timeIntervalSince(now) > leeway {
            throw TokenVerificationError(.notYetValid, "The access token is not valid yet")
        }
        guard issuedAt.timeIntervalSince(now) <= leeway else {
            throw TokenVerificationError(.notYetValid, "The access token was issued in the future")
        }
        if let expected = self.configuration.audience, !audience.contains(expected) {
            throw TokenVerificationError(.audienceMismatch, "The access token is not intended for this resource server")
        }

        return AccessToken(
            issuer: issuer,
            subject: subject,
            clientID: clientID,
            scopes: scopes,
            audience: audience,
            expiresAt: expiresAt,
            issuedAt: issuedAt,
            notBefore: notBefore,
            id: id,
            claims: claims
        )
    }
}

/// The protected-header parameters the verifier reads (RFC 7515 §4.1); a header whose `alg`, `typ` or `kid`
/// is not a string is malformed.
private struct JWSHeader: Decodable {
    let alg: String?
    let typ: String?
    let kid: String?
    let crit: ClaimValue?
}
