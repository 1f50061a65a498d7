public import Foundation
import TesseraCore

/// The OpenAPI 3.1 description of every JSON endpoint Tessera serves, served at `/openapi.json` and
/// rendered by Swagger UI at `/docs`. Built from the configured issuer so the `servers` entry and the
/// `oauth2` security scheme's URLs point at this server.
///
/// The document is checked against what the server really answers by the schemathesis interop test
/// (interop/test_openapi.py): keep it in step with the routes.
public struct OpenAPIDocument: Sendable {
    /// The issuer (scheme, host, port and path prefix of every URL).
    public let issuer: String
    /// Grant types `/token` accepts.
    public let grantTypes: [String]
    /// Whether `/metrics` is served (documented only then).
    public let metrics: Bool

    /// Every operation the document describes, as `METHOD /path` (the route test compares this with the router).
    public static let operations: [String] = [
        "POST /token", "POST /revoke", "POST /introspect",
        "POST /register", "GET /register/{client_id}", "PUT /register/{client_id}", "DELETE /register/{client_id}",
        "GET /userinfo", "POST /userinfo", "GET /jwks.json",
        "GET /.well-known/openid-configuration", "GET /.well-known/oauth-authorization-server",
        "GET /healthz", "GET /readyz", "GET /openapi.json",
    ]

    public init(issuer: String, grantTypes: [String], metrics: Bool = false) {
        self.issuer = issuer
        self.grantTypes = grantTypes
        self.metrics = metrics
    }

    /// The document as a JSON value.
    public var value: JSONValue {
        [
            "openapi": "3.1.0",
            "info": info,
            "servers": [["url": .string(issuer)]],
            "paths": paths,
            "components": components,
            "tags": [
                ["name": "OAuth 2.0", "description": "Token endpoint and token lifecycle (RFC 6749, RFC 7009, RFC 7662)."],
                ["name": "Registration", "description": "Dynamic client registration and management (RFC 7591, RFC 7592)."],
                ["name": "OpenID Connect", "description": "UserInfo and discovery (OpenID Connect Core 1.0, Discovery 1.0)."],
                ["name": "Discovery", "description": "Server metadata and signing keys (RFC 8414, RFC 7517)."],
                ["name": "Operations", "description": "Health, readiness and this document."],
            ],
        ]
    }

    /// The document as JSON bytes (sorted keys).
    public var json: Data { JSON.encode(value) }

    var info: JSONValue {
        [
            "title": "Tessera",
            "version": "1.0.0",
            "summary": "An OAuth 2.1 / OpenID Connect authorization server.",
            "description": .string("""
            The JSON endpoints of this Tessera server. Errors follow RFC 6749 §5.2: a JSON object with `error` \
            and `error_description`. Browser endpoints (`/authorize`, `/login`, `/consent`, `/account`, `/logout`) \
            serve HTML and are not described here; the **Authorize** button runs the authorization code flow with \
            PKCE against them. Metadata: \(issuer)/.well-known/openid-configuration
            """),
            "license": ["name": "Apache-2.0", "identifier": "Apache-2.0"],
        ]
    }

    // MARK: Paths

    var paths: JSONValue {
        var paths: [String: JSONValue] = [
            "/token": ["post": token],
            "/revoke": ["post": revoke],
            "/introspect": ["post": introspect],
            "/register": ["post": register],
            "/register/{client_id}": [
                "parameters": [["name": "client_id", "in": "path", "required": true,
                                "description": "The client identifier from the registration response.",
                                "schema": ["type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9._~-]+$"]]],
                "get": registrationRead, "put": registrationUpdate, "delete": registrationDelete,
            ],
            "/userinfo": ["get": userInfo(method: "get"), "post": userInfo(method: "post")],
            "/jwks.json": ["get": jwks],
            "/.well-known/openid-configuration": ["get": metadata(
                id: "openidConfiguration", summary: "OpenID Provider metadata", schema: "OpenIDConfiguration", tag: "OpenID Connect")],
            "/.well-known/oauth-authorization-server": ["get": metadata(
                id: "authorizationServerMetadata", summary: "Authorization server metadata (RFC 8414)",
                schema: "AuthorizationServerMetadata", tag: "Discovery")],
            "/healthz": ["get": health],
            "/readyz": ["get": ready],
            "/openapi.json": ["get": openAPI],
        ]
        if metrics { paths["/metrics"] = ["get": metricsOperation] }
        return .object(paths)
    }

