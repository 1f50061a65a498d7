public import Foundation
public import TesseraCore

extension MemoryStore {
    // MARK: Authorization codes

    public func insertAuthorizationCode(_ code: AuthorizationCodeRecord) { authorizationCodes[code.codeDigest] = code }
    public func authorizationCode(digest: Data) -> AuthorizationCodeRecord? { authorizationCodes[digest] }
    public func redeemAuthorizationCode(digest: Data, at date: Date, issuing refreshToken: RefreshTokenRecord?,
                                        accessTokenJTI: String?, accessTokenExpiresAt: Date?) -> CodeRedemption {
        guard let code = authorizationCodes[digest] else { return .notFound }
        guard code.consumedAt == nil else { return .alreadyRedeemed(code) }
        authorizationCodes[digest]?.consumedAt = date
        authorizationCodes[digest]?.refreshFamilyID = refreshToken?.familyID
        authorizationCodes[digest]?.accessTokenJTI = accessTokenJTI
        authorizationCodes[digest]?.accessTokenExpiresAt = accessTokenExpiresAt
        if let refreshToken { refreshTokens[refreshToken.tokenDigest] = refreshToken }
        return .redeemed(authorizationCodes[digest]!)
    }
    public func recordAuthorizationCodeAccessToken(digest: Data, jti: String, expiresAt: Date) {
        authorizationCodes[digest]?.accessTokenJTI = jti
        authorizationCodes[digest]?.accessTokenExpiresAt = expiresAt
    }
    public func purgeExpiredAuthorizationCodes(before date: Date) -> Int {
        let count = authorizationCodes.count
        authorizationCodes = authorizationCodes.filter { $0.value.expiresAt >= date }
        return count - authorizationCodes.count
    }

    // MARK: Sessions

    public func insertSession(_ session: BrowserSession) { sessions[session.idDigest] = session }
    public func session(digest: Data) -> BrowserSession? { sessions[digest] }
    public func deleteSession(digest: Data) { sessions[digest] = nil }
    public func extendSession(digest: Data, until date: Date) {
        if let session = sessions[digest], session.expiresAt < date { sessions[digest]?.expiresAt = date }
    }
    public func deleteSessions(userID: String, except kept: Data?) -> Int {
        let count = sessions.count
        sessions = sessions.filter { $0.value.userID != userID || $0.key == kept }
        return count - sessions.count
    }
    public func purgeExpiredSessions(before date: Date) -> Int {
        let count = sessions.count
        sessions = sessions.filter { $0.value.expiresAt >= date }
        return count - sessions.count
    }

    // MARK: Consents

    private static func consentKey(_ subject: String, _ clientID: String) -> String { subject + "\u{0}" + clientID }
    public func consent(subject: String, clientID: String) -> ConsentRecord? { consentRecords[Self.consentKey(subject, clientID)] }
    public func saveConsent(_ consent: ConsentRecord) { consentRecords[Self.consentKey(consent.subject, consent.clientID)] = consent }
    public func consents(subject: String) -> [ConsentRecord] {
        consentRecords.values.filter { $0.subject == subject }.sorted { ($0.grantedAt, $0.clientID) < ($1.grantedAt, $1.clientID) }
    }
    public func deleteConsents(clientID: String) -> Int {
        let keys = consentRecords.filter { $0.value.clientID == clientID }.map(\.key)
        for key in keys { consentRecords.removeValue(forKey: key) }
        return keys.count
    }
    public func deleteConsent(subject: String, clientID: String) -> Bool {
        consentRecords.removeValue(forKey: Self.consentKey(subject, clientID)) != nil
    }
    public func revokeRefreshTokens(subject: String, clientID: String, at date: Date) -> Int {
        var count = 0
        for (digest, token) in refreshTokens where token.subject == subject && token.clientID == clientID && token.revokedAt == nil {
            refreshTokens[digest]?.revokedAt = date
            count += 1
        }
        return count
    }

    // MARK: Profiles

    public func userProfile(userID: String) -> UserProfile { userProfiles[userID] ?? UserProfile() }
    public func setUserProfile(userID: String, profile: UserProfile) throws {
        guard users[userID] != nil else { throw StoreError(.notFound, "No such user.") }
        userProfiles[userID] = profile
    }
}
