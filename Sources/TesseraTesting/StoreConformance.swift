import Foundation
public import TesseraCore
public import TesseraStore
public import Testing

/// The store conformance suite: one set of checks that every store implementation must pass
/// (after fluent-kit's FluentBenchmark). Each check gets a fresh, empty, migrated store.
public enum StoreConformance {
    /// One named check.
    public struct Check: Sendable, CustomTestStringConvertible {
        public let name: String
        public let run: @Sendable (any TesseraStorage) async throws -> Void
        public var testDescription: String { name }
    }

    /// The checks by name, so a test can run each as its own case.
    public static let checks: [Check] = [
        Check(name: "users round-trip", run: usersRoundTrip),
        Check(name: "duplicate username conflicts", run: duplicateUsernameConflicts),
        Check(name: "clients round-trip and delete", run: clientsRoundTrip),
        Check(name: "refresh token rotation is single-use", run: refreshRotationIsSingleUse),
        Check(name: "concurrent rotation has one winner", run: concurrentRotationHasOneWinner),
        Check(name: "grace reuses are bounded by window, budget and revocation", run: graceReusesAreBounded),
        Check(name: "family revocation", run: familyRevocation),
        Check(name: "purge expired families", run: purgeExpiredFamilies),
        Check(name: "signing keys lifecycle", run: signingKeysLifecycle),
        Check(name: "secrets at rest are replaced by compare-and-set", run: secretsAtRestCompareAndSet),
        // The first signing key of an algorithm (StoreConformance+SigningKeys.swift)
        Check(name: "a signing key claim is atomic", run: signingKeyClaimIsAtomic),
        Check(name: "concurrent ensureKeys create one key per algorithm", run: concurrentEnsureKeysCreateOneKeyPerAlgorithm),
        // Browser flows (StoreConformance+Browser.swift)
        Check(name: "authorization codes redeem once", run: authorizationCodesRedeemOnce),
        Check(name: "concurrent code redemption has one winner", run: concurrentCodeRedemptionHasOneWinner),
        Check(name: "sessions round-trip", run: sessionsRoundTrip),
        Check(name: "consents and per-grant revocation", run: consentsAndGrantRevocation),
        Check(name: "consents deleted per client", run: consentsDeletedPerClient),
        Check(name: "anonymous registration mark", run: anonymousRegistrationMark),
        Check(name: "user profiles", run: userProfiles),
        Check(name: "client update", run: clientUpdate),
        Check(name: "access token revocation list", run: accessTokenRevocationList),
        Check(name: "initial access tokens", run: initialAccessTokens),
        Check(name: "client keys round-trip", run: clientKeysRoundTrip),
        Check(name: "client assertion jtis are single-use", run: clientAssertionsAreSingleUse),
        Check(name: "concurrent client assertion uses have one winner", run: concurrentClientAssertionUsesHaveOneWinner),
        // Security (StoreConformance+Security.swift)
        Check(name: "login failures count and lock", run: loginFailuresCountAndLock),
        Check(name: "a lock's end keeps the failure count", run: loginLockEndKeepsTheCount),
        Check(name: "concurrent login reservations stop at the threshold", run: concurrentReservationsStopAtTheThreshold),
        Check(name: "audit events", run: auditEvents),
        Check(name: "a large audit batch is stored whole, details intact", run: largeAuditBatch),
        // MFA (StoreConformance+MFA.swift)
        Check(name: "MFA enrolment lifecycle", run: mfaEnrollmentLifecycle),
        Check(name: "concurrent MFA uses have one winner", run: concurrentMFAUsesHaveOneWinner),
        Check(name: "MFA challenges", run: mfaChallenges),
        Check(name: "client MFA password grant flag", run: clientMFAPasswordGrantFlag),
        // Federation (StoreConformance+Federation.swift)
        Check(name: "federation states are single-use", run: federationStatesAreSingleUse),
        Check(name: "concurrent federation state takes have one winner", run: concurrentFederationStateTakesHaveOneWinner),
        Check(name: "federated identity links", run: federatedIdentityLinks),
        // Interactions (StoreConformance+Interactions.swift)
        Check(name: "interactions are single-use", run: interactionsAreSingleUse),
        Check(name: "concurrent interaction consumes have one winner", run: concurrentInteractionConsumesHaveOneWinner),
        Check(name: "user ids by profile email", run: userIDsByProfileEmail),
        Check(name: "sessions and codes carry amr and idp", run: sessionsAndCodesCarryAMRAndIdP),
        // Account recovery and idle timeout (StoreConformance+Accounts.swift)
        Check(name: "a user's sessions end except one", run: userSessionsDeletedExceptOne),
        Check(name: "a session's idle deadline only moves forward", run: sessionExtensionOnlyMovesForward),
        Check(name: "a user's refresh tokens are revoked across families and clients", run: userRefreshTokensRevokedAcrossFamilies),
    ]