    var token: JSONValue {
        [
            "operationId": "token",
            "tags": ["OAuth 2.0"],
            "summary": "Issue tokens (RFC 6749 §3.2)",
            "description": .string("""
            Grants: \(grantTypes.joined(separator: ", ")). Confidential clients authenticate with HTTP Basic \
            (client_secret_basic) or `client_id` + `client_secret` in the body (client_secret_post); public \
            clients send `client_id` only (and PKCE for authorization codes).
            """),
            "security": [["clientBasic": []], [:]],
            "requestBody": formBody(schema: "TokenRequest"),
            "responses": [
                "200": [
                    "description": "Tokens issued (RFC 6749 §5.1).",
                    "headers": ["Cache-Control": ref(header: "CacheControlNoStore"), "Pragma": ref(header: "PragmaNoCache")],
                    "content": json(schema: "TokenResponse"),
                ],
                "400": ref(response: "BadRequest"),
                "401": ref(response: "InvalidClient"),
                "413": ref(response: "ContentTooLarge"),
                "429": ref(response: "TooManyRequests"),
                "503": ref(response: "Unavailable"),
            ],
        ]
    }

    var revoke: JSONValue {
        [
            "operationId": "revoke",
            "tags": ["OAuth 2.0"],
            "summary": "Revoke a token (RFC 7009)",
            "description": "Answers 200 whether or not the token was known (RFC 7009 §2.2).",
            "security": [["clientBasic": []], [:]],
            "requestBody": formBody(schema: "TokenLifecycleRequest"),
            "responses": [
                "200": ["description": "Revoked, or nothing to revoke. Empty body."],
                "400": ref(response: "BadRequest"),
                "401": ref(response: "InvalidClient"),
                "413": ref(response: "ContentTooLarge"),
                "429": ref(response: "TooManyRequests"),
                "503": ref(response: "Unavailable"),
            ],
        ]
    }

    var introspect: JSONValue {
        [
            "operationId": "introspect",
            "tags": ["OAuth 2.0"],
            "summary": "Introspect a token (RFC 7662)",
            "description": "Confidential clients only. An unknown, expired or foreign token answers `{\"active\": false}`.",
            "security": [["clientBasic": []], [:]],
            "requestBody": formBody(schema: "TokenLifecycleRequest"),
            "responses": [
                "200": ["description": "The token's state (RFC 7662 §2.2).", "content": json(schema: "IntrospectionResponse")],
                "400": ref(response: "BadRequest"),
                "401": ref(response: "InvalidClient"),
                "413": ref(response: "ContentTooLarge"),
                "429": ref(response: "TooManyRequests"),
                "503": ref(response: "Unavailable"),
            ],
        ]
    }

    var register: JSONValue {
        [
            "operationId": "registerClient",
            "tags": ["Registration"],
            "summary": "Register a client (RFC 7591)",
            "description": "Needs an initial access token (`tessera client initial-token`) unless open registration is enabled.",
            "security": [["initialAccessToken": []], [:]],
            "requestBody": ["required": true, "content": json(schema: "ClientMetadata")],
            "responses": [
                "201": ["description": "Registered (RFC 7591 §3.2.1).", "content": json(schema: "ClientInformation")],
                "400": ref(response: "BadRequest"),
                "401": ref(response: "InvalidToken"),
                "413": ref(response: "ContentTooLarge"),
                "429": ref(response: "TooManyRequests"),
                "503": ref(response: "Unavailable"),
            ],
        ]
    }

    var registrationRead: JSONValue {
        [
            "operationId": "readClient",
            "tags": ["Registration"],
            "summary": "Read a registration (RFC 7592 §2.1)",
            "security": [["registrationAccessToken": []]],
            "responses": [
                "200": ["description": "The client's current registration.", "content": json(schema: "ClientInformation")],
                "401": ref(response: "InvalidToken"),
                "404": ref(response: "NotFound"),
                "503": ref(response: "Unavailable"),
            ],
        ]
    }

    var registrationUpdate: JSONValue {
        [
            "operationId": "updateClient",
            "tags": ["Registration"],
            "summary": "Replace a registration (RFC 7592 §2.2)",
            "description": "The body must include this client's `client_id`; omitted metadata returns to its default.",
            "security": [["registrationAccessToken": []]],
            "requestBody": ["required": true, "content": json(schema: "ClientMetadata")],
            "responses": [
                "200": ["description": "The updated registration.", "content": json(schema: "ClientInformation")],
                "400": ref(response: "BadRequest"),
                "401": ref(response: "InvalidToken"),
                "404": ref(response: "NotFound"),
                "413": ref(response: "ContentTooLarge"),
                "503": ref(response: "Unavailable"),
            ],
        ]
    }

