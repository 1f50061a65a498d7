import Foundation
public import TesseraCore
public import TesseraStore
import Testing

/// Account recovery (``UserSessions``) and the session idle timeout (``SessionExpiry``).
extension StoreConformance {
    static func session(_ name: String, userID: String?, expiresAt: Date) -> BrowserSession {
        BrowserSession(idDigest: Secrets.digest(name), userID: userID, authTime: userID == nil ? nil : epoch, csrfToken: "csrf-\(name)",
                       createdAt: epoch, expiresAt: expiresAt)
    }

    public static func userSessionsDeletedExceptOne(_ store: any TesseraStorage) async throws {
        let later = epoch.addingTimeInterval(3600)
        let mine = [session("m1", userID: "u-1", expiresAt: later), session("m2", userID: "u-1", expiresAt: later),
                    session("m3", userID: "u-1", expiresAt: later)]
        let theirs = session("t1", userID: "u-2", expiresAt: later)
        let anonymous = session("anon", userID: nil, expiresAt: later)
        for session in mine + [theirs, anonymous] { try await store.insertSession(session) }

        #expect(try await store.deleteSessions(userID: "u-1", except: mine[0].idDigest) == 2, "all but the kept session end")
        #expect(try await store.session(digest: mine[0].idDigest) == mine[0])
        #expect(try await store.session(digest: mine[1].idDigest) == nil)
        #expect(try await store.session(digest: mine[2].idDigest) == nil)
        #expect(try await store.session(digest: theirs.idDigest) == theirs, "another user's session stays")
        #expect(try await store.session(digest: anonymous.idDigest) == anonymous, "a session before sign-in stays")

        #expect(try await store.deleteSessions(userID: "u-1", except: nil) == 1, "without an exception every session ends")
        #expect(try await store.session(digest: mine[0].idDigest) == nil)
        #expect(try await store.deleteSessions(userID: "u-1", except: nil) == 0)
        #expect(try await store.deleteSessions(userID: "nobody", except: nil) == 0)
    }

    public static func sessionExtensionOnlyMovesForward(_ store: any TesseraStorage) async throws {
        let original = session("s", userID: "u-1", expiresAt: epoch.addingTimeInterval(1800))
        try await store.insertSession(original)
        try await store.extendSession(digest: original.idDigest, until: epoch.addingTimeInterval(1900))
        #expect(try await store.session(digest: original.idDigest)?.expiresAt == epoch.addingTimeInterval(1900))
        try await store.extendSession(digest: original.idDigest, until: epoch.addingTimeInterval(1850))
        #expect(try await store.session(digest: original.idDigest)?.expiresAt == epoch.addingTimeInterval(1900), "never moved back")
        var expected = original
        expected.expiresAt = epoch.addingTimeInterval(1900)
        #expect(try await store.session(digest: original.idDigest) == expected, "only expiresAt changes")
        try await store.extendSession(digest: Secrets.digest("unknown"), until: epoch.addingTimeInterval(1900))
        #expect(try await store.session(digest: Secrets.digest("unknown")) == nil, "extending an unknown session creates none")
    }

    public static func userRefreshTokensRevokedAcrossFamilies(_ store: any TesseraStorage) async throws {
        // u-1: family A rotated once (two rows) at client web, family B at client cli; u-2: family C.
        let a1 = Fixtures.refreshToken(clientID: "web", subject: "u-1", now: epoch, family: "A")
        let a2 = Fixtures.refreshToken(clientID: "web", subject: "u-1", now: epoch, family: "A")
        let b1 = Fixtures.refreshToken(clientID: "cli", subject: "u-1", now: epoch, family: "B")
        let c1 = Fixtures.refreshToken(clientID: "web", subject: "u-2", now: epoch, family: "C")
        for token in [a1, b1, c1] { try await store.insertRefreshToken(token.record) }
        #expect(try await store.rotateRefreshToken(digest: a1.record.tokenDigest, successor: a2.record, at: epoch.addingTimeInterval(1)))

        let at = epoch.addingTimeInterval(10)
        #expect(try await store.revokeRefreshTokens(subject: "u-1", at: at) == 2, "two families of u-1")
        for token in [a1, a2, b1] {
            #expect(try await store.refreshToken(digest: token.record.tokenDigest)?.revokedAt == at)
        }
        #expect(try await store.refreshToken(digest: c1.record.tokenDigest)?.revokedAt == nil, "another user's tokens stay")
        #expect(try await store.revokeRefreshTokens(subject: "u-1", at: epoch.addingTimeInterval(20)) == 0, "nothing newly revoked")
        #expect(try await store.refreshToken(digest: b1.record.tokenDigest)?.revokedAt == at, "the first revocation time stays")
        let successor = Fixtures.refreshToken(clientID: "cli", subject: "u-1", now: epoch, family: "B")
        #expect(try await store.rotateRefreshToken(digest: b1.record.tokenDigest, successor: successor.record, at: epoch.addingTimeInterval(30)) == false,
                "a revoked token cannot be rotated")
    }
}
