import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import HummingbirdTesting
import JWTKit
import TesseraCore
import TesseraFederation
import TesseraTesting
import Testing
import _CryptoExtras

/// A JSON value for building fixture documents and tokens.
enum TestJSON: Sendable, Encodable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByFloatLiteral {
    case string(String)
    case integer(Int64)
    case number(Double)
    case bool(Bool)
    case array([TestJSON])
    case object([String: TestJSON])

    init(stringLiteral value: String) { self = .string(value) }
    init(integerLiteral value: Int64) { self = .integer(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(floatLiteral value: Double) { self = .number(value) }
    init(arrayLiteral elements: TestJSON...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, TestJSON)...) { self = .object(Dictionary(uniqueKeysWithValues: elements)) }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    static func data(_ object: [String: TestJSON]) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try! encoder.encode(object)
    }
}

func base64URL(_ bytes: some Sequence<UInt8>) -> String {
    Data(bytes).base64URLEncodedString()
}

/// The fixed time of the tests, and of the fixture's tokens.
let testNow = Date(timeIntervalSince1970: 1_800_000_000)
let testClientID = "tessera-rp"
/// A secret with characters that RFC 6749 §2.3.1 form-encodes before Basic.
let testClientSecret = "s3cret:with/odd+chars é"
let testNonce = "n-0S6_WzA2Mj"
let testVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
let testRedirectURI = "https://tessera.test/federation/callback/upstream"

/// Signing keys generated per test run (never stored).
struct UpstreamKeys: Sendable {
    let ecKey: ES256PrivateKey
    let ecSigner: any JWTAlgorithm
    let rotatedKey: ES256PrivateKey
    let rotatedSigner: any JWTAlgorithm
    let rsaKey: JWTKit.Insecure.RSA.PrivateKey
    let rsaSigner: any JWTAlgorithm

    private static let sharedRSAKey: JWTKit.Insecure.RSA.PrivateKey = {
        try! JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
    }()

    static func make() async throws -> UpstreamKeys {
        let ecKey = ES256PrivateKey()
        let rotatedKey = ES256PrivateKey()
        let collection = JWTKeyCollection()
        await collection.add(ecdsa: ecKey, kid: "ec-1")
        await collection.add(ecdsa: rotatedKey, kid: "ec-2")
        await collection.add(rsa: Self.sharedRSAKey, digestAlgorithm: .sha256, kid: "rsa-1")
        return UpstreamKeys(
            ecKey: ecKey, ecSigner: try await collection.getKey(for: "ec-1"),
            rotatedKey: rotatedKey, rotatedSigner: try await collection.getKey(for: "ec-2"),
            rsaKey: Self.sharedRSAKey, rsaSigner: try await collection.getKey(for: "rsa-1")
        )
    }

    func ecJWK(_ key: ES256PrivateKey, kid: String) -> TestJSON {
        let parameters = key.publicKey.parameters!
        return ["kty": "EC", "crv": "P-256", "x": .string(parameters.x), "y": .string(parameters.y), "kid": .string(kid), "use": "sig", "alg": "ES256"]
    }

    var rsaJWK: TestJSON {
        let primitives = try! self.rsaKey.publicKey.getKeyPrimitives()
        return ["kty": "RSA", "n": .string(base64URL(primitives.modulus)), "e": .string(base64URL(primitives.publicExponent)),
                "kid": "rsa-1", "use": "sig", "alg": "RS256"]
    }

    static func sign(header: [String: TestJSON], claims: [String: TestJSON], with signer: any JWTAlgorithm) throws -> String {
        let input = base64URL(TestJSON.data(header)) + "." + base64URL(TestJSON.data(claims))
        return input + "." + base64URL(try signer.sign(Array(input.utf8)))
    }
}

/// What the token endpoint received.
struct RecordedTokenRequest: Sendable {
    var authorization: String?
    var contentType: String?
    var accept: String?
    var form: [String: String]
}