    static let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    public static func usersRoundTrip(_ store: any TesseraStorage) async throws {
        let user = User(id: "u-1", username: "alice", passwordHash: "$2b$04$hash", allowedScopes: ["read", "write"], createdAt: epoch)
        try await store.insertUser(user)
        #expect(try await store.user(username: "alice") == user)
        #expect(try await store.user(id: "u-1") == user)
        #expect(try await store.user(username: "bob") == nil)
        try await store.updatePasswordHash(userID: "u-1", hash: "$2b$12$other")
        try await store.setDisabled(userID: "u-1", disabled: true)
        let changed = try #require(try await store.user(id: "u-1"))
        #expect(changed.passwordHash == "$2b$12$other")
        #expect(changed.disabled)
        #expect(try await store.listUsers().map(\.username) == ["alice"])
        await #expect(throws: StoreError.self) { try await store.setDisabled(userID: "missing", disabled: true) }
    }

    public static func duplicateUsernameConflicts(_ store: any TesseraStorage) async throws {
        try await store.insertUser(User(id: "u-1", username: "alice", passwordHash: "x", allowedScopes: [], createdAt: epoch))
        do {
            try await store.insertUser(User(id: "u-2", username: "alice", passwordHash: "y", allowedScopes: [], createdAt: epoch))
            Issue.record("a second user named alice was accepted")
        } catch let error as StoreError {
            #expect(error.kind == .conflict)
        }
    }

    public static func clientsRoundTrip(_ store: any TesseraStorage) async throws {
        var client = Client(id: "c-1", name: "Billing", secretDigest: Secrets.digest("s3cret"), authMethod: .clientSecretPost,
                            grantTypes: [.clientCredentials, .refreshToken], allowedScopes: ["read", "billing:write"],
                            redirectURIs: ["https://app.example/cb", "http://127.0.0.1/cb"], requireConsent: false, createdAt: epoch,
                            secretExpiresAt: epoch.addingTimeInterval(86_400))
        client.idTokenAlgorithm = .es256
        let publicClient = Client(id: "c-2", name: "SPA", secretDigest: nil, authMethod: .none, grantTypes: [.authorizationCode],
                                  allowedScopes: ["read"], redirectURIs: ["https://spa.example/"], createdAt: epoch.addingTimeInterval(1))
        try await store.insertClient(client)
        try await store.insertClient(publicClient)
        #expect(try await store.client(id: "c-1") == client)
        #expect(try await store.client(id: "c-2") == publicClient)
        #expect(try await store.listClients().map(\.id) == ["c-1", "c-2"])
        await #expect(throws: StoreError.self) { try await store.insertClient(client) }
        let token = Fixtures.refreshToken(clientID: "c-1", now: epoch)
        try await store.insertRefreshToken(token.record)
        var code = Self.code()
        code.clientID = "c-1"
        try await store.insertAuthorizationCode(code)
        try await store.saveConsent(ConsentRecord(subject: "user-1", clientID: "c-1", scopes: ["read"], grantedAt: epoch, updatedAt: epoch))
        #expect(try await store.deleteClient(id: "c-1"))
        #expect(try await store.client(id: "c-1") == nil)
        #expect(try await store.refreshToken(digest: token.record.tokenDigest) == nil, "deleting a client removes its refresh tokens")
        #expect(try await store.authorizationCode(digest: code.codeDigest) == nil, "… its authorization codes")
        #expect(try await store.consent(subject: "user-1", clientID: "c-1") == nil, "… and the consents given to it")
        #expect(try await store.deleteClient(id: "c-1") == false)
    }

    public static func refreshRotationIsSingleUse(_ store: any TesseraStorage) async throws {
        let first = Fixtures.refreshToken(now: epoch, family: "fam")
        try await store.insertRefreshToken(first.record)
        #expect(try await store.refreshToken(digest: first.record.tokenDigest) == first.record)
        let second = Fixtures.refreshToken(now: epoch, family: "fam")
        let third = Fixtures.refreshToken(now: epoch, family: "fam")
        #expect(try await store.rotateRefreshToken(digest: first.record.tokenDigest, successor: second.record, at: epoch.addingTimeInterval(5)))
        #expect(try await store.rotateRefreshToken(digest: first.record.tokenDigest, successor: third.record, at: epoch.addingTimeInterval(6)) == false)
        #expect(try await store.refreshToken(digest: third.record.tokenDigest) == nil, "a lost rotation stores nothing")
        let spent = try #require(try await store.refreshToken(digest: first.record.tokenDigest))
        #expect(spent.rotatedAt == epoch.addingTimeInterval(5))
        #expect(try await store.refreshToken(digest: second.record.tokenDigest) == second.record)
    }

