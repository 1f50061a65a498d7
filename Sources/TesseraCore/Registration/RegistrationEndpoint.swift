public import Foundation

/// The client information response (RFC 7591 §3.2.1, RFC 7592 §3): the one rendering of a client as RFC 7591
/// metadata, for `/register` and for `tessera client add --json`.
public struct ClientInformation: Sendable, Codable, Equatable {
    public var clientID: String
    public var clientSecret: String?
    public var clientIDIssuedAt: Int
    public var clientSecretExpiresAt: Int?
    public var registrationAccessToken: String?
    /// Where the client manages its registration (RFC 7592 §3); `nil` for a client the operator created.
    public var registrationClientURI: String?
    public var redirectURIs: [String]
    public var tokenEndpointAuthMethod: String
    public var grantTypes: [String]
    public var responseTypes: [String]
    public var clientName: String
    public var scope: String
    public var resources: [String]?
    public var idTokenSignedResponseAlg: String
    public var jwks: JSONText?
    public var jwksURI: String?
    public var applicationType: String?

    enum CodingKeys: String, CodingKey {
        case clientID = "client_id"
        case clientSecret = "client_secret"
        case clientIDIssuedAt = "client_id_issued_at"
        case clientSecretExpiresAt = "client_secret_expires_at"
        case registrationAccessToken = "registration_access_token"
        case registrationClientURI = "registration_client_uri"
        case redirectURIs = "redirect_uris"
        case tokenEndpointAuthMethod = "token_endpoint_auth_method"
        case grantTypes = "grant_types"
        case responseTypes = "response_types"
        case clientName = "client_name"
        case scope, resources
        case idTokenSignedResponseAlg = "id_token_signed_response_alg"
        case jwks
        case jwksURI = "jwks_uri"
        case applicationType = "application_type"
    }

    init(client: Client, issuer: String, secret: String?, registrationAccessToken: String?) {
        self.init(client: client, secret: secret, registrationAccessToken: registrationAccessToken,
                  registrationClientURI: issuer + "/register/" + client.id)
    }

    /// A client the operator created (`tessera client add`): no registration access token, so no
    /// `registration_client_uri`; the secret as given (shown once).
    public init(provisioned client: Client, secret: String?) {
        self.init(client: client, secret: secret, registrationAccessToken: nil, registrationClientURI: nil)
    }

    init(client: Client, secret: String?, registrationAccessToken: String?, registrationClientURI: String?) {
        clientID = client.id
        clientSecret = secret
        clientIDIssuedAt = Int(client.createdAt.timeIntervalSince1970)
        // 0 = the secret never expires (RFC 7591 §3.2.1); required whenever a secret exists.
        clientSecretExpiresAt = client.secretDigest == nil ? nil : client.secretExpiresAt.map { Int($0.timeIntervalSince1970) } ?? 0
        self.registrationAccessToken = registrationAccessToken
        self.registrationClientURI = registrationClientURI
        redirectURIs = client.redirectURIs
        tokenEndpointAuthMethod = client.authMethod.rawValue
        grantTypes = client.grantTypes.map(\.rawValue).sorted()
        var responses: [String] = []
        if client.grantTypes.contains(.authorizationCode) { responses.append("code") }
        if client.grantTypes.contains(.implicit) { responses.append("token") }
        responseTypes = responses
        clientName = client.name
        scope = client.allowedScopes.description
        resources = client.resources.isEmpty ? nil : client.resources
        idTokenSignedResponseAlg = client.idTokenAlgorithm.rawValue
        jwks = client.jwks.map(JSONText.init)
        jwksURI = client.jwksURI
        applicationType = client.applicationType.rawValue
    }
}

/// A JSON value kept as its text and written as JSON (not as a string) when encoded: a client's `jwks`.
public struct JSONText: Sendable, Codable, Equatable {
    public var text: String
    public init(_ text: String) { self.text = text }

