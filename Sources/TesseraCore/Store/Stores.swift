public import Foundation

/// Storage errors the core understands. Anything else is a server error.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A unique value (username, client id) already exists.
        case conflict
        /// The backend cannot be reached right now (maps to 503 `temporarily_unavailable`).
        case unavailable
        /// The record to change does not exist.
        case notFound
    }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { "\(kind): \(message)" }
}

/// Registered clients.
public protocol ClientStore: Sendable {
    func client(id: String) async throws -> Client?
    func insertClient(_ client: Client) async throws
    func listClients() async throws -> [Client]
    /// Replaces a client's record (same id). Throws `StoreError.notFound` when it does not exist.
    func updateClient(_ client: Client) async throws
    /// Deletes a client and everything issued to it. Returns whether it existed.
    func deleteClient(id: String) async throws -> Bool
}

/// Resource owners. Usernames are stored and compared in their canonical form (``Username``, RFC 8265).
public protocol UserStore: Sendable {
    /// The user whose (canonical) username is `username`.
    func user(username: Username) async throws -> User?
    func user(id: String) async throws -> User?
    /// Inserts a user whose `username` is canonical. Throws `StoreError.conflict` when the name is taken.
    func insertUser(_ user: User) async throws
    func listUsers() async throws -> [User]
    func updatePasswordHash(userID: String, hash: String) async throws
    func setDisabled(userID: String, disabled: Bool) async throws
}

extension UserStore {
    /// The user a name as typed (login form, password grant, CLI) refers to: canonicalised first, so every
    /// spelling of one name finds its user; a string that is not a valid username (``Username/Problem``)
    /// names no user.
    public func user(username typed: String) async throws -> User? {
        guard let username = Username.canonical(typed) else { return nil }
        return try await user(username: username)
    }
}

/// Refresh tokens, keyed by digest.
public protocol RefreshTokenStore: Sendable {
    func insertRefreshToken(_ token: RefreshTokenRecord) async throws
    func refreshToken(digest: Data) async throws -> RefreshTokenRecord?
    /// Atomically marks the token with `digest` as rotated and stores `successor`.
    ///
    /// Returns `false` — and stores nothing — when the token was already rotated or revoked, so of
    /// concurrent rotations of one token exactly one succeeds, across processes too.
    func rotateRefreshToken(digest: Data, successor: RefreshTokenRecord, at: Date) async throws -> Bool
    /// A retry within the rotation grace period: atomically — one conditional statement — counts one more reuse of the
    /// already rotated token with `digest` and stores `successor`, but only while that token was rotated at or after
    /// `rotatedSince`, is not revoked, and has been reused fewer than `maximumReuses` times. Returns `false` — and
    /// stores nothing — otherwise, so of concurrent retries at most `maximumReuses` succeed, across processes too.
    func rotateRefreshTokenWithinGrace(digest: Data, successor: RefreshTokenRecord, rotatedSince: Date, maximumReuses: Int) async throws -> Bool
    /// Revokes every token of a family. Returns how many were newly revoked.
    @discardableResult
    func revokeRefreshTokenFamily(familyID: String, at: Date) async throws -> Int
    /// Revokes every token of every family `subject` holds, at every client, in one statement (account recovery,
    /// RFC 9700 §4.14.2). Returns how many families had a token newly revoked.
    @discardableResult
    func revokeRefreshTokens(subject: String, at: Date) async throws -> Int
    /// Deletes tokens whose family expired before `before`. Returns how many were removed.
    @discardableResult
    func purgeExpiredRefreshTokens(before: Date) async throws -> Int
}

/// Signing keys (private keys included), shared by every node.
public protocol SigningKeyStore: Sendable {
    func signingKeys() async throws -> [SigningKeyRecord]
    func insertSigningKey(_ key: SigningKeyRecord) async throws
    /// Inserts `key` only if no unretired key of its algorithm exists, as one atomic claim across nodes (a
    /// conditional insert backed by a unique index on unretired claims): of several nodes creating the first key
    /// at once, exactly one wins and all publish the same set. Returns whether `key` was inserted.
    func insertSigningKeyIfNoneActive(_ key: SigningKeyRecord) async throws -> Bool
    func retireSigningKey(kid: String, at: Date) async throws
    func deleteSigningKey(kid: String) async throws
    /// Replaces the stored private key of `kid` only if it still is `old` (re-sealing under a new KEK;
    /// one conditional statement, so a concurrent change wins). Returns whether it was replaced.
    func replaceSigningKeyMaterial(kid: String, from old: String, to new: String) async throws -> Bool
}
