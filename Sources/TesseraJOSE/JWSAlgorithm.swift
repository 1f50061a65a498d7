/// An asymmetric JWS signature algorithm (RFC 7518 §3) that the verifier can accept.
///
/// Only public-key algorithms exist in this type: `none` and the HMAC algorithms (`HS256`…)
/// cannot be expressed, so they can never be allowed by configuration (RFC 8725 §3.1).
public struct JWSAlgorithm: Sendable, Hashable, CustomStringConvertible {
    /// The `alg` header value, e.g. `"ES256"`.
    public let name: String

    /// The key family the algorithm needs.
    public enum Family: Sendable, Hashable {
        case ecdsa(curve: String)
        case rsa
    }

    /// The key family (and, for ECDSA, the curve) this algorithm verifies with.
    public let family: Family

    private init(_ name: String, _ family: Family) {
        self.name = name
        self.family = family
    }

    /// ECDSA using P-256 and SHA-256.
    public static let es256 = JWSAlgorithm("ES256", .ecdsa(curve: "P-256"))
    /// ECDSA using P-384 and SHA-384.
    public static let es384 = JWSAlgorithm("ES384", .ecdsa(curve: "P-384"))
    /// ECDSA using P-521 and SHA-512.
    public static let es512 = JWSAlgorithm("ES512", .ecdsa(curve: "P-521"))
    /// RSASSA-PKCS1-v1_5 using SHA-256.
    public static let rs256 = JWSAlgorithm("RS256", .rsa)
    /// RSASSA-PKCS1-v1_5 using SHA-384.
    public static let rs384 = JWSAlgorithm("RS384", .rsa)
    /// RSASSA-PKCS1-v1_5 using SHA-512.
    public static let rs512 = JWSAlgorithm("RS512", .rsa)
    /// RSASSA-PSS using SHA-256.
    public static let ps256 = JWSAlgorithm("PS256", .rsa)
    /// RSASSA-PSS using SHA-384.
    public static let ps384 = JWSAlgorithm("PS384", .rsa)
    /// RSASSA-PSS using SHA-512.
    public static let ps512 = JWSAlgorithm("PS512", .rsa)

    /// Every supported algorithm.
    public static let allSupported: [JWSAlgorithm] = [.es256, .es384, .es512, .rs256, .rs384, .rs512, .ps256, .ps384, .ps512]

    /// The algorithm for an `alg` header value, or `nil` if it is not a supported asymmetric
    /// algorithm. Matching is case-sensitive, as RFC 7515 §4.1.1 requires.
    public init?(name: String) {
        guard let algorithm = Self.allSupported.first(where: { $0.name == name }) else { return nil }
        self = algorithm
    }

    public var description: String { self.name }

    /// The size of the algorithm's hash in bits (the digits of its name), which also sizes OIDC's
    /// `at_hash` and `c_hash` (OIDC Core §3.1.3.6).
    public var hashBits: Int { Int(self.name.dropFirst(2)) ?? 256 }

    /// Whether a JSON Web Key of type `kty` (and curve `crv`, for EC keys) can verify this algorithm.
    public func isCompatible(keyType: String, curve: String?) -> Bool {
        switch self.family {
        case .ecdsa(let expected): keyType == "EC" && curve == expected
        case .rsa: keyType == "RSA"
        }
    }
}