    public init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer().decode(JSONValue.self)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
    }
}

/// Issues and checks initial access tokens (RFC 7591 §3), which protect `/register`.
public struct InitialAccessTokens: Sendable {
    public let store: any InitialAccessTokenStore
    public let clock: any TimeSource

    public init(store: any InitialAccessTokenStore, clock: any TimeSource) {
        self.store = store
        self.clock = clock
    }

    /// Creates a token valid for `lifetime` seconds; only its digest is stored.
    public func issue(lifetime: TimeInterval) async throws -> (token: String, expiresAt: Date) {
        let token = Secrets.random(bytes: 32)
        let now = clock.now
        let expiresAt = now.addingTimeInterval(lifetime)
        try await store.insertInitialAccessToken(digest: Secrets.digest(token), expiresAt: expiresAt, createdAt: now)
        return (token, expiresAt)
    }

    /// Whether `token` is a live initial access token.
    public func isValid(_ token: String) async throws -> Bool {
        guard let expiry = try await store.initialAccessTokenExpiry(digest: Secrets.digest(token)) else { return false }
        return expiry > clock.now
    }
}

/// Dynamic client registration (RFC 7591) and management (RFC 7592).
///
/// - `register` needs a live initial access token, unless open registration is on (for MCP-style clients
///   that register themselves). An anonymous registrant (RFC 7591 §3, §5: no initial access token) gets only
///   user-bound grants (`ClientMetadata.userBoundGrantTypes`: no `client_credentials`), no implicit grant, no
///   resources, and scopes from `Settings.openRegistrationScopes` only; the client is marked
///   ``Client/registeredAnonymously`` (it may then introspect only its own tokens, RFC 7662 §4), and its
///   updates obey the same limits.
/// - The password grant is never registrable (see `ClientMetadata.registrableGrantTypes`).
/// - The registration access token is stored as a digest and rotated on every update (RFC 7592 §2.2).
/// - An update that changes the redirect URIs or the client name forgets every user's remembered consent to
///   the client: users consented to a name and a destination, and must see the new ones before a silent
///   (`prompt=none`) authorization succeeds again.
public struct RegistrationEndpoint: Sendable {
    public struct Settings: Sendable {
        public var issuer: String
        public var openRegistration: Bool
        /// Scopes a registered client may ask for.
        public var allowedScopes: ScopeSet
        /// Scopes a registered client gets when it names none.
        public var defaultScopes: ScopeSet
        /// The only scopes an anonymously registered client may have (and gets when it names none); minimal by
        /// default: the OpenID Connect identity scopes, no API scopes.
        public var openRegistrationScopes: ScopeSet

        public init(issuer: String, openRegistration: Bool, allowedScopes: ScopeSet, defaultScopes: ScopeSet,
                    openRegistrationScopes: ScopeSet = ["openid", "profile", "email"]) {
            self.issuer = issuer
            self.openRegistration = openRegistration
            self.allowedScopes = allowedScopes
            self.defaultScopes = defaultScopes
            self.openRegistrationScopes = openRegistrationScopes
        }
    }

    public let settings: Settings
    public let clients: any ClientStore
    /// Forgets every user's consent to a client whose redirect URIs or name changed.
    public let consents: any ConsentStore
    public let clock: any TimeSource
    public let audit: any AuditSink
    public let initialTokens: InitialAccessTokens

    public init(settings: Settings, clients: any ClientStore, consents: any ConsentStore, initialAccessTokens: any InitialAccessTokenStore,
                clock: any TimeSource, audit: any AuditSink) {
        self.settings = settings
        self.clients = clients
        self.consents = consents
        self.clock = clock
        self.audit = audit
        self.initialTokens = InitialAccessTokens(store: initialAccessTokens, clock: clock)
    }

    static var invalidToken: OAuthError { OAuthError(.invalidToken, "The access token is missing, invalid or expired.") }

