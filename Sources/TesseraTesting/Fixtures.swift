public import Foundation
public import TesseraCore
public import TesseraStore

/// Ready-made records and a wired-up token endpoint for tests.
public enum Fixtures {
    public static let issuer = "https://auth.test"

    /// A confidential client with the given grants and its plain secret.
    public static func confidentialClient(id: String = "svc", grants: Set<GrantType> = [.clientCredentials, .password, .refreshToken],
                                          scopes: ScopeSet = ["read", "write", "admin"], createdAt: Date = Date(timeIntervalSince1970: 1_800_000_000))
        -> (client: Client, secret: String)
    {
        let secret = Secrets.random()
        let client = Client(id: id, name: "Test \(id)", secretDigest: Secrets.digest(secret), authMethod: .clientSecretBasic,
                            grantTypes: grants, allowedScopes: scopes, createdAt: createdAt)
        return (client, secret)
    }

    /// A public client (no secret).
    public static func publicClient(id: String = "spa", grants: Set<GrantType> = [.refreshToken, .password], scopes: ScopeSet = ["read"]) -> Client {
        Client(id: id, name: "Public \(id)", secretDigest: nil, authMethod: .none, grantTypes: grants, allowedScopes: scopes,
               createdAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    /// A user whose password hash is made with `hasher`.
    public static func user(_ username: String = "alice", password: String = "wonderland", scopes: ScopeSet = ["read", "write"],
                            hasher: any PasswordHasher) async throws -> User {
        User(id: UUID().uuidString, username: username, passwordHash: try await hasher.hash(password), allowedScopes: scopes,
             createdAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    /// A refresh token record (and its plain value).
    public static func refreshToken(clientID: String = "svc", subject: String = "user-1", scopes: ScopeSet = ["read"], now: Date,
                                    family: String = UUID().uuidString) -> (token: String, record: RefreshTokenRecord) {
        let token = Secrets.random()
        return (token, RefreshTokenRecord(id: UUID().uuidString, tokenDigest: Secrets.digest(token), familyID: family, clientID: clientID,
                                          subject: subject, scopes: scopes, audience: [issuer], issuedAt: now,
                                          expiresAt: now.addingTimeInterval(3600), familyExpiresAt: now.addingTimeInterval(86_400)))
    }
}

/// A complete core (store, keys, minter, token endpoint) over a given store, for tests without HTTP.
public struct CoreHarness: Sendable {
    public let clock: FixedClock
    public let storage: any TesseraStorage
    public let keys: SigningKeyManager
    public let services: GrantServices
    public let tokenEndpoint: TokenEndpoint
    public let hasher: BcryptPasswordHasher
    /// Seals signing keys and TOTP secrets in `storage` (a fresh random KEK unless given).
    public let keyEncryption: KeyEncryption?

    public init(storage: any TesseraStorage = MemoryStore(), settings: OAuthSettings = OAuthSettings(issuer: Fixtures.issuer),
                clock: FixedClock = FixedClock(), bcryptCost: UInt8 = 4, audit: any AuditSink = RecordingAuditSink(),
                keyEncryption: KeyEncryption? = .generate()) async throws {
        self.clock = clock
        self.storage = storage
        self.keyEncryption = keyEncryption
        self.keys = SigningKeyManager(store: storage, clock: clock, retention: settings.signingKeyRetention, encryption: keyEncryption)
        try await keys.ensureKeys()
        self.hasher = BcryptPasswordHasher(cost: bcryptCost)
        let minter = AccessTokenMinter(issuer: settings.issuer, lifetime: settings.accessTokenLifetime, algorithm: settings.accessTokenAlgorithm, keys: keys)
        self.services = GrantServices(settings: settings, clock: clock, accessTokens: minter, passwords: hasher, audit: audit,
                                      keyEncryption: keyEncryption)
        self.tokenEndpoint = TokenEndpoint(services: services, storage: storage)
    }
}
