public import AsyncHTTPClient
import Foundation
import Logging
public import TesseraCore

/// The client side of a plain OAuth 2.0 provider (`IdentityProviderKind.oauth2`), the way GitHub works.
///
/// Such a provider has no issuer and no ID token: the callback's `iss` is ignored, the code is redeemed (with PKCE
/// S256 and `Accept: application/json`; a form-encoded answer is read too), and the identity is read from the
/// userinfo endpoint with the access token, through the provider's ``ClaimMapping``. The subject member may be a
/// string or an integer (read as its decimal text); the email counts as verified only when the mapped boolean
/// member says so.
public struct OAuth2ProviderClient: UpstreamProviderClient {
    /// The provider's id (`IdentityProviderSettings.id`).
    public var providerID: String { self.settings.id }
    /// The settings, client secret included: kept private so no description of the client can show the secret.
    private let settings: IdentityProviderSettings
    /// The provider's endpoints.
    public let endpoints: OAuth2ProviderEndpoints
    /// How userinfo members map to claims.
    public let claims: ClaimMapping
    /// How Tessera authenticates at the token endpoint. Default `client_secret_post`, which GitHub documents.
    public let clientAuthentication: UpstreamClientAuthentication
    private let http: UpstreamHTTP

    /// Creates a client.
    /// - Parameters:
    ///   - settings: The provider; its `kind` must be `.oauth2(endpoints:claims:)` (any other kind fails every call
    ///     with ``FederationFailure/providerUnavailable(detail:)``).
    ///   - httpClient: The HTTP client; defaults to ``UpstreamProviderClients/httpClient``, which does not follow redirects.
    ///   - timeout: The time allowed for each upstream request, body included. Default 10 seconds.
    ///   - clientAuthentication: How to authenticate at the token endpoint.
    public init(settings: IdentityProviderSettings, httpClient: HTTPClient = UpstreamProviderClients.httpClient, timeout: Duration = .seconds(10),
                clientAuthentication: UpstreamClientAuthentication = .clientSecretPost) {
        self.settings = settings
        if case .oauth2(let endpoints, let claims) = settings.kind {
            self.endpoints = endpoints
            self.claims = claims
        } else {
            self.endpoints = OAuth2ProviderEndpoints(authorization: "", token: "", userinfo: "")
            self.claims = ClaimMapping()
        }
        self.clientAuthentication = clientAuthentication
        self.http = UpstreamHTTP(client: httpClient, timeout: timeout)
    }

    /// The scopes asked of the provider: the configured ones, without duplicates.
    public var requestedScopes: [String] { self.settings.scopes.requestedScopes(adding: nil) }

    /// The configured authorization endpoint.
    public func authorizationEndpoint() async throws(FederationFailure) -> String { self.endpoints.authorization }

    /// The authorization endpoint with the code flow's parameters and PKCE S256; `nonce` is not sent (OAuth 2.0 has none).
    public func authorizationURL(state: String, nonce: String, codeChallenge: String, redirectURI: String) async throws(FederationFailure) -> String {
        guard UpstreamURLPolicy.isAcceptable(self.endpoints.authorization) else {
            throw .providerUnavailable(detail: "the authorization endpoint of \(self.settings.id) is not an https URL")
        }
        var parameters = [
            ("response_type", "code"),
            ("client_id", self.settings.clientID),
            ("redirect_uri", redirectURI),
        ]
        if !self.requestedScopes.isEmpty {
            parameters.append(("scope", self.requestedScopes.joined(separator: " ")))
        }
        parameters += [("state", state), ("code_challenge", codeChallenge), ("code_challenge_method", "S256")]
        return FormEncoding.appendingQuery(parameters, to: self.endpoints.authorization)
    }

    /// Redeems the code and reads the identity from the userinfo endpoint. `issuerParameter` and `nonce` are ignored.
    public func redeem(code: String, issuerParameter: String?, codeVerifier: String, nonce: String, redirectURI: String) async throws(FederationFailure)
        -> UpstreamIdentity {
        let exchange = TokenExchange(http: self.http, clientID: self.settings.clientID, clientSecret: self.settings.clientSecret)
        let tokens = try await exchange.redeem(tokenEndpoint: self.endpoints.token, code: code, codeVerifier: codeVerifier,
                                               redirectURI: redirectURI, authentication: self.clientAuthentication, acceptFormEncoded: true)
        guard let accessToken = tokens.accessToken else {
            throw .tokenExchangeFailed(detail: "the token response of \(self.settings.id) has no access_token")
        }
        let response = try await self.http.get(self.endpoints.userinfo, headers: [
            ("Authorization", "Bearer " + accessToken), ("Accept", "application/json"), ("User-Agent", "Tessera"),
        ])
        let endpoint = UpstreamHTTP.describe(self.endpoints.userinfo)
        guard response.status == 200 else {
            if response.status == 401 || response.status == 403 {
                throw .invalidUserinfo(detail: "\(endpoint) answered HTTP \(response.status)")
            }
            throw .providerUnavailable(detail: "\(endpoint) answered HTTP \(response.status)")
        }
        guard let object = response.jsonObject else {
            throw .providerUnavailable(detail: "\(endpoint) did not answer a JSON object")
        }
        return try Self.identity(from: object, mapping: self.claims, providerID: self.settings.id)
    }

    /// The identity a userinfo object states, read through `mapping`.
    static func identity(from object: [String: JSONValue], mapping: ClaimMapping, providerID: String) throws(FederationFailure) -> UpstreamIdentity {
        let subject: String
        switch object[mapping.subject] {
        case .string(let value)?: subject = value
        case .integer(let value)?: subject = String(value)
        case .number(let value)? where value.isFinite && value == value.rounded() && abs(value) < 9.007e15:
            subject = String(Int64(value))
        default: subject = ""
        }
        guard !subject.isEmpty, subject.utf8.count <= 255 else {
            throw .invalidUserinfo(detail: "the userinfo answer has no usable \(mapping.subject) member")
        }
        func member(_ name: String?) -> String? { name.flatMap { StandardClaims.string(object[$0]) } }
        let email = member(mapping.email)
        return UpstreamIdentity(
            providerID: providerID,
            subject: subject,
            email: email,
            emailVerified: email != nil && (mapping.emailVerified.flatMap { object[$0]?.boolValue } ?? false),
            name: member(mapping.name),
            preferredUsername: member(mapping.preferredUsername)
        )
    }
}

extension OAuth2ProviderClient: CustomStringConvertible, CustomReflectable {
    /// The provider id and token endpoint; never the client secret.
    public var description: String { "OAuth2ProviderClient(\(self.providerID), token: \(UpstreamHTTP.describe(self.endpoints.token)))" }
    /// A mirror without the settings, so debugging output cannot show the client secret.
    public var customMirror: Mirror { Mirror(self, children: ["providerID": self.providerID, "endpoints": self.endpoints]) }
}