    /// `POST /register` (RFC 7591 §3.1). Returns the 201 body.
    public func register(json: Data, initialAccessToken: String?) async throws -> ClientInformation {
        let authorized: Bool
        if let initialAccessToken {
            guard try await initialTokens.isValid(initialAccessToken) else { throw Self.invalidToken }
            authorized = true
        } else {
            guard settings.openRegistration else { throw Self.invalidToken }
            authorized = false
        }
        let policy = policy(anonymous: !authorized)
        let metadata = try ClientMetadata(json: json, policy: policy)
        let now = clock.now
        try await Self.requireUsableKeys(metadata)
        let secret = metadata.tokenEndpointAuthMethod.usesSecret ? Secrets.random(bytes: 32) : nil
        let registrationToken = Secrets.random(bytes: 32)
        var client = Client(id: Secrets.identifier(bytes: 16), name: metadata.clientName ?? "Registered client",
                            secretDigest: secret.map(Secrets.digest), authMethod: metadata.tokenEndpointAuthMethod,
                            grantTypes: metadata.grantTypes, allowedScopes: metadata.scope ?? policy.defaultScopes,
                            redirectURIs: metadata.redirectURIs, requireConsent: true, createdAt: now, resources: metadata.resources,
                            registrationTokenDigest: Secrets.digest(registrationToken))
        client.idTokenAlgorithm = metadata.idTokenAlgorithm
        client.registeredAnonymously = !authorized
        client.jwks = metadata.jwks
        client.jwksURI = metadata.jwksURI
        client.applicationType = metadata.applicationType
        try await clients.insertClient(client)
        audit.record(AuditEvent(.clientRegistered, at: now, clientID: client.id,
                                detail: ["open": String(!authorized), "grant_types": client.grantTypes.map(\.rawValue).sorted().joined(separator: " ")]))
        return ClientInformation(client: client, issuer: settings.issuer, secret: secret, registrationAccessToken: registrationToken)
    }

    /// `GET /register/{client_id}` (RFC 7592 §2.1).
    public func read(clientID: String, registrationAccessToken: String?) async throws -> ClientInformation {
        let client = try await authorizedClient(clientID, registrationAccessToken)
        return ClientInformation(client: client, issuer: settings.issuer, secret: nil, registrationAccessToken: nil)
    }

