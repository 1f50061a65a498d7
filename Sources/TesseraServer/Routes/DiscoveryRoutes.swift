import Foundation
import Hummingbird
import TesseraCore

/// `GET /jwks.json` (RFC 7517) and `GET /.well-known/oauth-authorization-server` (RFC 8414).
struct DiscoveryRoutes {
    let runtime: TesseraRuntime

    func register(on router: Router<TesseraRequestContext>) {
        let metadata = JSON.encode(MergedMetadata(AuthorizationServerMetadata(runtime: runtime),
                                                  LifecycleEndpointMetadata(issuer: runtime.configuration.effectiveIssuer)))
        router.get(".well-known/oauth-authorization-server") { _, _ in
            JSON.response(data: metadata, cacheControl: "public, max-age=300")
        }
        router.get("jwks.json") { _, _ in
            // Short cache: a key rotated on any node must reach verifiers quickly.
            JSON.response(data: try runtime.keys.current.jwksJSON, cacheControl: "public, max-age=60")
        }
    }
}

/// RFC 8414 §2 metadata: only what is implemented.
struct AuthorizationServerMetadata: Encodable {
    let issuer: String
    let tokenEndpoint: String
    let jwksURI: String
    let grantTypesSupported: [String]
    let responseTypesSupported: [String]
    let tokenEndpointAuthMethodsSupported: [String]
    let scopesSupported: [String]?
    // Token lifecycle and registration (issue 4) are in `LifecycleEndpointMetadata`, shared with OIDC discovery.
    // Browser flows (issue 3).
    let authorizationEndpoint: String
    let codeChallengeMethodsSupported = [PKCE.method]
    let authorizationResponseIssParameterSupported = true
    let responseModesSupported = ["query", "fragment"]

    init(runtime: TesseraRuntime) {
        let issuer = runtime.configuration.effectiveIssuer
        self.issuer = issuer
        self.tokenEndpoint = issuer + "/token"
        self.jwksURI = issuer + "/jwks.json"
        self.grantTypesSupported = runtime.tokenEndpoint.grants.grantTypes.map(\.rawValue)
        self.authorizationEndpoint = issuer + "/authorize"
        self.responseTypesSupported = ResponseType.allCases.map(\.rawValue)
        self.tokenEndpointAuthMethodsSupported = ClientAuthMethod.allCases.map(\.rawValue)
        self.scopesSupported = nil
    }

    enum CodingKeys: String, CodingKey {
        case issuer
        case tokenEndpoint = "token_endpoint"
        case jwksURI = "jwks_uri"
        case grantTypesSupported = "grant_types_supported"
        case responseTypesSupported = "response_types_supported"
        case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
        case scopesSupported = "scopes_supported"
        case authorizationEndpoint = "authorization_endpoint"
        case codeChallengeMethodsSupported = "code_challenge_methods_supported"
        case authorizationResponseIssParameterSupported = "authorization_response_iss_parameter_supported"
        case responseModesSupported = "response_modes_supported"
    }
}

/// Token lifecycle and registration metadata (issue 4: RFC 7009, RFC 7662, RFC 7591), listed by both the
/// RFC 8414 document and OpenID Connect discovery.
struct LifecycleEndpointMetadata: Encodable {
    let revocationEndpoint: String
    let introspectionEndpoint: String
    let registrationEndpoint: String
    let revocationEndpointAuthMethodsSupported: [String]
    let introspectionEndpointAuthMethodsSupported: [String]

    init(issuer: String) {
        self.revocationEndpoint = issuer + "/revoke"
        self.introspectionEndpoint = issuer + "/introspect"
        self.registrationEndpoint = issuer + "/register"
        // Public clients may revoke their own tokens; introspection needs a confidential client.
        self.revocationEndpointAuthMethodsSupported = ClientAuthMethod.allCases.map(\.rawValue)
        self.introspectionEndpointAuthMethodsSupported = [ClientAuthMethod.clientSecretBasic, .clientSecretPost].map(\.rawValue)
    }

    enum CodingKeys: String, CodingKey {
        case revocationEndpoint = "revocation_endpoint"
        case introspectionEndpoint = "introspection_endpoint"
        case registrationEndpoint = "registration_endpoint"
        case revocationEndpointAuthMethodsSupported = "revocation_endpoint_auth_methods_supported"
        case introspectionEndpointAuthMethodsSupported = "introspection_endpoint_auth_methods_supported"
    }
}

/// Two metadata objects encoded as one JSON object (their keys must not overlap).
struct MergedMetadata<First: Encodable, Second: Encodable>: Encodable {
    let first: First
    let second: Second
    init(_ first: First, _ second: Second) {
        self.first = first
        self.second = second
    }

    func encode(to encoder: any Encoder) throws {
        try first.encode(to: encoder)
        try second.encode(to: encoder)
    }
}
