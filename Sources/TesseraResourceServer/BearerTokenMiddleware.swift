public import Hummingbird
public import HummingbirdAuth
import Logging
import TesseraJOSE

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
    /// The resource's RFC 9728 metadata: when set, every challenge carries
    /// `resource_metadata="<its URL>"` (RFC 9728 §5.1).
    public let resourceMetadata: ProtectedResourceMetadata?

    /// Creates the middleware.
    /// - Parameters:
    ///   - verifier: Verifies the tokens.
    ///   - realm: The `realm` attribute of challenges; use the same value for ``RequireScopes``.
    ///   - requireToken: If `false`, requests without a bearer token continue without an identity
    ///     (a present but invalid token is still refused).
    ///   - resourceMetadata: The resource's RFC 9728 metadata, named in every challenge; `nil` to omit it.
    public init(verifier: any BearerTokenVerifier, realm: String? = Self.defaultRealm, requireToken: Bool = true,
                resourceMetadata: ProtectedResourceMetadata? = nil) {
        self.verifier = verifier
        self.realm = realm
        self.requireToken = requireToken
        self.resourceMetadata = resourceMetadata
    }

    /// Verifies the bearer token, if any, and calls `next` with the token in `context.identity`.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await self.authenticate(request, context: context, next: next)
        } catch let error as BearerError where self.resourceMetadata != nil && error.resourceMetadataURL == nil {
            throw error.pointing(to: self.resourceMetadata)
        }
    }

    private func authenticate(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
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
