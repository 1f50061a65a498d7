import Foundation
import Hummingbird
import TesseraCore
import TesseraJOSE

/// `GET /jwks.json` (RFC 7517), `GET /.well-known/oauth-authorization-server` (RFC 8414) and
/// `GET /.well-known/openid-configuration` (OIDC Discovery §4): documents encoded once at start-up.
struct DiscoveryRoutes {
    let documents: DiscoveryDocuments
    let keys: SigningKeyManager

    func register(on router: some RouterMethods<TesseraRequestContext>) {
        for path in [".well-known/oauth-authorization-server", ".well-known/openid-configuration", "jwks.json"] {
            router.corsPreflight(RouterPath(path), methods: [.get])
        }
        let authorizationServer = documents.authorizationServer
        let openIDConfiguration = documents.openIDConfiguration
        router.get(".well-known/oauth-authorization-server") { _, _ in
            JSON.response(data: authorizationServer, cacheControl: "public, max-age=300")
        }
        router.get(".well-known/openid-configuration") { _, _ in
            JSON.response(data: openIDConfiguration, cacheControl: "public, max-age=300")
        }
        router.get("jwks.json") { [keys] _, _ in
            // Short cache: a key rotated on any node must reach verifiers quickly.
            JSON.response(data: try keys.current.jwksJSON, cacheControl: "public, max-age=60")
        }
    }
}

/// The discovery documents of one issuer, encoded once by `TesseraRuntime.make`. The lifecycle endpoints are
/// listed in both (same code, same values).
struct DiscoveryDocuments: Sendable {
    /// RFC 8414 §3.2 response body.
    let authorizationServer: Data
    /// OIDC Discovery §4.2 response body.
    let openIDConfiguration: Data

    init(issuer: String, grantTypes: [GrantType], scopes: ScopeSet = ["openid", "profile", "email"], clientIDMetadataDocuments: Bool = false) {
        var lifecycle = LifecycleEndpointMetadata(issuer: issuer)
        lifecycle.scopesSupported = scopes.union(["openid", "profile", "email"]).sorted
        lifecycle.clientIDMetadataDocumentSupported = clientIDMetadataDocuments ? true : nil
        authorizationServer = JSON.encode(MergedMetadata(AuthorizationServerMetadata(issuer: issuer, grantTypes: grantTypes), lifecycle))
        openIDConfiguration = JSON.encode(MergedMetadata(OpenIDConfiguration(issuer: issuer, grantTypes: grantTypes), lifecycle))
    }
}

