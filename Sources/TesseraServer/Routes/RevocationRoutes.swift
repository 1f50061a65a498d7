import Foundation
import Hummingbird
import TesseraCore

/// `POST /revoke` (RFC 7009 §2). Every decision is the core's `RevocationEndpoint`.
struct RevocationRoutes {
    let endpoint: RevocationEndpoint
    let maxBodySize: Int

    func register(on router: some RouterMethods<TesseraRequestContext>) {
        router.corsPreflight("revoke", methods: [.post])
        router.post("revoke") { request, context in
            var request = request
            let tokenRequest = try await ClientAuthenticatedForm.tokenRequest(&request, context: context, maxBodySize: maxBodySize)
            try await endpoint.handle(RevocationRequest(tokenRequest))
            // §2.2: 200 whether or not anything was revoked; the body is ignored by clients.
            var headers = HTTPFields()
            headers[.cacheControl] = "no-store"
            return Response(status: .ok, headers: headers)
        }
    }
}
