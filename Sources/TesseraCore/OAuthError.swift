/// An OAuth 2.0 error, as returned to clients (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2).
///
/// `code` reads like an enum but is a growable struct, so new codes never break callers.
/// `description` is sent to the client as `error_description`; `underlying` is only ever logged.
/// Two errors compare equal when their codes are equal, so tests can match on the code.
public struct OAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An OAuth error code such as `invalid_grant`.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        // RFC 6749 §5.2 (token endpoint)
        public static let invalidRequest = Code(rawValue: "invalid_request")
        public static let invalidClient = Code(rawValue: "invalid_client")
        public static let invalidGrant = Code(rawValue: "invalid_grant")
        public static let unauthorizedClient = Code(rawValue: "unauthorized_client")
        public static let unsupportedGrantType = Code(rawValue: "unsupported_grant_type")
        public static let invalidScope = Code(rawValue: "invalid_scope")
        // RFC 6749 §4.1.2.1 (authorization endpoint)
        public static let accessDenied = Code(rawValue: "access_denied")
        public static let unsupportedResponseType = Code(rawValue: "unsupported_response_type")
        public static let serverError = Code(rawValue: "server_error")
        public static let temporarilyUnavailable = Code(rawValue: "temporarily_unavailable")
        // OIDC Core §3.1.2.6 (authentication errors)
        public static let loginRequired = Code(rawValue: "login_required")
        public static let consentRequired = Code(rawValue: "consent_required")
        public static let interactionRequired = Code(rawValue: "interaction_required")
        public static let requestNotSupported = Code(rawValue: "request_not_supported")
        // RFC 6750 §3.1 (bearer tokens)
        public static let invalidToken = Code(rawValue: "invalid_token")
        public static let insufficientScope = Code(rawValue: "insufficient_scope")
        // RFC 7591 §3.2.2 (dynamic registration)
        public static let invalidRedirectURI = Code(rawValue: "invalid_redirect_uri")
        public static let invalidClientMetadata = Code(rawValue: "invalid_client_metadata")
        // RFC 8707 (resource indicators)
        public static let invalidTarget = Code(rawValue: "invalid_target")
        // Tessera: too many requests (RFC 6585 status, RFC-shaped body)
        public static let tooManyRequests = Code(rawValue: "too_many_requests")
    }

    /// The error code sent as `error`.
    public var code: Code
    /// Human-readable text sent as `error_description`. Never contains secrets or internals.
    public var errorDescription: String
    /// Private detail for logs only; never sent to the client.
    public var underlying: String?
    /// Where the error was raised (for logs).
    public var file: String
    public var line: Int

    public init(_ code: Code, _ description: String, underlying: String? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.errorDescription = description
        self.underlying = underlying
        self.file = file
        self.line = line
    }

    public var description: String { "\(code.rawValue): \(errorDescription)" }

    public static func == (lhs: OAuthError, rhs: OAuthError) -> Bool { lhs.code == rhs.code }

    public static func invalidRequest(_ d: String, file: String = #fileID, line: Int = #line) -> OAuthError { .init(.invalidRequest, d, file: file, line: line) }
    public static func invalidClient(_ d: String, file: String = #fileID, line: Int = #line) -> OAuthError { .init(.invalidClient, d, file: file, line: line) }
    public static func invalidGrant(_ d: String, file: String = #fileID, line: Int = #line) -> OAuthError { .init(.invalidGrant, d, file: file, line: line) }
    public static func unauthorizedClient(_ d: String, file: String = #fileID, line: Int = #line) -> OAuthError { .init(.unauthorizedClient, d, file: file, line: line) }
    public static func invalidScope(_ d: String, file: String = #fileID, line: Int = #line) -> OAuthError { .init(.invalidScope, d, file: file, line: line) }
    public static func unsupportedGrantType(_ d: String, file: String = #fileID, line: Int = #line) -> OAuthError { .init(.unsupportedGrantType, d, file: file, line: line) }
}