/// How the fixture behaves; each test changes what it needs.
struct UpstreamBehavior: Sendable {
    /// `padded` and `nonCanonical` are the valid ES256 token spelled otherwise (RFC 7515 §2, `TokenSpellings`).
    enum Signing: Sendable { case ec, rsa, rotated, tampered, none, hmacWithSecret, ecWithoutKid, ecWithCrit, rsaHeaderOnECKey, padded, nonCanonical }

    /// The discovery document's `issuer`; `nil` means the fixture's own.
    var metadataIssuer: String?
    var issuerParameterSupported = false
    var authMethods: [String]? = ["client_secret_basic", "client_secret_post"]
    var authorizationPath = "/authorize"
    /// Whether the JWKS publishes the rotated key `ec-2`.
    var publishRotatedKey = false
    /// The `use` of the key `ec-1` in the JWKS.
    var ecKeyUse = "sig"
    /// `id_token_signing_alg_values_supported`.
    var signingAlgorithms: [String] = ["ES256", "RS256"]
    var signing = Signing.ec
    var editClaims: @Sendable (inout [String: TestJSON]) -> Void = { _ in }
    var omitIDToken = false
    var tokenStatus = 200
    var tokenError: String?
    /// Answer the token endpoint form-encoded, as GitHub does without `Accept: application/json`.
    var tokenFormEncoded = false
    /// Hold the token endpoint's answer until ``UpstreamFixture/release()`` (at most 5 seconds).
    var tokenHangs = false
    /// Answer the token request with `307` to `/elsewhere`.
    var tokenRedirects = false
    /// The discovery document's `token_endpoint`, instead of the fixture's own.
    var tokenEndpoint: String?
    /// Bytes of padding added to the userinfo answer.
    var userinfoPadding = 0
    var userinfo: [String: TestJSON] = ["sub": "upstream-user-1", "email": "ada@example.com", "email_verified": true]
    var userinfoStatus = 200
}