    /// `PUT /register/{client_id}` (RFC 7592 §2.2): replaces the metadata; the secret and id stay, the
    /// registration access token is rotated. The body must repeat `client_id`; a `client_secret`, if sent,
    /// must be the current one.
    public func update(clientID: String, registrationAccessToken: String?, json: Data) async throws -> ClientInformation {
        var client = try await authorizedClient(clientID, registrationAccessToken)
        let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any]
        guard let object, object["client_id"] as? String == client.id else {
            throw OAuthError(.invalidRequest, "The body must include this client's client_id.")
        }
        if let secret = object["client_secret"] {
            guard let secret = secret as? String, let stored = client.secretDigest, Secrets.constantTimeEquals(Secrets.digest(secret), stored) else {
                throw OAuthError(.invalidClientMetadata, "client_secret does not match; it cannot be changed by an update.")
            }
        }
        // Resources may not grow (checked below); implicit only if the client already had it or registration is closed;
        // an anonymously registered client stays within the open-registration limits.
        var policy = policy(anonymous: client.registeredAnonymously)
        policy.allowResources = true
        policy.allowImplicit = client.grantTypes.contains(.implicit) || (!settings.openRegistration && !client.registeredAnonymously)
        let metadata = try ClientMetadata(json: json, policy: policy)
        guard (metadata.tokenEndpointAuthMethod == .none) == client.isPublic else {
            throw OAuthError(.invalidClientMetadata, "A client cannot switch between public and confidential.")
        }
        guard metadata.tokenEndpointAuthMethod.usesSecret == client.authMethod.usesSecret else {
            throw OAuthError(.invalidClientMetadata, "A client cannot switch between a client secret and private_key_jwt.")
        }
        try await Self.requireUsableKeys(metadata)
        // The registration access token alone never widens what the client can reach.
        guard Set(metadata.resources).isSubset(of: Set(client.resources)) else {
            throw OAuthError(.invalidClientMetadata, "An update cannot add resources; register anew with an initial access token.")
        }
        let registrationToken = Secrets.random(bytes: 32)
        let previous = client
        client.name = metadata.clientName ?? client.name
        client.authMethod = metadata.tokenEndpointAuthMethod
        client.grantTypes = metadata.grantTypes
        client.redirectURIs = metadata.redirectURIs
        client.allowedScopes = metadata.scope ?? client.allowedScopes
        client.resources = metadata.resources
        client.idTokenAlgorithm = metadata.idTokenAlgorithm
        client.jwks = metadata.jwks
        client.jwksURI = metadata.jwksURI
        client.applicationType = metadata.applicationType
        client.registrationTokenDigest = Secrets.digest(registrationToken)
        try await clients.updateClient(client)
        // After the update, so no consent given to the old name or destinations outlives it.
        var detail: [String: String] = [:]
        if Set(client.redirectURIs) != Set(previous.redirectURIs) || client.name != previous.name {
            detail["consents_cleared"] = String(try await consents.deleteConsents(clientID: client.id))
        }
        audit.record(AuditEvent(.clientUpdated, at: clock.now, clientID: client.id, detail: detail))
        return ClientInformation(client: client, issuer: settings.issuer, secret: nil, registrationAccessToken: registrationToken)
    }

    /// A registered `jwks` must hold at least one key this server can verify with (RFC 7523 §2.2); a `jwks_uri` is
    /// fetched when the client first authenticates (it may not be published yet).
    static func requireUsableKeys(_ metadata: ClientMetadata) async throws(OAuthError) {
        guard let jwks = metadata.jwks else { return }
        guard let set = try? await VerificationKeySet(jwks: Data(jwks.utf8)), !set.keys.isEmpty else {
            throw OAuthError(.invalidClientMetadata, "'jwks' holds no public signing key this server supports (RSA, or EC P-256/P-384/P-521).")
        }
    }

    /// `DELETE /register/{client_id}` (RFC 7592 §2.3): removes the client and everything issued to it.
    public func delete(clientID: String, registrationAccessToken: String?) async throws {
        let client = try await authorizedClient(clientID, registrationAccessToken)
        _ = try await clients.deleteClient(id: client.id)
        audit.record(AuditEvent(.clientDeleted, at: clock.now, clientID: client.id))
    }

    /// The client whose registration access token is `token`; `invalid_token` (401) for everything else,
    /// unknown client ids included, so ids cannot be probed (RFC 7592 §2).
    private func authorizedClient(_ clientID: String, _ token: String?) async throws -> Client {
        guard let token else { throw Self.invalidToken }
        let presented = Secrets.digest(token)
        guard let client = try await clients.client(id: clientID), let stored = client.registrationTokenDigest,
              Secrets.constantTimeEquals(presented, stored) else { throw Self.invalidToken }
        return client
    }

    /// What a registrant may ask for: an anonymous one (open registration) gets only user-bound grants and the
    /// open-registration scopes (RFC 7591 §5: the server limits what it gives unauthenticated registrants).
    private func policy(anonymous: Bool) -> ClientMetadata.Policy {
        if anonymous {
            return ClientMetadata.Policy(allowedScopes: settings.openRegistrationScopes, defaultScopes: settings.openRegistrationScopes,
                                         allowResources: false, allowImplicit: false, allowUserlessGrants: false,
                                         allowProductName: false)
        }
        return ClientMetadata.Policy(allowedScopes: settings.allowedScopes, defaultScopes: settings.defaultScopes.intersection(settings.allowedScopes),
                                     allowResources: true, allowImplicit: true)
    }
}
