import Foundation
import Hummingbird
import NIOFoundationEssentialsCompat
import TesseraCore

/// `POST /register` (RFC 7591 §3) and `GET`/`PUT`/`DELETE /register/{client_id}` (RFC 7592 §2).
/// Every decision is the core's `RegistrationEndpoint`; this type only decodes HTTP. Open registration
/// (no initial access token) is rate limited per IP address by `RateLimitMiddleware` on the `create` group.
struct RegistrationRoutes {
    let endpoint: RegistrationEndpoint
    let maxBodySize: Int

    /// Adds `POST /register` to `create` (the `.register` rate-limited group) and the management routes to `router`.
    func register(on router: some RouterMethods<TesseraRequestContext>, create: some RouterMethods<TesseraRequestContext>) {
        create.corsPreflight("register", methods: [.post])
        router.corsPreflight("register/:client_id", methods: [.get, .put, .delete])
        create.post("register") { request, _ in
            var request = request
            let token = try BearerHeader.token(request)
            let body = try await jsonBody(&request)
            let information = try await endpoint.register(json: body, initialAccessToken: token)
            return JSON.response(information, status: .created)
        }
        router.get("register/:client_id") { request, context in
            let id = try context.parameters.require("client_id")
            return JSON.response(try await endpoint.read(clientID: id, registrationAccessToken: try BearerHeader.token(request)))
        }
        router.put("register/:client_id") { request, context in
            var request = request
            let id = try context.parameters.require("client_id")
            let token = try BearerHeader.token(request)
            let body = try await jsonBody(&request)
            return JSON.response(try await endpoint.update(clientID: id, registrationAccessToken: token, json: body))
        }
        router.delete("register/:client_id") { request, context in
            let id = try context.parameters.require("client_id")
            try await endpoint.delete(clientID: id, registrationAccessToken: try BearerHeader.token(request))
            var headers = HTTPFields()
            headers[.cacheControl] = "no-store"
            return Response(status: .noContent, headers: headers)
        }
    }

    private func jsonBody(_ request: inout Request) async throws -> Data {
        guard let contentType = request.headers[.contentType],
              contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "application/json" else {
            throw OAuthError.invalidRequest("The request body must be application/json.")
        }
        let body = try await request.collectBody(upTo: maxBodySize)
        return Data(buffer: body)
    }
}
