import Foundation
import TesseraCore

extension OpenAPIDocument {
    /// Every `error` value Tessera can send (RFC 6749 §5.2, RFC 6750 §3.1, RFC 7591 §3.2.2, RFC 8707, OIDC Core
    /// §3.1.2.6, plus `too_many_requests` and `not_found`).
    public static let errorCodes: [String] = [
        OAuthError.Code.invalidRequest, .invalidClient, .invalidGrant, .unauthorizedClient, .unsupportedGrantType,
        .invalidScope, .accessDenied, .unsupportedResponseType, .serverError, .temporarilyUnavailable,
        .loginRequired, .consentRequired, .interactionRequired, .requestNotSupported, .invalidToken,
        .insufficientScope, .invalidRedirectURI, .invalidClientMetadata, .invalidTarget, .tooManyRequests,
        OAuthError.Code(rawValue: "not_found"),
    ].map(\.rawValue)

    var components: JSONValue {
        [
            "securitySchemes": securitySchemes,
            "schemas": schemas,
            "responses": responses,
            "headers": headers,
        ]
    }

    var securitySchemes: JSONValue {
        [
            "clientBasic": ["type": "http", "scheme": "basic",
                            "description": "Client authentication: client_id and client_secret (client_secret_basic, RFC 6749 §2.3.1)."],
            "bearer": ["type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                       "description": "An access token issued by this server (RFC 6750)."],
            "initialAccessToken": ["type": "http", "scheme": "bearer",
                                   "description": "An initial access token for registration (RFC 7591 §3), from `tessera client initial-token`."],
            "registrationAccessToken": ["type": "http", "scheme": "bearer",
                                        "description": "The registration access token returned at registration (RFC 7592 §3)."],
            "oauth2": [
                "type": "oauth2",
                "description": "Authorization code with PKCE against this server (Swagger UI's Authorize button uses the public client `tessera-docs`).",
                "flows": [
                    "authorizationCode": [
                        "authorizationUrl": .string(issuer + "/authorize"),
                        "tokenUrl": .string(issuer + "/token"),
                        "refreshUrl": .string(issuer + "/token"),
                        "scopes": [
                            "openid": "Sign in (OpenID Connect)",
                            "profile": "Name and username",
                            "email": "Email address",
                        ],
                    ],
                ],
            ],
        ]
    }

    var schemas: JSONValue {
        let string: JSONValue = ["type": "string"]
        let strings: JSONValue = ["type": "array", "items": ["type": "string"]]
        let integer: JSONValue = ["type": "integer"]
        return [
            "OAuthError": [
                "type": "object",
                "description": "An error response (RFC 6749 §5.2).",
                "required": ["error", "error_description"],
                "properties": [
                    "error": ["type": "string", "enum": .strings(Self.errorCodes)],
                    "error_description": ["type": "string", "description": "Human-readable, never secret."],
                ],
                "additionalProperties": false,
            ],
            // Form parameters: an empty value counts as omitted (RFC 6749 §3.1), so each has minLength 1.
            "TokenRequest": [
                "type": "object",
                "required": ["grant_type"],
                "properties": [
                    "grant_type": ["type": "string", "enum": .strings(grantTypes)],
                    "code": ["type": "string", "minLength": 1, "description": "authorization_code: the code from /authorize."],
                    "redirect_uri": ["type": "string", "minLength": 1, "description": "authorization_code: the redirect_uri sent to /authorize."],
                    "code_verifier": ["type": "string", "description": "authorization_code: the PKCE verifier (RFC 7636).",
                                      "minLength": 43, "maxLength": 128, "pattern": "^[A-Za-z0-9._~-]+$"],
                    "refresh_token": ["type": "string", "minLength": 1, "description": "refresh_token: the refresh token."],
                    "username": ["type": "string", "minLength": 1, "description": "password: the resource owner's username."],
                    "password": ["type": "string", "minLength": 1, "description": "password: the resource owner's password.", "format": "password"],
                    "otp": ["type": "string", "minLength": 1, "description": "password: a TOTP or recovery code, for a user with MFA at a client allowed to (`--allow-mfa-password-grant`)."],
                    "scope": ["type": "string", "minLength": 1, "description": "Space-separated scopes (RFC 6749 §3.3)."],
                    "resource": ["type": "string", "minLength": 1, "description": "A resource indicator (RFC 8707), an absolute URI."],
                    "client_id": ["type": "string", "minLength": 1, "description": "Public clients and client_secret_post."],
                    "client_secret": ["type": "string", "minLength": 1, "description": "client_secret_post only.", "format": "password"],
                    "client_assertion_type": ["type": "string", "enum": [.string(ClientAssertionVerifier.jwtBearerType)],
                                              "description": "private_key_jwt (RFC 7523 §2.2) only."],
                    "client_assertion": ["type": "string", "minLength": 1, "description": "private_key_jwt only: a JWT signed with the client's key."],
                ],
            ],
            "TokenLifecycleRequest": [
                "type": "object",
                "required": ["token"],
                "properties": [
                    "token": ["type": "string", "minLength": 1, "description": "The access or refresh token."],
                    "token_type_hint": ["type": "string", "enum": ["access_token", "refresh_token"]],
                    "client_id": ["type": "string", "minLength": 1, "description": "Public clients and client_secret_post."],
                    "client_secret": ["type": "string", "minLength": 1, "description": "client_secret_post only.", "format": "password"],
                    "client_assertion_type": ["type": "string", "enum": [.string(ClientAssertionVerifier.jwtBearerType)],
                                              "description": "private_key_jwt (RFC 7523 §2.2) only."],
                    "client_assertion": ["type": "string", "minLength": 1, "description": "private_key_jwt only: a JWT signed with the client's key."],
                ],
            ],
            "TokenResponse": [
                "type": "object",
                "required": ["access_token", "token_type", "expires_in"],
                "properties": [
                    "access_token": string,
                    "token_type": ["type": "string", "enum": ["Bearer"]],
                    "expires_in": ["type": "integer", "minimum": 0],
                    "refresh_token": string,
                    "scope": string,
                    "id_token": string,
                ],
                "additionalProperties": false,
            ],
            "IntrospectionResponse": [
                "type": "object",
                "required": ["active"],
                "properties": [
                    "active": ["type": "boolean"],
                    "scope": string, "client_id": string, "sub": string, "iss": string, "token_type": string, "jti": string,
                    "exp": integer, "iat": integer, "aud": strings,
                ],
                "additionalProperties": false,
            ],
            "ClientMetadata": [
                "type": "object",
                "description": "Client metadata (RFC 7591 §2). Unknown members are ignored.",
                "properties": [
                    "redirect_uris": ["type": "array", "items": ["type": "string", "format": "uri"]],
                    "token_endpoint_auth_method": ["type": "string", "enum": .strings(ClientAuthMethod.allCases.map(\.rawValue))],
                    "grant_types": ["type": "array", "items": ["type": "string", "enum": .strings(GrantType.known.map(\.rawValue))]],
                    "response_types": ["type": "array", "items": ["type": "string", "enum": ["code", "token"]]],
                    "client_name": string,
                    "scope": string,
                    "resources": ["type": "array", "items": ["type": "string", "format": "uri"]],
                    "id_token_signed_response_alg": ["type": "string", "enum": ["RS256", "ES256"]],
                    "application_type": ["type": "string", "enum": .strings(ApplicationType.allCases.map(\.rawValue))],
                    "jwks": ["type": "object", "description": "private_key_jwt: the client's public keys (RFC 7517 key set)."],
                    "jwks_uri": ["type": "string", "format": "uri", "description": "private_key_jwt: an https URL of the client's key set."],
                    "client_id": ["type": "string", "description": "Updates (RFC 7592 §2.2) only: this client's id."],
                    "client_secret": ["type": "string", "description": "Updates only: the current secret, if any."],
                ],
            ],
            "ClientInformation": [
                "type": "object",
                "description": "Client information (RFC 7591 §3.2.1, RFC 7592 §3).",
                "required": ["client_id", "client_id_issued_at", "registration_client_uri", "redirect_uris", "token_endpoint_auth_method",
                             "grant_types", "response_types", "client_name", "scope", "id_token_signed_response_alg"],
                "properties": [
                    "client_id": string,
                    "client_secret": string,
                    "client_id_issued_at": integer,
                    "client_secret_expires_at": ["type": "integer", "description": "0: the secret does not expire."],
                    "registration_access_token": string,
                    "registration_client_uri": string,
                    "redirect_uris": strings,
                    "token_endpoint_auth_method": ["type": "string", "enum": .strings(ClientAuthMethod.allCases.map(\.rawValue))],
                    "grant_types": strings,
                    "response_types": strings,
                    "client_name": string,
                    "scope": string,
                    "resources": strings,
                    "id_token_signed_response_alg": ["type": "string", "enum": ["RS256", "ES256"]],
                    "application_type": ["type": "string", "enum": .strings(ApplicationType.allCases.map(\.rawValue))],
                    "jwks": ["type": "object"],
                    "jwks_uri": string,
                ],
                "additionalProperties": false,
            ],
            "UserInfo": [
                "type": "object",
                "required": ["sub"],
                "properties": ["sub": string, "name": string, "preferred_username": string, "email": string],
                "additionalProperties": ["type": "string"],
            ],
            "JWKS": [
                "type": "object",
                "required": ["keys"],
                "properties": [
                    "keys": ["type": "array", "items": [
                        "type": "object",
                        "required": ["kty", "kid"],
                        "properties": ["kty": ["type": "string", "enum": ["RSA", "EC"]], "kid": string, "use": string, "alg": string,
                                       "n": string, "e": string, "crv": string, "x": string, "y": string],
                    ]],
                ],
            ],
            "AuthorizationServerMetadata": [
                "type": "object",
                "description": "RFC 8414 §2.",
                "required": ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported", "grant_types_supported"],
                "properties": [
                    "issuer": string, "authorization_endpoint": string, "token_endpoint": string, "jwks_uri": string,
                    "revocation_endpoint": string, "introspection_endpoint": string, "registration_endpoint": string,
                    "response_types_supported": strings, "response_modes_supported": strings, "grant_types_supported": strings,
                    "token_endpoint_auth_methods_supported": strings, "code_challenge_methods_supported": strings,
                    "revocation_endpoint_auth_methods_supported": strings, "introspection_endpoint_auth_methods_supported": strings,
                    "authorization_response_iss_parameter_supported": ["type": "boolean"],
                    "scopes_supported": strings,
                ],
            ],
            "OpenIDConfiguration": [
                "type": "object",
                "description": "OpenID Connect Discovery 1.0 §3.",
                "required": ["issuer", "authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                             "response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported"],
                "properties": [
                    "issuer": string, "authorization_endpoint": string, "token_endpoint": string, "userinfo_endpoint": string,
                    "jwks_uri": string, "end_session_endpoint": string, "revocation_endpoint": string,
                    "introspection_endpoint": string, "registration_endpoint": string,
                    "scopes_supported": strings, "response_types_supported": strings, "response_modes_supported": strings,
                    "grant_types_supported": strings, "subject_types_supported": strings,
                    "id_token_signing_alg_values_supported": strings, "token_endpoint_auth_methods_supported": strings,
                    "claims_supported": strings, "code_challenge_methods_supported": strings, "prompt_values_supported": strings,
                ],
            ],
            "Health": [
                "type": "object",
                "required": ["status"],
                "properties": ["status": ["type": "string", "enum": ["ok", "ready"]]],
            ],
        ]
    }

    var responses: JSONValue {
        func error(_ description: String, headers: JSONValue? = nil) -> JSONValue {
            var response: JSONValue = ["description": .string(description), "content": json(schema: "OAuthError")]
            if let headers { response = response.merging(["headers": headers]) }
            return response
        }
        return [
            "BadRequest": error("The request is invalid (`invalid_request`, `invalid_grant`, `invalid_scope`, `unsupported_grant_type`, …)."),
            "InvalidClient": error("Client authentication failed (`invalid_client`).",
                                   headers: ["WWW-Authenticate": ref(header: "WWWAuthenticate")]),
            "InvalidToken": error("The bearer token is missing, invalid or expired (`invalid_token`, RFC 6750 §3.1).",
                                  headers: ["WWW-Authenticate": ref(header: "WWWAuthenticate")]),
            "NotFound": error("No such resource (`not_found`)."),
            "ContentTooLarge": error("The request body exceeds the configured limit."),
            "TooManyRequests": error("Rate limited (`too_many_requests`); retry after `Retry-After` seconds.",
                                     headers: ["Retry-After": ref(header: "RetryAfter")]),
            "Unavailable": error("The database is unavailable (`temporarily_unavailable`).",
                                 headers: ["Retry-After": ref(header: "RetryAfter")]),
        ]
    }

    var headers: JSONValue {
        [
            "WWWAuthenticate": ["required": true, "description": "The authentication scheme to use (RFC 9110 §11.6.1).",
                                "schema": ["type": "string", "pattern": "^(Basic|Bearer)( |$)"]],
            "RetryAfter": ["required": true, "description": "Seconds to wait before retrying.",
                           "schema": ["type": "string", "pattern": "^[0-9]+$"]],
            "CacheControlNoStore": ["required": true, "schema": ["type": "string", "const": "no-store"]],
            "PragmaNoCache": ["required": true, "schema": ["type": "string", "const": "no-cache"]],
        ]
    }
}
