import Foundation
import Hummingbird
import TesseraResourceServer

/// The realm named in `WWW-Authenticate` challenges.
let realm = "tessera-example-api"

/// Assembles the example API: `/healthz` and the RFC 9728 metadata are public, `/users/me` needs
/// any valid token and `/data` needs the `read` scope.
func buildApplication(_ configuration: ExampleAPIConfiguration) async throws -> some ApplicationProtocol {
    // RFC 9728: where clients discover the issuer; every challenge links to it.
    let metadata = try ProtectedResourceMetadata(resource: configuration.resource,
                                                 authorizationServers: [configuration.issuer],
                                                 scopesSupported: ["read"])
    let verifier: any BearerTokenVerifier
    if configuration.mode == "introspection", let clientID = configuration.clientID, let clientSecret = configuration.clientSecret {
        // RFC 7662: ask the issuer about every token (cached briefly), so revoked tokens are refused.
        verifier = IntrospectionTokenVerifier(issuer: configuration.issuer, clientID: clientID, clientSecret: clientSecret,
                                              audience: configuration.audience, cacheDuration: .seconds(configuration.introspectionCacheSeconds))
    } else {
        let jwks = AccessTokenVerifier(issuer: configuration.issuer, audience: configuration.audience)
        // Warm the key cache so a misconfigured issuer shows up at startup, not on the first request.
        do {
            try await jwks.keys.refresh()
        } catch {
            FileHandle.standardError.write(Data("warning: could not fetch the signing keys of \(configuration.issuer) yet (\(error)); will retry on demand\n".utf8))
        }
        verifier = jwks
    }
    return Application(
        router: buildRouter(verifier: verifier, metadata: metadata),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "tessera-example-api")
    )
}

func buildRouter(verifier: any BearerTokenVerifier, metadata: ProtectedResourceMetadata) -> Router<AccessTokenRequestContext> {
    let router = Router(context: AccessTokenRequestContext.self)

    router.get("healthz") { _, _ in
        ["status": "ok"]
    }
    router.addProtectedResourceMetadata(metadata)

    let protected = router.group()
        .add(middleware: NoStoreMiddleware())
        .add(middleware: BearerTokenMiddleware(verifier: verifier, realm: realm, resourceMetadata: metadata))

    // Like FastAPI's `Depends(get_current_user)`: any valid token.
    protected.get("users/me") { _, context -> CurrentUser in
        let token = try context.requireAccessToken(realm: realm)
        return CurrentUser(
            sub: token.subject,
            clientID: token.clientID,
            scope: token.scope,
            aud: token.audience,
            exp: Int(token.expiresAt.timeIntervalSince1970)
        )
    }

    // Like FastAPI's `Security(get_current_user, scopes=["read"])`.
    protected.group("data")
        .add(middleware: RequireScopes("read", realm: realm, resourceMetadata: metadata))
        .get { _, context -> DataResponse in
            let token = try context.requireAccessToken(realm: realm)
            return DataResponse(owner: token.subject, items: ["alpha", "beta", "gamma"])
        }

    return router
}

struct CurrentUser: ResponseEncodable {
    let sub: String
    let clientID: String
    let scope: String
    let aud: [String]
    let exp: Int

    enum CodingKeys: String, CodingKey {
        case sub
        case clientID = "client_id"
        case scope, aud, exp
    }
}

struct DataResponse: ResponseEncodable {
    let owner: String
    let items: [String]
}

/// Marks every protected response as not cacheable.
struct NoStoreMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
