public import Foundation
public import TesseraJOSE
import JWTKit

/// Where a `private_key_jwt` client's public keys come from: its registered `jwks`, or its `jwks_uri` fetched
/// through the outbound URL guard (``ClientKeys``).
public protocol ClientKeySource: Sendable {
    /// The client's verification keys. `refresh` asks for a fresh fetch of a `jwks_uri` (a `kid` not found may be
    /// a key the client added since); a source may refuse to refetch more often than it allows.
    func keys(for client: Client, refresh: Bool) async throws(OAuthError) -> VerificationKeySet
}

/// Client-assertion `jti`s already used (RFC 7523 §3 item 7), shared by every node.
public protocol ClientAssertionReplayStore: Sendable {
    /// Records the assertion identified by `jtiDigest` for `clientID` until `expiresAt`, in one atomic insert.
    /// Returns `false` — and changes nothing — when it was recorded before: of concurrent uses exactly one wins.
    func recordClientAssertion(clientID: String, jtiDigest: Data, expiresAt: Date) async throws -> Bool
    /// Forgets assertions that expired before `before`. Returns how many were removed.
    @discardableResult
    func purgeClientAssertions(before: Date) async throws -> Int
}

/// Verifies a `private_key_jwt` client assertion (RFC 7523 §2.2 and §3, OIDC Core §9, RFC 9700 §2.5).
///
/// The JWT must be signed with one of the client's registered keys by an allowed asymmetric algorithm (never `none`
/// or HMAC: ``JWSAlgorithm`` cannot express them), carry `iss` = `sub` = the client id, an `aud` naming the issuer
/// or the endpoint it is presented to, an `exp` no further ahead than ``maximumLifetime``, and a `jti` never seen
/// before (recorded until `exp`, across nodes).
public struct ClientAssertionVerifier: Sendable {
    /// `client_assertion_type` for a JWT (RFC 7523 §2.2).
    public static let jwtBearerType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    /// Longer assertions are refused before any parsing.
    public static let maximumLength = 8192

    public let issuer: String
    public let keys: any ClientKeySource
    public let replays: any ClientAssertionReplayStore
    public let clock: any TimeSource
    /// How far ahead `exp` may be (and so how long a `jti` is remembered). Default one hour: Authlib's default
    /// assertion lifetime, and fosite's bound.
    public var maximumLifetime: TimeInterval = 3600
    /// Clock skew tolerated for `exp`, `nbf` and `iat`. Default 30 s.
    public var leeway: TimeInterval = 30
    /// The signature algorithms accepted (advertised as `token_endpoint_auth_signing_alg_values_supported`).
    public var allowedAlgorithms: [JWSAlgorithm] = JWSAlgorithm.allSupported

    public init(issuer: String, keys: any ClientKeySource, replays: any ClientAssertionReplayStore, clock: any TimeSource) {
        self.issuer = issuer
        self.keys = keys
        self.replays = replays
        self.clock = clock
    }

    /// The audiences an assertion presented at `endpoint` (`token`, `revoke`, `introspect`) may name: the issuer
    /// (draft-ietf-oauth-rfc7523bis), the token endpoint (RFC 7523 §3 item 3, OIDC Core §9) and the endpoint itself.
    public func audiences(at endpoint: String) -> Set<String> {
        [issuer, issuer + "/token", issuer + "/" + endpoint]
    }