    public static func concurrentRotationHasOneWinner(_ store: any TesseraStorage) async throws {
        let original = Fixtures.refreshToken(now: epoch, family: "race")
        try await store.insertRefreshToken(original.record)
        let successors = (0..<20).map { _ in Fixtures.refreshToken(now: epoch, family: "race").record }
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for successor in successors {
                group.addTask { try await store.rotateRefreshToken(digest: original.record.tokenDigest, successor: successor, at: epoch) }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
        var stored = 0
        for successor in successors where try await store.refreshToken(digest: successor.tokenDigest) != nil { stored += 1 }
        #expect(stored == 1)
    }

    public static func graceReusesAreBounded(_ store: any TesseraStorage) async throws {
        let original = Fixtures.refreshToken(now: epoch, family: "grace")
        try await store.insertRefreshToken(original.record)
        let digest = original.record.tokenDigest
        let early = Fixtures.refreshToken(now: epoch, family: "grace").record
        #expect(try await store.rotateRefreshTokenWithinGrace(digest: digest, successor: early, rotatedSince: epoch.addingTimeInterval(-30),
                                                              maximumReuses: 1) == false, "a token not yet rotated has no grace use")
        #expect(try await store.refreshToken(digest: early.tokenDigest) == nil, "and nothing was stored")
        #expect(try await store.rotateRefreshToken(digest: digest, successor: Fixtures.refreshToken(now: epoch, family: "grace").record, at: epoch))
        let late = Fixtures.refreshToken(now: epoch, family: "grace").record
        #expect(try await store.rotateRefreshTokenWithinGrace(digest: digest, successor: late, rotatedSince: epoch.addingTimeInterval(1),
                                                              maximumReuses: 1) == false, "rotated before the window began")
        // 20 parallel retries with a budget of 2: exactly 2 win, and only their successors are stored.
        let successors = (0..<20).map { _ in Fixtures.refreshToken(now: epoch, family: "grace").record }
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for successor in successors {
                group.addTask {
                    try await store.rotateRefreshTokenWithinGrace(digest: digest, successor: successor, rotatedSince: epoch.addingTimeInterval(-30),
                                                                   maximumReuses: 2)
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 2)
        var stored = 0
        for successor in successors where try await store.refreshToken(digest: successor.tokenDigest) != nil { stored += 1 }
        #expect(stored == 2)
        // A revoked family has no grace.
        let other = Fixtures.refreshToken(now: epoch, family: "grace-revoked")
        try await store.insertRefreshToken(other.record)
        #expect(try await store.rotateRefreshToken(digest: other.record.tokenDigest, successor: Fixtures.refreshToken(now: epoch, family: "grace-revoked").record, at: epoch))
        try await store.revokeRefreshTokenFamily(familyID: "grace-revoked", at: epoch)
        #expect(try await store.rotateRefreshTokenWithinGrace(digest: other.record.tokenDigest, successor: Fixtures.refreshToken(now: epoch, family: "grace-revoked").record,
                                                              rotatedSince: epoch.addingTimeInterval(-30), maximumReuses: 1) == false)
    }

    public static func familyRevocation(_ store: any TesseraStorage) async throws {
        let a = Fixtures.refreshToken(now: epoch, family: "f1")
        let b = Fixtures.refreshToken(now: epoch, family: "f1")
        let other = Fixtures.refreshToken(now: epoch, family: "f2")
        for token in [a, b, other] { try await store.insertRefreshToken(token.record) }
        #expect(try await store.revokeRefreshTokenFamily(familyID: "f1", at: epoch) == 2)
        #expect(try await store.revokeRefreshTokenFamily(familyID: "f1", at: epoch) == 0)
        #expect(try await store.refreshToken(digest: a.record.tokenDigest)?.revokedAt == epoch)
        #expect(try await store.refreshToken(digest: b.record.tokenDigest)?.revokedAt == epoch)
        #expect(try await store.refreshToken(digest: other.record.tokenDigest)?.revokedAt == nil)
        let successor = Fixtures.refreshToken(now: epoch, family: "f1")
        #expect(try await store.rotateRefreshToken(digest: b.record.tokenDigest, successor: successor.record, at: epoch) == false,
                "a revoked token cannot be rotated")
    }

    public static func purgeExpiredFamilies(_ store: any TesseraStorage) async throws {
        let live = Fixtures.refreshToken(now: epoch)
        var dead = Fixtures.refreshToken(now: epoch)
        dead.record.familyExpiresAt = epoch.addingTimeInterval(-1)
        try await store.insertRefreshToken(live.record)
        try await store.insertRefreshToken(dead.record)
        #expect(try await store.purgeExpiredRefreshTokens(before: epoch) == 1)
        #expect(try await store.refreshToken(digest: dead.record.tokenDigest) == nil)
        #expect(try await store.refreshToken(digest: live.record.tokenDigest) != nil)
    }

    public static func signingKeysLifecycle(_ store: any TesseraStorage) async throws {
        let es = try SigningKeyFactory.generate(.es256, now: epoch)
        let rs = try SigningKeyFactory.generate(.rs256, now: epoch.addingTimeInterval(1))
        try await store.insertSigningKey(es)
        try await store.insertSigningKey(rs)
        #expect(try await store.signingKeys() == [es, rs])
        try await store.retireSigningKey(kid: es.kid, at: epoch.addingTimeInterval(10))
        try await store.retireSigningKey(kid: es.kid, at: epoch.addingTimeInterval(20))
        #expect(try await store.signingKeys().first?.retiredAt == epoch.addingTimeInterval(10), "retiring twice keeps the first date")
        try await store.deleteSigningKey(kid: es.kid)
        #expect(try await store.signingKeys().map(\.kid) == [rs.kid])
    }
}
