import Foundation
import Hummingbird
import TesseraCore

/// `POST /introspect` (RFC 7662 §2). Every decision is the core's `IntrospectionEndpoint`.
struct IntrospectionRoutes {
    let endpoint: IntrospectionEndpoint
    let maxBodySize: Int

    /// Adds `POST /introspect` to `router` (the `.introspect` rate-limited group).
    func register(on router: some RouterMethods<TesseraRequestContext>) {
        router.post("introspect") { request, context in
            var request = request
            let tokenRequest = try await ClientAuthenticatedForm.tokenRequest(&request, context: context, maxBodySize: maxBodySize)
            return JSON.response(buffer: try await endpoint.handle(tokenRequest).jsonBuffer)
        }
    }
}