    /// Verifies `assertion` as `client`'s, presented at `endpoint`, and records its `jti`.
    /// - Throws: `invalid_client` saying what is wrong (the client id is public; nothing here is secret).
    public func verify(_ assertion: String, client: Client, at endpoint: String) async throws(OAuthError) {
        func refuse(_ reason: String) -> OAuthError { OAuthError.invalidClient("The client assertion " + reason) }
        guard client.authMethod == .privateKeyJWT else {
            throw OAuthError.invalidClient("This client does not authenticate with private_key_jwt.")
        }
        guard assertion.utf8.count <= Self.maximumLength, let jws = try? CompactJWS(assertion) else {
            throw refuse("is not a well-formed JWT.")
        }
        guard let header = try? JSONDecoder().decode(AssertionHeader.self, from: Data(jws.headerBytes)) else {
            throw refuse("has an unreadable header.")
        }
        guard let algorithm = JWSAlgorithm(name: header.alg), allowedAlgorithms.contains(algorithm) else {
            throw refuse("is not signed with an accepted asymmetric algorithm.")
        }
        guard header.crit == nil else { throw refuse("has critical header parameters this server does not understand.") }

        var keySet = try await keys.keys(for: client, refresh: false)
        var key = keySet.key(kid: header.kid, algorithm: algorithm)
        if key == nil, client.jwksURI != nil {
            keySet = try await keys.keys(for: client, refresh: true)
            key = keySet.key(kid: header.kid, algorithm: algorithm)
        }
        guard let key else { throw refuse("names no registered \(algorithm) key of this client.") }
        guard (try? key.verifier.verify(jws.signature, signs: jws.signingInput)) == true else {
            throw refuse("signature does not verify with the client's key.")
        }

        guard let claims = try? JSONDecoder().decode(AssertionClaims.self, from: jws.payload) else {
            throw refuse("payload is not a JSON object with the required claims.")
        }
        guard claims.iss == client.id, claims.sub == client.id else {
            throw refuse("must have iss and sub equal to the client_id.")
        }
        guard !audiences(at: endpoint).isDisjoint(with: claims.aud.values) else {
            throw refuse("audience must be the issuer (\(issuer)) or this endpoint.")
        }
        let now = clock.now
        guard let exp = claims.exp else { throw refuse("has no exp.") }
        let expiry = Date(timeIntervalSince1970: exp)
        guard expiry.timeIntervalSince(now) > -leeway else { throw refuse("has expired.") }
        guard expiry.timeIntervalSince(now) <= maximumLifetime + leeway else {
            throw refuse("expires too far ahead (at most \(Int(maximumLifetime)) s).")
        }
        if let nbf = claims.nbf, Date(timeIntervalSince1970: nbf).timeIntervalSince(now) > leeway {
            throw refuse("is not valid yet (nbf).")
        }
        if let iat = claims.iat, Date(timeIntervalSince1970: iat).timeIntervalSince(now) > leeway {
            throw refuse("was issued in the future (iat).")
        }
        guard let jti = claims.jti, !jti.isEmpty, jti.utf8.count <= 512 else { throw refuse("needs a jti.") }
        let recorded: Bool
        do {
            recorded = try await replays.recordClientAssertion(clientID: client.id, jtiDigest: Secrets.digest(jti),
                                                               expiresAt: expiry.addingTimeInterval(leeway))
        } catch {
            throw OAuthError(.temporarilyUnavailable, "The client assertion could not be checked for replay.")
        }
        guard recorded else { throw refuse("was already used (jti replay).") }
    }

    /// The client an assertion claims to be (its unverified `sub`), for a request that sends no `client_id`
    /// (RFC 7521 §4.2). Verification then checks it against the signature and `iss`.
    public static func claimedClientID(_ assertion: String) -> String? {
        guard assertion.utf8.count <= maximumLength, let jws = try? CompactJWS(assertion),
            let claims = try? JSONDecoder().decode(AssertionClaims.self, from: jws.payload)
        else {
            return nil
        }
        return claims.sub
    }
}

private struct AssertionHeader: Decodable {
    let alg: String
    let kid: String?
    let crit: [String]?
}

private struct AssertionClaims: Decodable {
    let iss: String?
    let sub: String?
    let aud: Audience
    let exp: Double?
    let nbf: Double?
    let iat: Double?
    let jti: String?

    /// `aud` as one string or an array of strings (RFC 7519 §4.1.3).
    struct Audience: Decodable {
        let values: Set<String>
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                values = [one]
            } else {
                values = Set(try container.decode([String].self))
            }
        }
    }
}