    var registrationDelete: JSONValue {
        [
            "operationId": "deleteClient",
            "tags": ["Registration"],
            "summary": "Delete a registration (RFC 7592 §2.3)",
            "security": [["registrationAccessToken": []]],
            "responses": [
                "204": ["description": "Deleted; its tokens stop working."],
                "401": ref(response: "InvalidToken"),
                "404": ref(response: "NotFound"),
                "503": ref(response: "Unavailable"),
            ],
        ]
    }

    func userInfo(method: String) -> JSONValue {
        [
            "operationId": .string(method == "get" ? "userInfo" : "userInfoPost"),
            "tags": ["OpenID Connect"],
            "summary": "Claims about the signed-in user (OpenID Connect Core §5.3)",
            "description": "Needs an access token issued with the `openid` scope, in the Authorization header (RFC 6750 §2.1).",
            "security": [["bearer": []], ["oauth2": ["openid"]]],
            "responses": [
                "200": ["description": "The user's claims.", "content": json(schema: "UserInfo")],
                "400": [
                    "description": "The Authorization header uses another scheme than Bearer.",
                    "headers": ["WWW-Authenticate": ref(header: "WWWAuthenticate")],
                    "content": json(schema: "OAuthError"),
                ],
                "401": ref(response: "InvalidToken"),
                "403": [
                    "description": "The token lacks the `openid` scope (`insufficient_scope`).",
                    "headers": ["WWW-Authenticate": ref(header: "WWWAuthenticate")],
                    "content": json(schema: "OAuthError"),
                ],
                "503": ref(response: "Unavailable"),
            ],
        ]
    }

    var jwks: JSONValue {
        [
            "operationId": "jwks",
            "tags": ["Discovery"],
            "summary": "Public signing keys (RFC 7517)",
            "security": [],
            "responses": [
                "200": ["description": "The JSON Web Key Set.", "content": json(schema: "JWKS")],
            ],
        ]
    }

    func metadata(id: String, summary: String, schema: String, tag: String) -> JSONValue {
        [
            "operationId": .string(id),
            "tags": [.string(tag)],
            "summary": .string(summary),
            "security": [],
            "responses": ["200": ["description": "The metadata document.", "content": json(schema: schema)]],
        ]
    }

    var health: JSONValue {
        [
            "operationId": "healthz",
            "tags": ["Operations"],
            "summary": "Liveness: the process answers",
            "security": [],
            "responses": ["200": ["description": "Alive.", "content": json(schema: "Health")]],
        ]
    }

    var ready: JSONValue {
        [
            "operationId": "readyz",
            "tags": ["Operations"],
            "summary": "Readiness: the database answers too",
            "security": [],
            "responses": [
                "200": ["description": "Ready.", "content": json(schema: "Health")],
                "503": ref(response: "Unavailable"),
            ],
        ]
    }

    var openAPI: JSONValue {
        [
            "operationId": "openAPI",
            "tags": ["Operations"],
            "summary": "This document",
            "security": [],
            "responses": [
                "200": ["description": "The OpenAPI 3.1 document.", "content": ["application/json": ["schema": ["type": "object"]]]],
            ],
        ]
    }

    var metricsOperation: JSONValue {
        [
            "operationId": "metrics",
            "tags": ["Operations"],
            "summary": "Prometheus metrics",
            "security": [],
            "responses": [
                "200": ["description": "Prometheus text exposition format.", "content": ["text/plain": ["schema": ["type": "string"]]]],
            ],
        ]
    }

    // MARK: Helpers

    func ref(schema name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }
    func ref(response name: String) -> JSONValue { ["$ref": .string("#/components/responses/\(name)")] }
    func ref(header name: String) -> JSONValue { ["$ref": .string("#/components/headers/\(name)")] }
    func json(schema name: String) -> JSONValue { ["application/json": ["schema": ref(schema: name)]] }
    func formBody(schema name: String) -> JSONValue {
        ["required": true, "content": ["application/x-www-form-urlencoded": ["schema": ref(schema: name)]]]
    }
}
