/// Why an access token was rejected.
///
/// Compare errors by ``code``: the set of codes can grow without breaking callers. The
/// ``description`` is written for the client (it is sent as `error_description`) and never
/// contains the token or key material.
public struct TokenVerificationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A growable set of reasons for rejecting a token.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// A short stable identifier, suitable for logs and metric labels.
        public let rawValue: String

        private init(_ rawValue: String) { self.rawValue = rawValue }

        /// The token is not a well-formed compact JWS with a JSON header and payload.
        public static let malformed = Code("malformed")
        /// The `typ` header is not `at+jwt` (RFC 9068 §2.1).
        public static let invalidType = Code("invalid_type")
        /// The `alg` header is missing or not in the allow-list.
        public static let algorithmNotAllowed = Code("algorithm_not_allowed")
        /// The header has no `kid`, or no published key has it.
        public static let unknownKey = Code("unknown_key")
        /// The header marks an extension as critical (`crit`) that is not understood.
        public static let unsupportedCriticalHeader = Code("unsupported_critical_header")
        /// The signature does not verify with the issuer's key.
        public static let invalidSignature = Code("invalid_signature")
        /// A required claim is missing or has the wrong type.
        public static let invalidClaims = Code("invalid_claims")
        /// The `iss` claim is not the configured issuer.
        public static let issuerMismatch = Code("issuer_mismatch")
        /// The `aud` claim does not contain the configured audience.
        public static let audienceMismatch = Code("audience_mismatch")
        /// The `exp` claim is in the past.
        public static let expired = Code("expired")
        /// The `nbf` or `iat` claim is in the future.
        public static let notYetValid = Code("not_yet_valid")
        /// The issuer's key set could not be fetched, so the token could not be checked.
        /// This is the server's problem, not the client's.
        public static let keySetUnavailable = Code("key_set_unavailable")
        /// The issuer's introspection endpoint says the token is not active (revoked, expired or unknown).
        public static let inactive = Code("inactive")
        /// The issuer's introspection endpoint could not be reached or answered badly; the server's problem.
        public static let introspectionUnavailable = Code("introspection_unavailable")

        public var description: String { self.rawValue }
    }

    /// The reason for the rejection.
    public let code: Code
    /// A client-safe explanation.
    public let description: String

    /// Creates an error.
    public init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }

    /// Errors compare by ``code`` only.
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.code) }
}
