public import Foundation
public import TesseraCore

extension MemoryStore {
    public func updateClient(_ client: Client) throws {
        guard clients[client.id] != nil else { throw StoreError(.notFound, "No such client.") }
        clients[client.id] = client
    }

    public func revokeAccessToken(jti: String, clientID: String, expiresAt: Date, at: Date) {
        revokedAccessTokens[jti] = max(revokedAccessTokens[jti] ?? .distantPast, expiresAt)
    }
    public func isAccessTokenRevoked(jti: String) -> Bool { revokedAccessTokens[jti] != nil }
    public func purgeExpiredAccessTokenRevocations(before date: Date) -> Int {
        let before = revokedAccessTokens.count
        revokedAccessTokens = revokedAccessTokens.filter { $0.value >= date }
        return before - revokedAccessTokens.count
    }

    public func insertInitialAccessToken(digest: Data, expiresAt: Date, createdAt: Date) { initialAccessTokens[digest] = expiresAt }
    public func initialAccessTokenExpiry(digest: Data) -> Date? { initialAccessTokens[digest] }
    public func purgeExpiredInitialAccessTokens(before date: Date) -> Int {
        let before = initialAccessTokens.count
        initialAccessTokens = initialAccessTokens.filter { $0.value >= date }
        return before - initialAccessTokens.count
    }

    public func recordClientAssertion(clientID: String, jtiDigest: Data, expiresAt: Date) -> Bool {
        let key = clientID + " " + jtiDigest.base64EncodedString()
        guard clientAssertions[key] == nil else { return false }
        clientAssertions[key] = expiresAt
        return true
    }
    public func purgeClientAssertions(before date: Date) -> Int {
        let before = clientAssertions.count
        clientAssertions = clientAssertions.filter { $0.value >= date }
        return before - clientAssertions.count
    }
}
