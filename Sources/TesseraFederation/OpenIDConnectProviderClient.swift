public import AsyncHTTPClient
import Foundation
public import Logging
public import TesseraCore

/// The relying-party side of an upstream OpenID Connect provider (`IdentityProviderKind.openIDConnect`).
///
/// The provider is found by OIDC Discovery (`<issuer>/.well-known/openid-configuration`, whose `issuer` must be
/// the configured one exactly); its endpoints must be `https` (or `http` on a loopback host). A sign-in is the
/// authorization code flow with PKCE S256, `state` and `nonce`; the callback's `iss` is checked (RFC 9207), the
/// code is redeemed with `client_secret_basic` (or `client_secret_post` when that is all the provider takes), and
/// the ID token is validated in full against the provider's JWKS before any claim is read.
public struct OpenIDConnectProviderClient: UpstreamProviderClient {
    /// The provider's id (`IdentityProviderSettings.id`).
    public var providerID: String { self.settings.id }
    /// The settings, client secret included: kept private so no description of the client can show the secret.
    private let settings: IdentityProviderSettings
    /// The configured issuer identifier.
    public let issuer: String
    private let http: UpstreamHTTP
    private let cache: OpenIDProviderCache
    private let clock: any TimeSource
    private let logger: Logger

    /// Creates a client.
    /// - Parameters:
    ///   - settings: The provider; its `kind` must be `.openIDConnect(issuer:)` (any other kind fails every call
    ///     with ``FederationFailure/providerUnavailable(detail:)``).
    ///   - clock: The time ID tokens are validated at, and that the key cache's refresh policy follows.
    ///   - httpClient: The HTTP client; defaults to ``UpstreamProviderClients/httpClient``, which does not follow redirects.
    ///   - timeout: The time allowed for each upstream request, body included. Default 10 seconds.
    ///   - logger: Receives `oauth.federation.*` events; no-op by default.
    public init(settings: IdentityProviderSettings, clock: any TimeSource, httpClient: HTTPClient = UpstreamProviderClients.httpClient,
                timeout: Duration = .seconds(10), logger: Logger = Logger(label: "tessera.federation", factory: { _ in SwiftLogNoOpLogHandler() })) {
        self.settings = settings
        if case .openIDConnect(let issuer) = settings.kind {
            self.issuer = issuer
        } else {
            self.issuer = ""
        }
        self.http = UpstreamHTTP(client: httpClient, timeout: timeout)
        self.cache = OpenIDProviderCache(issuer: self.issuer, http: self.http, clock: clock)
        self.clock = clock
        self.logger = logger
    }

    /// The scopes asked of the provider: the configured ones, with `openid` first when missing.
    public var requestedScopes: [String] { self.settings.scopes.requestedScopes(adding: "openid") }

    /// The discovered `authorization_endpoint`.
    public func authorizationEndpoint() async throws(FederationFailure) -> String {
        try await self.cache.currentMetadata().authorizationEndpoint
    }

    /// The provider's `authorization_endpoint` with the code flow's parameters (OIDC Core §3.1.2.1, RFC 7636).
    public func authorizationURL(state: String, nonce: String, codeChallenge: String, redirectURI: String) async throws(FederationFailure) -> String {
        let metadata = try await self.cache.currentMetadata()
        return FormEncoding.appendingQuery([
            ("response_type", "code"),
            ("client_id", self.settings.clientID),
            ("redirect_uri", redirectURI),
            ("scope", self.requestedScopes.joined(separator: " ")),
            ("state", state),
            ("nonce", nonce),
            ("code_challenge", codeChallenge),
            ("code_challenge_method", "S256"),
        ], to: metadata.authorizationEndpoint)
    }

