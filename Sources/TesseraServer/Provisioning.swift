import Foundation
public import TesseraCore

/// Creating users and clients: the logic behind `tessera user …`, `tessera client …` and the demo.
public struct Provisioning: Sendable {
    /// The stores it writes: users, their profiles and clients, and (ending a user's sign-ins) sessions, refresh tokens
    /// and audit events.
    public typealias Stores = UserStore & UserProfileStore & ClientStore & SessionStore & RefreshTokenStore & AuditEventStore
    public let storage: any Stores
    public let passwords: any PasswordHasher
    public let clock: any TimeSource

    public init(storage: any Stores, passwords: any PasswordHasher, clock: any TimeSource = SystemTimeSource()) {
        self.storage = storage
        self.passwords = passwords
        self.clock = clock
    }

    /// A provisioning mistake, reported as one line.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    // MARK: Users

    @discardableResult
    public func addUser(username: String, password: String, scopes: [String]) async throws -> User {
        let canonical: Username
        do { canonical = try Username(username) } catch { throw Invalid("invalid username '\(username)': \(error)") }
        guard password.count >= 8 else { throw Invalid("password must be at least 8 characters") }
        guard password.utf8.count <= 72 else { throw Invalid("password must be at most 72 bytes (bcrypt's limit)") }
        let scopeSet = try parseScopes(scopes)
        let user = User(id: UUID().uuidString.lowercased(), username: canonical.value, passwordHash: try await passwords.hash(password),
                        allowedScopes: scopeSet, createdAt: clock.now)
        do {
            try await storage.insertUser(user)
        } catch let error as StoreError where error.kind == .conflict {
            throw Invalid("user '\(canonical)' already exists")
        }
        return user
    }

    /// Ending a user's sign-ins (account recovery), over this store.
    public var userSessions: UserSessions {
        UserSessions(users: storage, sessions: storage, refreshTokens: storage, audit: storage, clock: clock)
    }

    /// Sets a user's password (an operator's reset): every browser session of the user ends and every refresh
    /// token is revoked (RFC 9700 §4.14.2), audited with `source`.
    @discardableResult
    public func setPassword(username: String, password: String, source: String = "cli") async throws -> UserSessions.Revocation {
        guard password.count >= 8 else { throw Invalid("password must be at least 8 characters") }
        guard password.utf8.count <= 72 else { throw Invalid("password must be at most 72 bytes (bcrypt's limit)") }
        let user = try await requireUser(username)
        return try await userSessions.changePassword(userID: user.id, passwordHash: try await passwords.hash(password), source: source)
    }

    /// Disables a user, revoking (not suspending) their sessions and refresh tokens; or enables one, who then
    /// signs in afresh. Returns what disabling ended (`nil` when enabling).
    @discardableResult
    public func setDisabled(username: String, disabled: Bool, source: String = "cli") async throws -> UserSessions.Revocation? {
        let user = try await requireUser(username)
        guard disabled else {
            try await userSessions.enable(userID: user.id, source: source)
            return nil
        }
        return try await userSessions.disable(userID: user.id, source: source)
    }

    /// Ends every browser session of a user and revokes all their refresh tokens ("sign out everywhere").
    @discardableResult
    public func signOutEverywhere(username: String, source: String = "cli") async throws -> UserSessions.Revocation {
        let user = try await requireUser(username)
        return try await userSessions.signOutEverywhere(userID: user.id, source: source)
    }

    public func requireUser(_ username: String) async throws -> User {
        guard let user = try await storage.user(username: username) else { throw Invalid("no user named '\(username)'") }
        return user
    }

    // MARK: Clients

    /// A newly created client and its secret, shown once.
    public struct NewClient: Sendable {
        public let client: Client
        public let secret: String?

        /// The RFC 7591 §3.2.1 client information (``ClientInformation``, the same rendering `/register` answers with).
        public var information: ClientInformation { ClientInformation(provisioned: client, secret: secret) }
    }

