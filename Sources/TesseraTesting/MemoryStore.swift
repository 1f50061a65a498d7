public import Foundation
public import TesseraCore
public import TesseraStore

/// An in-memory store for tests, with the same semantics as the SQL store (atomic rotation included).
public actor MemoryStore: TesseraStorage {
    // Stored state. Extensions in other files add behaviour; new artifacts add their dictionaries here.
    var clients: [String: Client] = [:]
    /// Used `private_key_jwt` assertions, by client id and jti digest, with their expiry.
    var clientAssertions: [String: Date] = [:]
    /// Reuses of rotated refresh tokens within the grace window, by token digest.
    var refreshGraceUses: [Data: Int] = [:]
    var users: [String: User] = [:]
    var refreshTokens: [Data: RefreshTokenRecord] = [:]
    var keys: [String: SigningKeyRecord] = [:]
    var revokedAccessTokens: [String: Date] = [:]
    var initialAccessTokens: [Data: Date] = [:]
    // Browser flows (MemoryStore+Browser.swift).
    var authorizationCodes: [Data: AuthorizationCodeRecord] = [:]
    var sessions: [Data: BrowserSession] = [:]
    var consentRecords: [String: ConsentRecord] = [:]
    var userProfiles: [String: UserProfile] = [:]
    // Security (MemoryStore+Security.swift).
    var loginAttemptStates: [String: LoginAttemptState] = [:]
    var auditLog: [AuditEvent] = []
    // MFA (MemoryStore+MFA.swift).
    var mfa = MemoryMFAState()
    // Federation (MemoryStore+Federation.swift).
    var federation = MemoryFederationState()
    // Interactions (MemoryStore+Interactions.swift).
    var interactions: [Data: InteractionRecord] = [:]

    public init() {}

    public func client(id: String) -> Client? { clients[id] }
    public func insertClient(_ client: Client) throws {
        guard clients[client.id] == nil else { throw StoreError(.conflict, "A client with this id already exists.") }
        clients[client.id] = client
    }
    public func listClients() -> [Client] { clients.values.sorted { $0.createdAt < $1.createdAt } }
    public func deleteClient(id: String) -> Bool {
        refreshTokens = refreshTokens.filter { $0.value.clientID != id }
        authorizationCodes = authorizationCodes.filter { $0.value.clientID != id }
        consentRecords = consentRecords.filter { $0.value.clientID != id }
        return clients.removeValue(forKey: id) != nil
    }

    public func user(username: Username) -> User? { users.values.first { $0.username == username.value } }
    public func user(id: String) -> User? { users[id] }
    public func insertUser(_ user: User) throws {
        guard !users.values.contains(where: { $0.username == user.username }) else {
            throw StoreError(.conflict, "A user with this username already exists.")
        }
        users[user.id] = user
    }
    public func listUsers() -> [User] { users.values.sorted { $0.username < $1.username } }
    public func updatePasswordHash(userID: String, hash: String) throws {
        guard users[userID] != nil else { throw StoreError(.notFound, "No such user.") }
        users[userID]?.passwordHash = hash
    }
    public func setDisabled(userID: String, disabled: Bool) throws {
        guard users[userID] != nil else { throw StoreError(.notFound, "No such user.") }
        users[userID]?.disabled = disabled
    }

    public func insertRefreshToken(_ token: RefreshTokenRecord) { refreshTokens[token.tokenDigest] = token }
    public func refreshToken(digest: Data) -> RefreshTokenRecord? { refreshTokens[digest] }
    public func rotateRefreshToken(digest: Data, successor: RefreshTokenRecord, at date: Date) -> Bool {
        guard let token = refreshTokens[digest], token.rotatedAt == nil, token.revokedAt == nil else { return false }
        refreshTokens[digest]?.rotatedAt = date
        refreshTokens[successor.tokenDigest] = successor
        return true
    }
    public func rotateRefreshTokenWithinGrace(digest: Data, successor: RefreshTokenRecord, rotatedSince: Date, maximumReuses: Int) -> Bool {
        guard let token = refreshTokens[digest], let rotatedAt = token.rotatedAt, rotatedAt >= rotatedSince, token.revokedAt == nil,
            refreshGraceUses[digest, default: 0] < maximumReuses
        else {
            return false
        }
        refreshGraceUses[digest, default: 0] += 1
        refreshTokens[successor.tokenDigest] = successor
        return true
    }
    public func revokeRefreshTokenFamily(familyID: String, at date: Date) -> Int {
        var count = 0
        for (digest, token) in refreshTokens where token.familyID == familyID && token.revokedAt == nil {
            refreshTokens[digest]?.revokedAt = date
            count += 1
        }
        return count
    }
    public func revokeRefreshTokens(subject: String, at date: Date) -> Int {
        var families = Set<String>()
        for (digest, token) in refreshTokens where token.subject == subject && token.revokedAt == nil {
            refreshTokens[digest]?.revokedAt = date
            families.insert(token.familyID)
        }
        return families.count
    }
    public func purgeExpiredRefreshTokens(before date: Date) -> Int {
        let before = refreshTokens.count
        refreshTokens = refreshTokens.filter { $0.value.familyExpiresAt >= date }
        return before - refreshTokens.count
    }

    public func signingKeys() -> [SigningKeyRecord] { keys.values.sorted { $0.createdAt < $1.createdAt } }
    public func insertSigningKey(_ key: SigningKeyRecord) { keys[key.kid] = key }
    public func insertSigningKeyIfNoneActive(_ key: SigningKeyRecord) -> Bool {
        guard !keys.values.contains(where: { $0.algorithm == key.algorithm && $0.retiredAt == nil }) else { return false }
        keys[key.kid] = key
        return true
    }
    public func retireSigningKey(kid: String, at date: Date) {
        if keys[kid]?.retiredAt == nil { keys[kid]?.retiredAt = date }
    }
    public func deleteSigningKey(kid: String) { keys[kid] = nil }
    public func replaceSigningKeyMaterial(kid: String, from old: String, to new: String) -> Bool {
        guard keys[kid]?.privateKeyPEM == old else { return false }
        keys[kid]?.privateKeyPEM = new
        return true
    }
}
