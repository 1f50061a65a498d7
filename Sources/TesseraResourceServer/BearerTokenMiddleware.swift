import Hummingbird
import HummingbirdAuth

/// A request context that carries the verified access token in `identity`.
///
/// Any context conforming to `AuthRequestContext` with `Identity == AccessToken` works with
/// ``BearerTokenMiddleware`` and ``RequireScopes``; this one is ready to use.
public typealias AccessTokenRequestContext = BasicAuthRequestContext<AccessToken>

extension AuthRequestContext where Identity == AccessToken {
    /// The verified access token, if ``BearerTokenMiddleware`` accepted one.
    public var accessToken: AccessToken? { self.identity }

    /// The verified access token.
    /// - Throws: A 401 ``BearerError`` with a `WWW-Authenticate: Bearer` challenge if there is none.
    public func requireAccessToken(realm: String? = BearerTokenMiddleware<Self>.defaultRealm) throws -> AccessToken {
        guard let token = self.identity else { throw BearerError.missingToken(realm: realm) }
        return token
    }
}

/// Authenticates requests with an RFC 6750 bearer token and puts the verified ``AccessToken``
/// in `context.identity`.
///
/// It reads `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 6750 §2.1)
/// and answers, per RFC 6750 §3:
/// - no bearer token: 401 with `WWW-Authenticate: Bearer realm="…"` (unless `requireToken` is
///   false, in which case the request continues without an identity);
/// - several `Authorization` headers or empty credentials: 400 `invalid_request`;
/// - a token the verifier rejects: 401 `invalid_token` with an `error_description`;
/// - the issuer's keys unreachable: 503 `temporarily_unavailable`.
///
/// The token itself is never logged.
///
/// ```swift
/// let router = Router(context: AccessTokenRequestContext.self)
/// router.add(middleware: BearerTokenMiddleware(verifier: verifier))
/// router.group("data").add(middleware: RequireScopes("read")).get { _, context in ... }
/// ```
public struct BearerTokenMiddleware<Context: AuthRequestContext>: RouterMiddleware where Context.Identity == AccessToken {
    /// The realm used when none is given: `"api"`.
    public static var defaultRealm: String { "api" }

    /// Verifies the tokens (JWKS or introspection).
    public let verifier: any BearerTokenVerifier
    /// The `realm` attribute of challenges, or `nil` to omit it.
    public let realm: String?
    /// Whether a request without a bearer token is refused (`true`) or passed on unauthenticated.
    public let requireToken: Bool

    /// Creates the middleware.
    /// - Parameters:
    ///   - verifier: Verifies the tokens.
    ///   - realm: The `realm` attribute of challenges; use the same value for ``RequireScopes``.
    ///   - requireToken: If `false`, requests without a bearer token continue without an identity
    ///     (a present but invalid token is still refused).
    public init(verifier: any BearerTokenVerifier, realm: String? = Self.defaultRealm, requireToken: Bool = true) {
        self.verifier = verifier
        self.realm = realm
        self.requireToken = requireToken
    }

    /// Verifies the bearer token, if any, and calls `next` with the token in `context.identity`.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let token: Substring
        switch BearerCredentials.parse(request.headers[values: .authorization]) {
        case .none:
            guard !self.requireToken else { throw BearerError.missingToken(realm: self.realm) }
            return try await next(request, context)
        case .multipleHeaders:
            throw BearerError.invalidRequest("The request has more than one Authorization header", realm: self.realm)
        case .empty:
            throw BearerError.invalidRequest("The Bearer credentials are empty", realm: self.realm)
        case .malformed:
            throw BearerError.invalidToken("The access token is not a well-formed JWT", realm: self.realm)
        case .token(let value):
            token = value
        }

        let accessToken: AccessToken
        do {
            accessToken = try await self.verifier.verify(token)
        } catch let error as TokenVerificationError {
            context.logger.debug("oauth.token.rejected", metadata: ["oauth.error": .string(error.code.rawValue)])
            throw BearerError.rejected(error, realm: self.realm)
        } catch {
            context.logger.debug("oauth.token.rejected", metadata: ["oauth.error": .string("unexpected")])
            throw BearerError.invalidToken("The access token is invalid", realm: self.realm)
        }

        var context = context
        context.identity = accessToken
        context.logger[metadataKey: "oauth.client_id"] = .string(accessToken.clientID)
        return try await next(request, context)
    }
}

/// The outcome of reading `Authorization` headers (RFC 6750 §2.1; the scheme is case-insensitive).
public enum BearerCredentials: Equatable, Sendable {
    /// No `Authorization` header, or one with another scheme.
    case none
    case multipleHeaders
    case empty
    /// Not RFC 6750 `b64token` syntax.
    case malformed
    case token(Substring)

    /// Reads the values of every `Authorization` header of a request.
    public static func parse(_ values: [String]) -> BearerCredentials {
        guard let value = values.first else { return .none }
        guard values.count == 1 else { return .multipleHeaders }
        let trimmed = value.drop(while: { $0 == " " || $0 == "\t" })
        let scheme = trimmed.prefix(while: { $0 != " " && $0 != "\t" })
        guard scheme.lowercased() == "bearer" else { return .none }
        var credentials = trimmed.dropFirst(scheme.count).drop(while: { $0 == " " || $0 == "\t" })
        while let last = credentials.last, last == " " || last == "\t" { credentials = credentials.dropLast() }
        guard !credentials.isEmpty else { return .empty }
        // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
        // One forward pass (reversed UTF-8 views index slowly): characters, then only padding.
        var characters = 0
        var inPadding = false
        for byte in credentials.utf8 {
            if byte == UInt8(ascii: "=") {
                inPadding = true
            } else {
                guard !inPadding, Self.isB64TokenCharacter(byte) else { return .malformed }
                characters += 1
            }
        }
        guard characters > 0 else { return .malformed }
        return .token(credentials)
    }

    private static func isB64TokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            true
        default:
            false
        }
    }
}
