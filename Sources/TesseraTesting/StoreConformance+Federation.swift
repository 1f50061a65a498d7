import Foundation
public import TesseraCore
public import TesseraStore
import Testing

/// Conformance checks for federated identity: single-use pending sign-ins, identity links, lookup by
/// profile email, and `amr` / `idp` on sessions and authorization codes.
extension StoreConformance {
    static func federationState(_ seed: String, expiresIn seconds: TimeInterval = 600) -> FederationState {
        FederationState(stateDigest: Secrets.digest("state-" + seed), providerID: "google", nonce: "nonce-" + seed, codeVerifier: "verifier-" + seed,
                        returnTo: "/authorize?client_id=spa&state=" + seed, sessionDigest: Secrets.digest("session-" + seed),
                        createdAt: epoch, expiresAt: epoch.addingTimeInterval(seconds))
    }

    public static func federationStatesAreSingleUse(_ store: any TesseraStorage) async throws {
        let live = federationState("live")
        let stale = federationState("stale", expiresIn: 60)
        let other = federationState("other", expiresIn: 60)
        for state in [live, stale, other] { try await store.insertFederationState(state) }
        #expect(try await store.takeFederationState(digest: live.stateDigest) == live)
        #expect(try await store.takeFederationState(digest: live.stateDigest) == nil, "a state is taken once")
        #expect(try await store.takeFederationState(digest: Secrets.digest("missing")) == nil)
        #expect(try await store.purgeExpiredFederationStates(before: epoch.addingTimeInterval(61)) == 2)
        #expect(try await store.purgeExpiredFederationStates(before: epoch.addingTimeInterval(61)) == 0)
        #expect(try await store.takeFederationState(digest: stale.stateDigest) == nil, "purged")
        let kept = federationState("kept")
        try await store.insertFederationState(kept)
        #expect(try await store.purgeExpiredFederationStates(before: epoch.addingTimeInterval(599)) == 0, "a live state is kept")
        #expect(try await store.takeFederationState(digest: kept.stateDigest) == kept)
    }

    public static func concurrentFederationStateTakesHaveOneWinner(_ store: any TesseraStorage) async throws {
        let state = federationState("race")
        try await store.insertFederationState(state)
        let taken = try await withThrowingTaskGroup(of: FederationState?.self) { group in
            for _ in 0..<10 { group.addTask { try await store.takeFederationState(digest: state.stateDigest) } }
            return try await group.reduce(into: [FederationState]()) { if let state = $1 { $0.append(state) } }
        }
        #expect(taken == [state], "exactly one of concurrent takes gets the state")
    }

    public static func federatedIdentityLinks(_ store: any TesseraStorage) async throws {
        let google = FederatedIdentity(providerID: "google", subject: "1234", userID: "u-1", email: "alice@example.com", linkedAt: epoch)
        let github = FederatedIdentity(providerID: "github", subject: "42", userID: "u-1", email: nil, linkedAt: epoch.addingTimeInterval(5),
                                       lastSignInAt: epoch.addingTimeInterval(5))
        let bob = FederatedIdentity(providerID: "google", subject: "5678", userID: "u-2", email: "bob@example.com", linkedAt: epoch)
        #expect(try await store.federatedIdentity(providerID: "google", subject: "1234") == nil)
        #expect(try await store.insertFederatedIdentity(google))
        #expect(try await store.insertFederatedIdentity(github))
        #expect(try await store.insertFederatedIdentity(bob))
        var thief = google
        thief.userID = "u-2"
        #expect(try await store.insertFederatedIdentity(thief) == false, "a provider + subject links to one user")
        #expect(try await store.federatedIdentity(providerID: "google", subject: "1234") == google, "the duplicate stored nothing")
        #expect(try await store.federatedIdentity(providerID: "github", subject: "1234") == nil, "subjects are per provider")
        #expect(try await store.federatedIdentities(userID: "u-1") == [google, github])
        #expect(try await store.federatedIdentities(userID: "u-2") == [bob])
        #expect(try await store.federatedIdentities(userID: "nobody").isEmpty)

        try await store.recordFederatedSignIn(providerID: "google", subject: "1234", at: epoch.addingTimeInterval(100))
        #expect(try await store.federatedIdentity(providerID: "google", subject: "1234")?.lastSignInAt == epoch.addingTimeInterval(100))
        #expect(try await store.federatedIdentity(providerID: "google", subject: "5678")?.lastSignInAt == nil, "only that link")
        try await store.recordFederatedSignIn(providerID: "google", subject: "missing", at: epoch)

        #expect(try await store.deleteFederatedIdentity(userID: "u-2", providerID: "google", subject: "1234") == false, "only the owner's link")
        #expect(try await store.deleteFederatedIdentity(userID: "u-1", providerID: "google", subject: "1234"))
        #expect(try await store.deleteFederatedIdentity(userID: "u-1", providerID: "google", subject: "1234") == false)
        #expect(try await store.federatedIdentity(providerID: "google", subject: "1234") == nil)
        #expect(try await store.federatedIdentities(userID: "u-1") == [github])
        #expect(try await store.insertFederatedIdentity(thief), "an unlinked identity can be linked again")
        #expect(try await store.federatedIdentities(userID: "u-2").count == 2)
    }

