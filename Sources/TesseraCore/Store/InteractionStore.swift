public import Foundation

/// What a pending interaction is for. A growable set of kinds in one table: an authorization request waiting
/// for the user to sign in, and one waiting for consent; PAR's `request_uri` (RFC 9126 §2.2) and the device
/// grant's user code (RFC 8628 §3.2) are meant to become kinds of the same store.
public struct InteractionKind: RawRepresentable, Sendable, Hashable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A validated authorization request waiting for the user to sign in (``PendingAuthorization``): the login
    /// page, the MFA step and an upstream sign-in carry only its id, and `/authorize` resumes it.
    public static let authorization = InteractionKind(rawValue: "authorization")
    /// A validated authorization request waiting for the user's consent (``PendingAuthorization``).
    public static let consent = InteractionKind(rawValue: "consent")
}

/// A pending interaction at rest, keyed by the SHA-256 digest of its opaque id (the id itself is only ever
/// in the browser, like node-oidc-provider's `Interaction`).
public struct InteractionRecord: Sendable, Hashable {
    public var idDigest: Data
    public var kind: InteractionKind
    public var clientID: String
    /// The serialized request (JSON), opaque to the store; for ``InteractionKind/consent`` a ``PendingAuthorization``.
    public var payload: String
    /// The digest of the browser session it is bound to, if any (a PAR request_uri has none).
    public var sessionDigest: Data?
    /// The user it is bound to, if any.
    public var subject: String?
    public var createdAt: Date
    public var expiresAt: Date

    public init(idDigest: Data, kind: InteractionKind, clientID: String, payload: String, sessionDigest: Data?, subject: String?,
                createdAt: Date, expiresAt: Date) {
        self.idDigest = idDigest
        self.kind = kind
        self.clientID = clientID
        self.payload = payload
        self.sessionDigest = sessionDigest
        self.subject = subject
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Pending interactions: single-use, short-lived, digest at rest.
public protocol InteractionStore: Sendable {
    func insertInteraction(_ interaction: InteractionRecord) async throws
    /// The interaction with this digest and kind if it is still live at `at`, without consuming it (what a page
    /// shows about the pending request while the user is still on it).
    func interaction(digest: Data, kind: InteractionKind, at: Date) async throws -> InteractionRecord?
    /// Atomically deletes and returns the interaction with this digest and kind if it is still live at `at`
    /// (one `DELETE … RETURNING`): of concurrent consumes exactly one gets it, across nodes too. An expired
    /// one is left for the purge and `nil` is returned.
    func consumeInteraction(digest: Data, kind: InteractionKind, at: Date) async throws -> InteractionRecord?
    /// Deletes interactions that expired before `before`. Returns how many were removed.
    @discardableResult
    func purgeExpiredInteractions(before: Date) async throws -> Int
}
