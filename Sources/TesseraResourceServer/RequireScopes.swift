public import Hummingbird
public import HummingbirdAuth
import Logging

/// Refuses requests whose access token lacks any of the given scopes (RFC 6750 §3.1).
///
/// Add it after ``BearerTokenMiddleware``, on a route group or a single route:
///
/// ```swift
/// router.group("data").add(middleware: RequireScopes("read")).get { _, context in ... }
/// ```
///
/// Without a token it answers 401 with `WWW-Authenticate: Bearer realm="…"`; with a token that
/// lacks a scope, 403 with `WWW-Authenticate: Bearer realm="…", error="insufficient_scope",
/// error_description="…", scope="<all required scopes>"`.
public struct RequireScopes<Context: AuthRequestContext>: RouterMiddleware where Context.Identity == AccessToken {
    /// The scopes that must all be granted.
    public let scopes: [String]
    /// The `realm` attribute of challenges; keep it equal to the one of ``BearerTokenMiddleware``.
    public let realm: String?
    /// The resource's RFC 9728 metadata, named as `resource_metadata` in challenges; `nil` to omit it.
    public let resourceMetadata: ProtectedResourceMetadata?

    /// Requires every scope in `scopes`.
    public init(_ scopes: [String], realm: String? = BearerTokenMiddleware<Context>.defaultRealm,
                resourceMetadata: ProtectedResourceMetadata? = nil) {
        self.scopes = scopes
        self.realm = realm
        self.resourceMetadata = resourceMetadata
    }

    /// Requires every scope listed.
    public init(_ scopes: String..., realm: String? = BearerTokenMiddleware<Context>.defaultRealm,
                resourceMetadata: ProtectedResourceMetadata? = nil) {
        self.init(scopes, realm: realm, resourceMetadata: resourceMetadata)
    }

    /// Calls `next` only if the token in `context.identity` grants every required scope.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token = context.identity else {
            throw BearerError.missingToken(realm: self.realm).pointing(to: self.resourceMetadata)
        }
        guard token.hasScopes(self.scopes) else {
            context.logger.debug("oauth.scope.insufficient", metadata: ["oauth.client_id": .string(token.clientID)])
            throw BearerError.insufficientScope(self.scopes, realm: self.realm).pointing(to: self.resourceMetadata)
        }
        return try await next(request, context)
    }
}