    public static func userIDsByProfileEmail(_ store: any TesseraStorage) async throws {
        for (id, name) in [("u-1", "alice"), ("u-2", "alice2"), ("u-3", "bob"), ("u-4", "nomail")] {
            try await store.insertUser(User(id: id, username: name, passwordHash: User.noPassword, allowedScopes: ["openid"], createdAt: epoch))
        }
        try await store.setUserProfile(userID: "u-1", profile: UserProfile(name: "Alice", email: "Alice@Example.COM"))
        try await store.setUserProfile(userID: "u-2", profile: UserProfile(email: "alice@example.com"))
        try await store.setUserProfile(userID: "u-3", profile: UserProfile(email: "bob@example.com"))
        try await store.setUserProfile(userID: "u-4", profile: UserProfile(name: "No Mail"))
        #expect(try await store.userIDs(email: "ALICE@example.com") == ["u-1", "u-2"], "compared case-insensitively")
        #expect(try await store.userIDs(email: "bob@example.com") == ["u-3"])
        #expect(try await store.userIDs(email: "carol@example.com").isEmpty)
        #expect(try await store.userIDs(email: "alice@example.co").isEmpty, "whole addresses only")
    }

    public static func sessionsAndCodesCarryAMRAndIdP(_ store: any TesseraStorage) async throws {
        let federated = BrowserSession(idDigest: Secrets.digest("fed"), userID: "u-1", authTime: epoch, csrfToken: "csrf", createdAt: epoch,
                                       expiresAt: epoch.addingTimeInterval(3600), authenticationMethods: ["fed", "mfa"], identityProvider: "google")
        let local = BrowserSession(idDigest: Secrets.digest("pwd"), userID: "u-1", authTime: epoch, csrfToken: "csrf", createdAt: epoch,
                                   expiresAt: epoch.addingTimeInterval(3600), authenticationMethods: ["pwd"])
        let legacy = BrowserSession(idDigest: Secrets.digest("old"), userID: nil, authTime: nil, csrfToken: "csrf", createdAt: epoch,
                                    expiresAt: epoch.addingTimeInterval(3600))
        let empty = BrowserSession(idDigest: Secrets.digest("empty"), userID: "u-1", authTime: epoch, csrfToken: "csrf", createdAt: epoch,
                                   expiresAt: epoch.addingTimeInterval(3600), authenticationMethods: [])
        for session in [federated, local, legacy, empty] {
            try await store.insertSession(session)
            #expect(try await store.session(digest: session.idDigest) == session, "amr and idp round-trip exactly (nil stays nil, [] stays [])")
        }

        var code = Self.code("fed-code")
        code.authenticationMethods = ["fed"]
        code.identityProvider = "github"
        var emptyCode = Self.code("empty-code")
        emptyCode.authenticationMethods = []
        let plain = Self.code("plain-code")
        for record in [code, emptyCode, plain] {
            try await store.insertAuthorizationCode(record)
            #expect(try await store.authorizationCode(digest: record.codeDigest) == record)
        }
        guard case .redeemed(let redeemed) = try await store.redeemAuthorizationCode(digest: code.codeDigest, at: epoch, issuing: nil,
                                                                                     accessTokenJTI: nil, accessTokenExpiresAt: nil) else {
            Issue.record("redemption failed"); return
        }
        #expect(redeemed.authenticationMethods == ["fed"] && redeemed.identityProvider == "github", "the redeemed code keeps them")
    }
}