extension DiscoveryDocuments {
    /// `grant_types_supported` of both documents: the token endpoint's grants, and `implicit` since `token` is a
    /// response type (RFC 8414 §2: the two must agree).
    static func advertised(_ grantTypes: [GrantType]) -> [String] {
        Set((grantTypes + (ResponseType.allCases.contains { $0.rawValue == "token" } ? [.implicit] : [])).map(\.rawValue)).sorted()
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
    // Token lifecycle and registration (issue 4) are in `LifecycleEndpointMetadata`, shared with OIDC discovery.
    // Browser flows (issue 3).
    let authorizationEndpoint: String
    let codeChallengeMethodsSupported = [PKCE.method]
    let authorizationResponseIssParameterSupported = true
    let responseModesSupported = ["query", "fragment"]

    init(issuer: String, grantTypes: [GrantType]) {
        self.issuer = issuer
        self.tokenEndpoint = issuer + "/token"
        self.jwksURI = issuer + "/jwks.json"
        self.grantTypesSupported = DiscoveryDocuments.advertised(grantTypes)
        self.authorizationEndpoint = issuer + "/authorize"
        self.responseTypesSupported = ResponseType.allCases.map(\.rawValue)
        self.tokenEndpointAuthMethodsSupported = ClientAuthMethod.allCases.map(\.rawValue)
    }

    enum CodingKeys: String, CodingKey {
        case issuer
        case tokenEndpoint = "token_endpoint"
        case jwksURI = "jwks_uri"
        case grantTypesSupported = "grant_types_supported"
        case responseTypesSupported = "response_types_supported"
        case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
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
    /// OIDC Core §5.3 and RP-Initiated Logout §2.1, listed in the RFC 8414 document too (both are in its registry).
    let userinfoEndpoint: String
    let endSessionEndpoint: String
    /// The configured scopes (default and registrable) and the OpenID Connect identity scopes.
    var scopesSupported: [String] = []
    /// The algorithms a `private_key_jwt` assertion may be signed with (RFC 8414 §2), at each endpoint.
    let tokenEndpointAuthSigningAlgValuesSupported = JWSAlgorithm.allSupported.map(\.name)
    let revocationEndpointAuthSigningAlgValuesSupported = JWSAlgorithm.allSupported.map(\.name)
    let introspectionEndpointAuthSigningAlgValuesSupported = JWSAlgorithm.allSupported.map(\.name)
    /// draft-ietf-oauth-client-id-metadata-document §5: a `client_id` may be a metadata document URL.
    var clientIDMetadataDocumentSupported: Bool?

    init(issuer: String) {
        self.revocationEndpoint = issuer + "/revoke"
        self.introspectionEndpoint = issuer + "/introspect"
        self.registrationEndpoint = issuer + "/register"
        self.userinfoEndpoint = issuer + "/userinfo"
        self.endSessionEndpoint = issuer + "/logout"
        // Public clients may revoke their own tokens; introspection needs a confidential client.
        self.revocationEndpointAuthMethodsSupported = ClientAuthMethod.allCases.map(\.rawValue)
        self.introspectionEndpointAuthMethodsSupported = [ClientAuthMethod.clientSecretBasic, .clientSecretPost, .privateKeyJWT].map(\.rawValue)
    }

    enum CodingKeys: String, CodingKey {
        case revocationEndpoint = "revocation_endpoint"
        case introspectionEndpoint = "introspection_endpoint"
        case registrationEndpoint = "registration_endpoint"
        case revocationEndpointAuthMethodsSupported = "revocation_endpoint_auth_methods_supported"
        case introspectionEndpointAuthMethodsSupported = "introspection_endpoint_auth_methods_supported"
        case tokenEndpointAuthSigningAlgValuesSupported = "token_endpoint_auth_signing_alg_values_supported"
        case revocationEndpointAuthSigningAlgValuesSupported = "revocation_endpoint_auth_signing_alg_values_supported"
        case introspectionEndpointAuthSigningAlgValuesSupported = "introspection_endpoint_auth_signing_alg_values_supported"
        case clientIDMetadataDocumentSupported = "client_id_metadata_document_supported"
        case userinfoEndpoint = "userinfo_endpoint"
        case endSessionEndpoint = "end_session_endpoint"
        case scopesSupported = "scopes_supported"
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

/// OpenID Provider metadata (OIDC Discovery §3): only what is implemented.
struct OpenIDConfiguration: Encodable {
    let issuer: String
    let authorizationEndpoint: String
    let tokenEndpoint: String
    let jwksURI: String
    let responseTypesSupported = ResponseType.allCases.map(\.rawValue)
    let responseModesSupported = ["query", "fragment"]
    let grantTypesSupported: [String]
    let subjectTypesSupported = ["public"]
    /// RS256 for every client unless it registered ES256 (`id_token_signed_response_alg`).
    let idTokenSigningAlgValuesSupported = ["RS256", "ES256"]
    let tokenEndpointAuthMethodsSupported = ClientAuthMethod.allCases.map(\.rawValue)
    let claimsSupported = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "c_hash", "azp", "amr", "idp", "name", "preferred_username", "email"]
    let codeChallengeMethodsSupported = [PKCE.method]
    let promptValuesSupported = ["none", "login", "consent"]
    let authorizationResponseIssParameterSupported = true
    let claimsParameterSupported = false
    let requestParameterSupported = false
    let requestURIParameterSupported = false

    init(issuer: String, grantTypes: [GrantType]) {
        self.issuer = issuer
        authorizationEndpoint = issuer + "/authorize"
        tokenEndpoint = issuer + "/token"
        jwksURI = issuer + "/jwks.json"
        grantTypesSupported = DiscoveryDocuments.advertised(grantTypes)
    }

    enum CodingKeys: String, CodingKey {
        case issuer
        case authorizationEndpoint = "authorization_endpoint"
        case tokenEndpoint = "token_endpoint"
        case jwksURI = "jwks_uri"
        case responseTypesSupported = "response_types_supported"
        case responseModesSupported = "response_modes_supported"
        case grantTypesSupported = "grant_types_supported"
        case subjectTypesSupported = "subject_types_supported"
        case idTokenSigningAlgValuesSupported = "id_token_signing_alg_values_supported"
        case tokenEndpointAuthMethodsSupported = "token_endpoint_auth_methods_supported"
        case claimsSupported = "claims_supported"
        case codeChallengeMethodsSupported = "code_challenge_methods_supported"
        case promptValuesSupported = "prompt_values_supported"
        case authorizationResponseIssParameterSupported = "authorization_response_iss_parameter_supported"
        case claimsParameterSupported = "claims_parameter_supported"
        case requestParameterSupported = "request_parameter_supported"
        case requestURIParameterSupported = "request_uri_parameter_supported"
    }
}
