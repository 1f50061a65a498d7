public import Crypto
public import Foundation
import TesseraJOSE

/// A `private_key_jwt` client's key pair (ES256) for tests: its public JSON Web Key Set, and assertions signed
/// with it (RFC 7523 §2.2) — built here from swift-crypto, independently of the server's verifier.
public struct ClientKeyPair: Sendable {
    public let privateKey: P256.Signing.PrivateKey
    public let kid: String?

    public init(kid: String? = "client-key-1") {
        self.privateKey = P256.Signing.PrivateKey()
        self.kid = kid
    }

    /// The public key as a JWK object.
    public var jwk: [String: String] {
        let point = Array(privateKey.publicKey.x963Representation.dropFirst())
        var key = ["kty": "EC", "crv": "P-256", "x": Base64URL.encode(point[0..<32]), "y": Base64URL.encode(point[32..<64]), "use": "sig"]
        if let kid { key["kid"] = kid }
        return key
    }

    /// `{"keys":[jwk]}`.
    public var jwks: String { Self.jwks([self]) }

    /// A key set with every pair's public key.
    public static func jwks(_ pairs: [ClientKeyPair]) -> String {
        let data = try! JSONSerialization.data(withJSONObject: ["keys": pairs.map(\.jwk)], options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// An assertion with the standard claims for `clientID` at `audience`, overridable one by one (`NSNull()` drops one).
    public func assertion(clientID: String, audience: Any, now: Date, lifetime: TimeInterval = 60, jti: String = UUID().uuidString,
                          claims overrides: [String: Any] = [:], header headerOverrides: [String: Any] = [:]) -> String {
        var claims: [String: Any] = ["iss": clientID, "sub": clientID, "aud": audience, "jti": jti,
                                     "iat": Int(now.timeIntervalSince1970), "exp": Int(now.timeIntervalSince1970 + lifetime)]
        for (name, value) in overrides { claims[name] = value is NSNull ? nil : value }
        var header: [String: Any] = ["alg": "ES256", "typ": "JWT"]
        if let kid { header["kid"] = kid }
        for (name, value) in headerOverrides { header[name] = value is NSNull ? nil : value }
        let input = Self.segment(header) + "." + Self.segment(claims)
        let signature = try! privateKey.signature(for: Data(input.utf8))
        return input + "." + Base64URL.encode(signature.rawRepresentation)
    }

    static func segment(_ object: [String: Any]) -> String {
        Base64URL.encode(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
    }
}