    public func addClient(name: String, grants: [String], scopes: [String], redirectURIs: [String] = [], isPublic: Bool = false,
                          requireConsent: Bool = true, id: String? = nil, resources: [String] = [],
                          idTokenAlgorithm: SigningAlgorithm = .rs256, allowPasswordGrantWithMFA: Bool = false,
                          jwks: String? = nil, jwksURI: String? = nil, refreshGracePeriod: Int? = nil) async throws -> NewClient {
        do { try DisplayName.validate(name) } catch { throw Invalid("client name \(error)") }
        var grantTypes = Set<GrantType>()
        for grant in grants {
            let type = GrantType(rawValue: grant)
            guard GrantType.known.contains(type) else {
                throw Invalid("unknown grant type '\(grant)' (known: \(GrantType.known.map(\.rawValue).joined(separator: ", ")))")
            }
            grantTypes.insert(type)
        }
        guard !grantTypes.isEmpty else { throw Invalid("give at least one --grant") }
        if isPublic, grantTypes.contains(.clientCredentials) {
            throw Invalid("a public client cannot use client_credentials (RFC 6749 §4.4)")
        }
        for uri in redirectURIs { try Self.validateRedirectURI(uri) }
        if (grantTypes.contains(.authorizationCode) || grantTypes.contains(.implicit)) && redirectURIs.isEmpty {
            throw Invalid("authorization_code and implicit clients need at least one --redirect-uri")
        }
        for resource in resources where !ResourceIndicators.isValid(resource) {
            throw Invalid("resource '\(resource)' must be an absolute URI without a fragment (RFC 8707)")
        }
        // private_key_jwt (RFC 7523 §2.2) when keys are given: the same rules as `/register`.
        let usesKeys = jwks != nil || jwksURI != nil
        if usesKeys, isPublic { throw Invalid("a public client has no keys: --public excludes --jwks-file and --jwks-uri") }
        let authMethod: ClientAuthMethod = isPublic ? .none : usesKeys ? .privateKeyJWT : .clientSecretBasic
        let keys: (jwks: String?, jwksURI: String?)
        do {
            let parsed: Any? = try jwks.map { text in
                guard let value = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { throw Invalid("the key set is not JSON") }
                return value
            }
            keys = try ClientMetadata.validatedKeys(jwks: parsed, jwksURI: jwksURI, authMethod: authMethod)
            if let text = keys.jwks {
                guard let set = try? await VerificationKeySet(jwks: Data(text.utf8)), !set.keys.isEmpty else {
                    throw Invalid("the key set holds no public signing key this server supports (RSA, or EC P-256/P-384/P-521)")
                }
            }
        } catch let error as OAuthError {
            throw Invalid(error.errorDescription)
        }
        let secret = authMethod.usesSecret ? Secrets.random(bytes: 32) : nil
        var client = Client(id: id ?? Secrets.identifier(bytes: 16), name: name, secretDigest: secret.map(Secrets.digest),
                            authMethod: authMethod, grantTypes: grantTypes, allowedScopes: try parseScopes(scopes),
                            redirectURIs: redirectURIs, requireConsent: requireConsent, createdAt: clock.now, resources: resources)
        if let refreshGracePeriod, !(0...300).contains(refreshGracePeriod) {
            throw Invalid("the refresh grace period must be between 0 and 300 seconds")
        }
        client.refreshGracePeriod = refreshGracePeriod
        client.jwks = keys.jwks
        client.jwksURI = keys.jwksURI
        client.idTokenAlgorithm = idTokenAlgorithm
        client.allowPasswordGrantWithMFA = allowPasswordGrantWithMFA
        do {
            try await storage.insertClient(client)
        } catch let error as StoreError where error.kind == .conflict {
            throw Invalid("client '\(client.id)' already exists")
        }
        return NewClient(client: client, secret: secret)
    }

    /// The operator's rule of ``RedirectURIRules`` (the one `/register` uses too, plus http off loopback and
    /// private-use schemes), as a one-line error.
    static func validateRedirectURI(_ uri: String) throws {
        do {
            try RedirectURIRules.check(uri, registrant: .operator)
        } catch {
            let reason = switch error {
            case .malformed: "is not an absolute URI"
            case .fragment: "must not have a fragment"
            case .wildcard: "must not contain wildcards"
            case .userInformation: "must not contain user information"
            case .scheme, .privateUseScheme: "has a scheme a browser would run or read locally"
            case .loopback: "is on a loopback host"  // only for web applications, never for the operator's rule
            }
            throw Invalid("redirect URI '\(uri)' \(reason)")
        }
    }

    private func parseScopes(_ scopes: [String]) throws -> ScopeSet {
        var result = ScopeSet([])
        for value in scopes {
            do { result = result.union(try ScopeSet(parsing: value)) } catch { throw Invalid("invalid scope '\(value)'") }
        }
        return result
    }

    // MARK: Demo

    /// The demo's credentials, printed by `tessera serve --demo`.
    public struct DemoCredentials: Sendable {
        public let username: String
        public let password: String
        public let clientID: String
        public let clientSecret: String
    }

    /// Provisions (or re-provisions with fresh secrets) a demo user and a demo confidential client, and
    /// with an `issuer`, the public client `tessera-docs` that Swagger UI at `/docs` authorizes as.
    public func provisionDemo(issuer: String? = nil) async throws -> DemoCredentials {
        let username = "demo"
        let password = Secrets.random(bytes: 12)
        if try await storage.user(username: username) != nil {
            try await setPassword(username: username, password: password, source: "demo")
        } else {
            try await addUser(username: username, password: password, scopes: ["openid", "profile", "email", "read", "write"])
        }
        if let issuer {
            _ = try await storage.deleteClient(id: DocsRoutes.clientID)
            _ = try await addClient(name: "API documentation (Swagger UI)", grants: ["authorization_code"],
                                    scopes: ["openid", "profile", "email", "read", "write"],
                                    redirectURIs: [DocsRoutes.redirectURI(issuer: issuer)], isPublic: true, id: DocsRoutes.clientID)
        }
        let clientID = "demo-client"
        _ = try await storage.deleteClient(id: clientID)
        let client = try await addClient(name: "Demo client", grants: ["client_credentials", "password", "refresh_token"],
                                         scopes: ["read", "write"], id: clientID)
        return DemoCredentials(username: username, password: password, clientID: clientID, clientSecret: client.secret ?? "")
    }
}