    /// Checks `iss` (RFC 9207), redeems the code, validates the ID token and returns the identity it states.
    public func redeem(code: String, issuerParameter: String?, codeVerifier: String, nonce: String, redirectURI: String) async throws(FederationFailure)
        -> UpstreamIdentity {
        // RFC 9207 §2.4: a present `iss` must be the issuer; a missing one is refused when the provider promised it.
        if let issuerParameter, issuerParameter != self.issuer { throw .issuerMismatch }
        let metadata = try await self.cache.currentMetadata()
        if issuerParameter == nil, metadata.issuerParameterSupported { throw .issuerMismatch }
        let exchange = TokenExchange(http: self.http, clientID: self.settings.clientID, clientSecret: self.settings.clientSecret)
        let tokens: UpstreamTokenResponse
        let claims: [String: JSONValue]
        do throws(FederationFailure) {
            tokens = try await exchange.redeem(tokenEndpoint: metadata.tokenEndpoint, code: code, codeVerifier: codeVerifier,
                                               redirectURI: redirectURI, authentication: metadata.clientAuthentication, acceptFormEncoded: false)
            guard let idToken = tokens.idToken else {
                throw .invalidIDToken(detail: "the token response has no id_token")
            }
            let validator = IDTokenValidator(issuer: self.issuer, clientID: self.settings.clientID, clock: self.clock)
            claims = try await validator.validate(idToken, nonce: nonce, accessToken: tokens.accessToken, metadata: metadata, keys: self.cache)
        } catch {
            if case .providerUnavailable = error { await self.cache.markMetadataStale() }
            throw error
        }

        guard let subject = claims["sub"]?.stringValue else { throw .invalidIDToken(detail: "the ID token has no valid sub") }
        var identity = UpstreamIdentity(
            providerID: self.settings.id,
            subject: subject,
            email: StandardClaims.string(claims["email"]),
            emailVerified: StandardClaims.emailVerified(claims["email_verified"]),
            name: StandardClaims.string(claims["name"]),
            preferredUsername: StandardClaims.string(claims["preferred_username"]),
            authenticationMethods: claims["amr"]?.stringArray ?? []
        )
        if identity.email == nil, let userinfo = metadata.userinfoEndpoint, let accessToken = tokens.accessToken,
            self.requestedScopes.contains("email") {
            await self.addUserinfo(to: &identity, endpoint: userinfo, accessToken: accessToken)
        }
        return identity
    }

    /// Fills in the email (and a missing name or username) from the userinfo endpoint (OIDC Core §5.3). Best effort:
    /// any failure, or a `sub` other than the ID token's (§5.3.2), leaves the identity as the ID token stated it.
    private func addUserinfo(to identity: inout UpstreamIdentity, endpoint: String, accessToken: String) async {
        let response: UpstreamResponse
        do {
            response = try await self.http.get(endpoint, headers: [("Authorization", "Bearer " + accessToken), ("Accept", "application/json")])
        } catch {
            self.logger.info("oauth.federation.userinfo_failed", metadata: ["oauth.federation.provider": .string(self.settings.id), "oauth.federation.detail": .string(String(describing: error))])
            return
        }
        guard response.status == 200, let claims = response.jsonObject, claims["sub"]?.stringValue == identity.subject else {
            self.logger.info("oauth.federation.userinfo_unusable", metadata: ["oauth.federation.provider": .string(self.settings.id), "oauth.federation.status": .stringConvertible(response.status)])
            return
        }
        if let email = StandardClaims.string(claims["email"]) {
            identity.email = email
            identity.emailVerified = StandardClaims.emailVerified(claims["email_verified"])
        }
        if identity.name == nil { identity.name = StandardClaims.string(claims["name"]) }
        if identity.preferredUsername == nil { identity.preferredUsername = StandardClaims.string(claims["preferred_username"]) }
    }
}

extension OpenIDConnectProviderClient: CustomStringConvertible, CustomReflectable {
    /// The provider id and issuer; never the client secret.
    public var description: String { "OpenIDConnectProviderClient(\(self.providerID), issuer: \(self.issuer))" }
    /// A mirror without the settings, so debugging output cannot show the client secret.
    public var customMirror: Mirror { Mirror(self, children: ["providerID": self.providerID, "issuer": self.issuer]) }
}
