public import TesseraCore

/// Every store protocol of the core in one type: what a complete store implements (`SQLStore`, and `MemoryStore` in
/// `TesseraTesting`). Only the composition root (`TesseraRuntime.make`) and `TesseraTesting` name it; each
/// core component receives just the protocols it uses (fosite's per-handler storage slices).
public typealias TesseraStorage = ClientStore & UserStore & RefreshTokenStore & SigningKeyStore
    & AccessTokenRevocationStore & InitialAccessTokenStore
    & AuthorizationCodeStore & SessionStore & ConsentStore & UserProfileStore
    & LoginAttemptStore & AuditEventStore & MFAStore & FederationStore & InteractionStore
    & ClientAssertionReplayStore
