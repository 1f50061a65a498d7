import Foundation
import Hummingbird
import TesseraCore

/// `POST /introspect` (RFC 7662 §2). Every decision is the core's `IntrospectionEndpoint`.
struct IntrospectionRoutes {
    let runtime: TesseraRuntime

    func register(on router: Router<TesseraRequestContext>) {
        router.post("introspect") { request, context in
            var request = request
            let tokenRequest = try await ClientAuthenticatedForm.tokenRequest(&request, context: context, runtime: runtime)
            return JSON.response(buffer: try await runtime.introspectionEndpoint.handle(tokenRequest).jsonBuffer)
        }
    }
}