/// A live upstream provider on 127.0.0.1 with a random port: discovery, JWKS, token endpoint, userinfo.
actor UpstreamFixture {
    let keys: UpstreamKeys
    var behavior = UpstreamBehavior()
    private(set) var port = 0
    private(set) var tokenRequests: [RecordedTokenRequest] = []
    private(set) var userinfoAuthorizations: [String] = []
    private(set) var userinfoAgents: [String] = []
    private(set) var discoveryFetches = 0
    private(set) var jwksFetches = 0
    private(set) var elsewhereHits = 0
    private(set) var released = false

    init(keys: UpstreamKeys) {
        self.keys = keys
    }

    var issuer: String { "http://127.0.0.1:\(self.port)" }

    func setPort(_ port: Int) { self.port = port }
    func release() { self.released = true }
    func hitElsewhere() { self.elsewhereHits += 1 }
    func configure(_ change: @Sendable (inout UpstreamBehavior) -> Void) { change(&self.behavior) }

    func discovery() -> Data {
        self.discoveryFetches += 1
        let base = self.issuer
        var document: [String: TestJSON] = [
            "issuer": .string(self.behavior.metadataIssuer ?? base),
            "authorization_endpoint": .string(base + self.behavior.authorizationPath),
            "token_endpoint": .string(self.behavior.tokenEndpoint ?? base + "/token"),
            "jwks_uri": .string(base + "/jwks"),
            "userinfo_endpoint": .string(base + "/userinfo"),
            "id_token_signing_alg_values_supported": .array(self.behavior.signingAlgorithms.map(TestJSON.string)),
            "authorization_response_iss_parameter_supported": .bool(self.behavior.issuerParameterSupported),
        ]
        if let methods = self.behavior.authMethods { document["token_endpoint_auth_methods_supported"] = .array(methods.map(TestJSON.string)) }
        return TestJSON.data(document)
    }

    func jwks() -> Data {
        self.jwksFetches += 1
        var ecKey = self.keys.ecJWK(self.keys.ecKey, kid: "ec-1")
        if case .object(var members) = ecKey {
            members["use"] = .string(self.behavior.ecKeyUse)
            ecKey = .object(members)
        }
        var keys = [ecKey, self.keys.rsaJWK]
        if self.behavior.publishRotatedKey { keys.append(self.keys.ecJWK(self.keys.rotatedKey, kid: "ec-2")) }
        return TestJSON.data(["keys": .array(keys)])
    }

    /// Valid ID token claims for `testNow`.
    func claims() -> [String: TestJSON] {
        let now = Int64(testNow.timeIntervalSince1970)
        return [
            "iss": .string(self.issuer), "sub": "upstream-user-1", "aud": .string(testClientID),
            "exp": .integer(now + 300), "iat": .integer(now - 10), "nonce": .string(testNonce),
            "email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace", "preferred_username": "ada",
            "amr": ["pwd", "mfa"],
        ]
    }

    func idToken(accessToken: String) throws -> String {
        var claims = self.claims()
        self.behavior.editClaims(&claims)
        switch self.behavior.signing {
        case .ec:
            return try UpstreamKeys.sign(header: ["alg": "ES256", "kid": "ec-1", "typ": "JWT"], claims: claims, with: self.keys.ecSigner)
        case .rsa:
            return try UpstreamKeys.sign(header: ["alg": "RS256", "kid": "rsa-1"], claims: claims, with: self.keys.rsaSigner)
        case .rotated:
            return try UpstreamKeys.sign(header: ["alg": "ES256", "kid": "ec-2"], claims: claims, with: self.keys.rotatedSigner)
        case .padded, .nonCanonical:
            let token = try UpstreamKeys.sign(header: ["alg": "ES256", "kid": "ec-1", "typ": "JWT"], claims: claims, with: self.keys.ecSigner)
            return self.behavior.signing == .padded ? TokenSpellings.padded(token) : try #require(TokenSpellings.nonCanonicalLastCharacter(token))
        case .tampered:
            let token = try UpstreamKeys.sign(header: ["alg": "ES256", "kid": "ec-1"], claims: claims, with: self.keys.ecSigner)
            var parts = token.split(separator: ".").map(String.init)
            var otherClaims = claims
            otherClaims["sub"] = "someone-else"
            parts[1] = base64URL(TestJSON.data(otherClaims))
            return parts.joined(separator: ".")
        case .ecWithoutKid:
            return try UpstreamKeys.sign(header: ["alg": "ES256"], claims: claims, with: self.keys.ecSigner)
        case .ecWithCrit:
            return try UpstreamKeys.sign(header: ["alg": "ES256", "kid": "ec-1", "crit": ["exp"], "exp": 1], claims: claims, with: self.keys.ecSigner)
        case .rsaHeaderOnECKey:
            return try UpstreamKeys.sign(header: ["alg": "RS256", "kid": "ec-1"], claims: claims, with: self.keys.ecSigner)
        case .none:
            return base64URL(TestJSON.data(["alg": "none"])) + "." + base64URL(TestJSON.data(claims)) + "."
        case .hmacWithSecret:
            let input = base64URL(TestJSON.data(["alg": "HS256", "kid": "ec-1"])) + "." + base64URL(TestJSON.data(claims))
            let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(testClientSecret.utf8)))
            return input + "." + base64URL(Data(mac))
        }
    }

    func token(request: RecordedTokenRequest) throws -> (status: Int, contentType: String, body: Data) {
        self.tokenRequests.append(request)
        if let error = self.behavior.tokenError {
            return (self.behavior.tokenStatus, "application/json", TestJSON.data(["error": .string(error), "error_description": "The code is not valid."]))
        }
        let accessToken = "upstream-access-token-\(self.tokenRequests.count)"
        if self.behavior.tokenFormEncoded {
            return (self.behavior.tokenStatus, "application/x-www-form-urlencoded", Data("access_token=\(accessToken)&scope=read%3Auser&token_type=bearer".utf8))
        }
        var body: [String: TestJSON] = ["access_token": .string(accessToken), "token_type": "Bearer", "expires_in": 3600]
        if !self.behavior.omitIDToken { body["id_token"] = .string(try self.idToken(accessToken: accessToken)) }
        return (self.behavior.tokenStatus, "application/json", TestJSON.data(body))
    }

    func userinfo(authorization: String?, userAgent: String?) -> (status: Int, body: Data) {
        self.userinfoAuthorizations.append(authorization ?? "")
        self.userinfoAgents.append(userAgent ?? "")
        var userinfo = self.behavior.userinfo
        if self.behavior.userinfoPadding > 0 { userinfo["padding"] = .string(String(repeating: "x", count: self.behavior.userinfoPadding)) }
        return (self.behavior.userinfoStatus, TestJSON.data(userinfo))
    }

    var tokenHangs: Bool { self.behavior.tokenHangs }
    var tokenRedirects: Bool { self.behavior.tokenRedirects }

    /// The Hummingbird application serving this fixture.
    nonisolated func application() -> some ApplicationProtocol {
        let router = Router()
        router.get(".well-known/openid-configuration") { _, _ in
            Self.json(await self.discovery())
        }
        router.get("jwks") { _, _ in
            Self.json(await self.jwks())
        }
        router.post("token") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 16)
            let form = Self.parseForm(String(buffer: body))
            let recorded = RecordedTokenRequest(
                authorization: request.headers[.authorization], contentType: request.headers[.contentType], accept: request.headers[.accept], form: form)
            if await self.tokenHangs {
                for _ in 0..<250 where await !self.released { try await Task.sleep(for: .milliseconds(20)) }
            }
            if await self.tokenRedirects {
                _ = try await self.token(request: recorded)
                return Response(status: .temporaryRedirect, headers: [.location: "/elsewhere"])
            }
            let answer = try await self.token(request: recorded)
            return Response(status: .init(code: answer.status), headers: [.contentType: answer.contentType],
                            body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        router.post("elsewhere") { _, _ -> Response in
            await self.hitElsewhere()
            return Self.json(Data("{}".utf8))
        }
        router.get("userinfo") { request, _ -> Response in
            let answer = await self.userinfo(authorization: request.headers[.authorization], userAgent: request.headers[.userAgent])
            return Response(status: .init(code: answer.status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    }

    static func json(_ data: Data) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func parseForm(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for part in body.split(separator: "&") {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            fields[pieces[0]] = pieces.count > 1 ? pieces[1] : ""
        }
        return fields
    }

    /// Runs `body` with the fixture live on a random port.
    static func run(_ body: @Sendable (UpstreamFixture) async throws -> Void) async throws {
        let fixture = UpstreamFixture(keys: try await UpstreamKeys.make())
        try await fixture.application().test(.live) { client in
            await fixture.setPort(try #require(client.port))
            try await body(fixture)
        }
    }
}

/// Provider settings for the fixture.
func oidcSettings(issuer: String, scopes: [String] = ["email", "profile"]) -> IdentityProviderSettings {
    IdentityProviderSettings(id: "upstream", displayName: "Upstream", kind: .openIDConnect(issuer: issuer),
                             clientID: testClientID, clientSecret: testClientSecret, scopes: scopes)
}

func oauth2Settings(base: String, claims: ClaimMapping = ClaimMapping(subject: "id", email: "email", emailVerified: nil, name: "name", preferredUsername: "login"))
    -> IdentityProviderSettings {
    IdentityProviderSettings(id: "github", displayName: "GitHub",
                             kind: .oauth2(endpoints: .init(authorization: base + "/login/oauth/authorize", token: base + "/token", userinfo: base + "/userinfo"),
                                           claims: claims),
                             clientID: testClientID, clientSecret: testClientSecret, scopes: ["read:user", "user:email"])
}

/// The failure `body` throws, or `nil` when it succeeds.
func failure(_ body: () async throws -> Void) async -> FederationFailure? {
    do {
        try await body()
        return nil
    } catch let error as FederationFailure {
        return error
    } catch {
        Issue.record("unexpected error type \(type(of: error)): \(error)")
        return nil
    }
}

/// The query items of a URL, by name.
func queryItems(_ url: String) -> [String: String] {
    var items: [String: String] = [:]
    for item in URLComponents(string: url)?.queryItems ?? [] { items[item.name] = item.value ?? "" }
    return items
}
