import Foundation
public import TesseraCore
public import TesseraStore
import Testing

/// Conformance checks for the browser-flow artifacts: codes, sessions, consents, profiles.
extension StoreConformance {
    static func code(_ digestSeed: String = UUID().uuidString, challenge: String? = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        -> AuthorizationCodeRecord {
        AuthorizationCodeRecord(codeDigest: Secrets.digest(digestSeed), clientID: "spa", subject: "user-1", redirectURI: "https://spa.example/cb",
                                redirectURIWasSent: true, scopes: ["openid", "read"], codeChallenge: challenge, nonce: "n",
                                authTime: epoch, issuedAt: epoch, expiresAt: epoch.addingTimeInterval(60))
    }

    public static func authorizationCodesRedeemOnce(_ store: any TesseraStorage) async throws {
        var record = code("c1")
        record.resources = ["https://api.example/a", "https://api.example/b"]  // RFC 8707 at /authorize (schema v5)
        let bare = code("c2", challenge: nil)
        try await store.insertAuthorizationCode(record)
        try await store.insertAuthorizationCode(bare)
        #expect(try await store.authorizationCode(digest: record.codeDigest) == record)
        #expect(try await store.authorizationCode(digest: bare.codeDigest) == bare)
        let at = epoch.addingTimeInterval(5)
        let refresh = Fixtures.refreshToken(clientID: "spa", now: epoch, family: "fam")
        guard case .redeemed(let redeemed) = try await store.redeemAuthorizationCode(digest: record.codeDigest, at: at, issuing: refresh.record,
                                                                                     accessTokenJTI: "jti-0", accessTokenExpiresAt: epoch.addingTimeInterval(600)) else {
            Issue.record("first redemption failed"); return
        }
        #expect(redeemed.consumedAt == at)
        #expect(redeemed.refreshFamilyID == "fam")
        #expect(redeemed.accessTokenJTI == "jti-0")
        #expect(redeemed.resources == ["https://api.example/a", "https://api.example/b"])
        #expect(bare.resources.isEmpty)
        #expect(try await store.refreshToken(digest: refresh.record.tokenDigest) == refresh.record, "the refresh token is stored with the claim")
        let loser = Fixtures.refreshToken(clientID: "spa", now: epoch, family: "other")
        try await store.recordAuthorizationCodeAccessToken(digest: record.codeDigest, jti: "jti-1", expiresAt: epoch.addingTimeInterval(900))
        guard case .alreadyRedeemed(let spent) = try await store.redeemAuthorizationCode(digest: record.codeDigest, at: at, issuing: loser.record,
                                                                                          accessTokenJTI: "lost", accessTokenExpiresAt: epoch)
        else { Issue.record("second redemption was not reported as a replay"); return }
        #expect(try await store.refreshToken(digest: loser.record.tokenDigest) == nil, "a losing redemption stores nothing")
        #expect(spent.refreshFamilyID == "fam", "a replay keeps the first family")
        #expect(spent.accessTokenJTI == "jti-1")
        #expect(spent.accessTokenExpiresAt == epoch.addingTimeInterval(900))
        #expect(try await store.redeemAuthorizationCode(digest: Secrets.digest("missing"), at: at, issuing: nil, accessTokenJTI: nil, accessTokenExpiresAt: nil) == .notFound)
        #expect(try await store.purgeExpiredAuthorizationCodes(before: epoch.addingTimeInterval(61)) == 2)
        #expect(try await store.authorizationCode(digest: record.codeDigest) == nil)
    }

    public static func concurrentCodeRedemptionHasOneWinner(_ store: any TesseraStorage) async throws {
        let record = code("race")
        try await store.insertAuthorizationCode(record)
        let successors = (0..<20).map { i in Fixtures.refreshToken(clientID: "spa", now: epoch, family: "f\(i)").record }
        let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
            for successor in successors {
                group.addTask {
                    if case .redeemed = try await store.redeemAuthorizationCode(digest: record.codeDigest, at: epoch, issuing: successor,
                                                                                 accessTokenJTI: nil, accessTokenExpiresAt: nil) { return true }
                    return false
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(wins == 1)
        var stored = 0
        for successor in successors where try await store.refreshToken(digest: successor.tokenDigest) != nil { stored += 1 }
        #expect(stored == 1, "only the winner's refresh token is stored")
    }

    public static func sessionsRoundTrip(_ store: any TesseraStorage) async throws {
        let anonymous = BrowserSession(idDigest: Secrets.digest("a"), userID: nil, authTime: nil, csrfToken: "csrf-a", createdAt: epoch,
                                       expiresAt: epoch.addingTimeInterval(10))
        let signedIn = BrowserSession(idDigest: Secrets.digest("b"), userID: "u-1", authTime: epoch, csrfToken: "csrf-b", createdAt: epoch,
                                      expiresAt: epoch.addingTimeInterval(3600))
        try await store.insertSession(anonymous)
        try await store.insertSession(signedIn)
        #expect(try await store.session(digest: anonymous.idDigest) == anonymous)
        #expect(try await store.session(digest: signedIn.idDigest) == signedIn)
        #expect(try await store.purgeExpiredSessions(before: epoch.addingTimeInterval(11)) == 1)
        #expect(try await store.session(digest: anonymous.idDigest) == nil)
        try await store.deleteSession(digest: signedIn.idDigest)
        #expect(try await store.session(digest: signedIn.idDigest) == nil)
        // The step-up time (re-authentication before MFA changes) round-trips to the millisecond.
        let stepped = BrowserSession(idDigest: Secrets.digest("c"), userID: "u-1", authTime: epoch, csrfToken: "csrf-c", createdAt: epoch,
                                     expiresAt: epoch.addingTimeInterval(3600), authenticationMethods: ["pwd", "otp"],
                                     reauthenticatedAt: epoch.addingTimeInterval(12.5))
        try await store.insertSession(stepped)
        #expect(try await store.session(digest: stepped.idDigest)?.reauthenticatedAt == epoch.addingTimeInterval(12.5))
        #expect(try await store.session(digest: stepped.idDigest) == stepped)
    }

    public static func consentsAndGrantRevocation(_ store: any TesseraStorage) async throws {
        let first = ConsentRecord(subject: "u-1", clientID: "spa", scopes: ["openid"], grantedAt: epoch, updatedAt: epoch)
        try await store.saveConsent(first)
        try await store.saveConsent(ConsentRecord(subject: "u-1", clientID: "web", scopes: ["read"], grantedAt: epoch.addingTimeInterval(1),
                                                  updatedAt: epoch.addingTimeInterval(1)))
        try await store.saveConsent(ConsentRecord(subject: "u-2", clientID: "spa", scopes: ["read"], grantedAt: epoch, updatedAt: epoch))
        #expect(try await store.consent(subject: "u-1", clientID: "spa") == first)
        var wider = first
        wider.scopes = ["openid", "profile"]
        wider.updatedAt = epoch.addingTimeInterval(5)
        try await store.saveConsent(wider)
        #expect(try await store.consent(subject: "u-1", clientID: "spa") == wider, "saving replaces")
        #expect(try await store.consents(subject: "u-1").map(\.clientID) == ["spa", "web"])
        let mine = Fixtures.refreshToken(clientID: "spa", subject: "u-1", now: epoch)
        let other = Fixtures.refreshToken(clientID: "spa", subject: "u-2", now: epoch)
        try await store.insertRefreshToken(mine.record)
        try await store.insertRefreshToken(other.record)
        #expect(try await store.revokeRefreshTokens(subject: "u-1", clientID: "spa", at: epoch) == 1)
        #expect(try await store.revokeRefreshTokens(subject: "u-1", clientID: "spa", at: epoch) == 0)
        #expect(try await store.refreshToken(digest: other.record.tokenDigest)?.revokedAt == nil)
        #expect(try await store.deleteConsent(subject: "u-1", clientID: "spa"))
        #expect(try await store.deleteConsent(subject: "u-1", clientID: "spa") == false)
        #expect(try await store.consents(subject: "u-1").map(\.clientID) == ["web"])
    }

    public static func userProfiles(_ store: any TesseraStorage) async throws {
        try await store.insertUser(User(id: "u-1", username: "alice", passwordHash: "x", allowedScopes: ["openid"], createdAt: epoch))
        #expect(try await store.userProfile(userID: "u-1") == UserProfile())
        try await store.setUserProfile(userID: "u-1", profile: UserProfile(name: "Alice Liddell", email: "alice@example.com"))
        #expect(try await store.userProfile(userID: "u-1") == UserProfile(name: "Alice Liddell", email: "alice@example.com"))
        #expect(try await store.user(id: "u-1")?.username == "alice", "the profile columns leave the user record intact")
        await #expect(throws: StoreError.self) { try await store.setUserProfile(userID: "missing", profile: UserProfile()) }
    }
}
