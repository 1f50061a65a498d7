import CryptoExtras
import Foundation
import JWTKit
import TesseraResourceServer
import Testing
import TesseraJOSE

/// A fake authorization server: signing keys generated per test run (never stored), their JWKS,
/// and a token minter that can produce any header and payload, valid or not.
struct TestIssuer: Sendable {
    static let issuer = "https://issuer.test"
    static let audience = "https://api.test"
    /// The fixed "current time" of the tests.
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    let ecKey: ES256PrivateKey
    let secondECKey: ES256PrivateKey
    let rsaKey: JWTKit.Insecure.RSA.PrivateKey
    let ecSigner: any JWTAlgorithm
    let secondECSigner: any JWTAlgorithm
    let rsaSigner: any JWTAlgorithm

    /// One RSA key for the whole run: generating one is slow.
    private static let sharedRSAKey: JWTKit.Insecure.RSA.PrivateKey = {
        try! JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
    }()

    static func make() async throws -> TestIssuer {
        let ecKey = ES256PrivateKey()
        let secondECKey = ES256PrivateKey()
        let rsaKey = Self.sharedRSAKey
        let collection = JWTKeyCollection()
        await collection.add(ecdsa: ecKey, kid: "ec-1")
        await collection.add(ecdsa: secondECKey, kid: "ec-2")
        await collection.add(rsa: rsaKey, digestAlgorithm: .sha256, kid: "rsa-1")
        return TestIssuer(
            ecKey: ecKey,
            secondECKey: secondECKey,
            rsaKey: rsaKey,
            ecSigner: try await collection.getKey(for: "ec-1"),
            secondECSigner: try await collection.getKey(for: "ec-2"),
            rsaSigner: try await collection.getKey(for: "rsa-1")
        )
    }

    // MARK: JWKS

    func ecJWK(kid: String = "ec-1", key: ES256PrivateKey? = nil, alg: String? = "ES256") -> [String: ClaimValue] {
        let parameters = (key ?? self.ecKey).publicKey.parameters!
        var jwk: [String: ClaimValue] = [
            "kty": "EC", "crv": "P-256", "x": .string(parameters.x), "y": .string(parameters.y),
            "kid": .string(kid), "use": "sig",
        ]
        if let alg { jwk["alg"] = .string(alg) }
        return jwk
    }

    func rsaJWK(kid: String = "rsa-1", alg: String? = "RS256") -> [String: ClaimValue] {
        let primitives = try! self.rsaKey.publicKey.getKeyPrimitives()
        var jwk: [String: ClaimValue] = [
            "kty": "RSA", "n": .string(base64URL(primitives.modulus)), "e": .string(base64URL(primitives.publicExponent)),
            "kid": .string(kid), "use": "sig",
        ]
        if let alg { jwk["alg"] = .string(alg) }
        return jwk
    }

    /// The issuer's key set: by default the ES256 key `ec-1` and the RS256 key `rsa-1`.
    func jwks(_ keys: [[String: ClaimValue]]? = nil) -> Data {
        let keys = keys ?? [self.ecJWK(), self.rsaJWK()]
        return try! JSONEncoder().encode(["keys": ClaimValue.array(keys.map(ClaimValue.object))])
    }

    // MARK: Tokens

    /// Valid RFC 9068 claims for `now`.
    static func claims(now: Date = Self.now) -> [String: ClaimValue] {
        [
            "iss": .string(Self.issuer),
            "sub": "alice",
            "aud": .array([.string(Self.audience)]),
            "exp": .number(now.timeIntervalSince1970 + 300),
            "iat": .number(now.timeIntervalSince1970 - 10),
            "jti": "token-1",
            "client_id": "web-app",
            "scope": "read profile",
        ]
    }

    /// A token signed by `ec-1` (ES256) with valid claims, changed by `edit`.
    func token(
        alg: String = "ES256",
        kid: String? = "ec-1",
        typ: String? = "at+jwt",
        extraHeader: [String: ClaimValue] = [:],
        signer: (any JWTAlgorithm)? = nil,
        edit: (inout [String: ClaimValue]) -> Void = { _ in }
    ) throws -> String {
        var header: [String: ClaimValue] = ["alg": .string(alg)]
        if let kid { header["kid"] = .string(kid) }
        if let typ { header["typ"] = .string(typ) }
        header.merge(extraHeader) { $1 }
        var claims = Self.claims()
        edit(&claims)
        return try Self.sign(header: header, claims: claims, with: signer ?? self.ecSigner)
    }

    /// A token signed by `rsa-1` (RS256).
    func rsaToken(edit: (inout [String: ClaimValue]) -> Void = { _ in }) throws -> String {
        try self.token(alg: "RS256", kid: "rsa-1", signer: self.rsaSigner, edit: edit)
    }

    static func sign(header: [String: ClaimValue], claims: [String: ClaimValue], with signer: any JWTAlgorithm) throws -> String {
        let input = try base64URL(JSONEncoder().encode(header)) + "." + base64URL(JSONEncoder().encode(claims))
        let signature = try signer.sign(Array(input.utf8))
        return input + "." + base64URL(signature)
    }
}

func base64URL(_ bytes: some Sequence<UInt8>) -> String {
    Data(bytes).base64EncodedString()
        .replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// A key set source that counts its fetches and can fail or be slow on demand.
actor FakeJWKSFetcher: JWKSFetcher {
    private(set) var fetchCount = 0
    private var document: Data
    private var failure: (any Error)?
    private var delay: Duration?

    init(_ document: Data) {
        self.document = document
    }

    func fetchJWKS() async throws -> Data {
        self.fetchCount += 1
        if let delay { try await Task.sleep(for: delay) }
        if let failure { throw failure }
        return self.document
    }

    func setDocument(_ document: Data) { self.document = document }
    func setFailure(_ failure: (any Error)?) { self.failure = failure }
    func setDelay(_ delay: Duration?) { self.delay = delay }
}

struct FetchFailed: Error {}

/// A verifier over a fake fetcher, at a fixed time.
func makeVerifier(
    fetcher: FakeJWKSFetcher,
    audience: String? = TestIssuer.audience,
    allowedAlgorithms: Set<JWSAlgorithm> = [.es256, .rs256],
    leeway: Duration = .seconds(10),
    now: Date = TestIssuer.now,
    cacheConfiguration: JWKSCache.Configuration = .init()
) -> AccessTokenVerifier {
    AccessTokenVerifier(
        configuration: .init(issuer: TestIssuer.issuer, audience: audience, allowedAlgorithms: allowedAlgorithms, leeway: leeway),
        keys: JWKSCache(fetcher: fetcher, configuration: cacheConfiguration),
        now: { now }
    )
}

/// A verifier sharing `keys` with another, at another time.
func makeVerifier(keys: JWKSCache, now: Date, audience: String? = TestIssuer.audience) -> AccessTokenVerifier {
    AccessTokenVerifier(
        configuration: .init(issuer: TestIssuer.issuer, audience: audience),
        keys: keys,
        now: { now }
    )
}

/// The code of the ``TokenVerificationError`` `body` throws, or `nil` if it succeeds.
func rejection(_ body: () async throws -> AccessToken) async -> TokenVerificationError.Code? {
    do {
        _ = try await body()
        return nil
    } catch let error as TokenVerificationError {
        return error.code
    } catch {
        Issue.record("unexpected error type \(type(of: error)): \(error)")
        return nil
    }
}
