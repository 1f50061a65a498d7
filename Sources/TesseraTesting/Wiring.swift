import Foundation
public import TesseraCore
public import TesseraStore

// Test conveniences: each core component wired with every store protocol it uses taken from one `TesseraStorage`
// (a `MemoryStore`, or a SQL store in the store tests), as `TesseraRuntime.make` does for a running node.

extension UserAuthenticator {
    public init(services: GrantServices, storage: any TesseraStorage) {
        self.init(services: services, users: storage, loginAttempts: storage, mfa: storage)
    }
}

extension UserSessions {
    public init(storage: any TesseraStorage, clock: any TimeSource) {
        self.init(users: storage, sessions: storage, refreshTokens: storage, audit: storage, clock: clock)
    }
}

extension MFAService {
    public init(services: GrantServices, storage: any TesseraStorage) {
        self.init(services: services, store: storage, authenticator: UserAuthenticator(services: services, storage: storage),
                  userSessions: UserSessions(storage: storage, clock: services.clock))
    }
}

extension StepUpService {
    public init(services: GrantServices, storage: any TesseraStorage, policy: StepUpPolicy = StepUpPolicy()) {
        self.init(services: services, mfa: MFAService(services: services, storage: storage), policy: policy)
    }
}

extension ConsentManagement {
    public init(services: GrantServices, storage: any TesseraStorage) {
        self.init(services: services, consents: storage)
    }
}

extension GrantRegistry {
    /// The standard grants over one storage.
    public static func standard(services: GrantServices, storage: any TesseraStorage) -> GrantRegistry {
        .standard(authorizationCode: AuthorizationCodeGrant(codes: storage, users: storage, refreshTokens: storage,
                                                            revokedAccessTokens: storage, mfa: storage),
                  password: PasswordGrant(authenticator: UserAuthenticator(services: services, storage: storage),
                                          mfa: MFAService(services: services, storage: storage), refreshTokens: storage),
                  refreshToken: RefreshTokenGrant(refreshTokens: storage, users: storage))
    }
}

extension TokenEndpoint {
    public init(services: GrantServices, storage: any TesseraStorage) {
        self.init(services: services, clients: storage, grants: .standard(services: services, storage: storage))
    }
}

extension AccessTokenStatusCheck {
    public init(services: GrantServices, storage: any TesseraStorage) {
        self.init(services: services, revokedAccessTokens: storage, clients: storage, users: storage)
    }
}

extension IntrospectionEndpoint {
    public init(services: GrantServices, storage: any TesseraStorage) {
        self.init(services: services, accessTokens: AccessTokenStatusCheck(services: services, storage: storage), clients: storage,
                  refreshTokens: storage)
    }
}

extension RevocationEndpoint {
    public init(services: GrantServices, storage: any TesseraStorage) {
        self.init(services: services, clients: storage, refreshTokens: storage, revokedAccessTokens: storage)
    }
}

extension UserInfoEndpoint {
    public init(services: GrantServices, storage: any TesseraStorage) {
        self.init(services: services, accessTokens: AccessTokenStatusCheck(services: services, storage: storage), users: storage,
                  profiles: storage)
    }
}

extension LogoutEndpoint {
    public init(services: GrantServices, storage: any TesseraStorage) {
        self.init(services: services, clients: storage)
    }
}

extension FederationService {
    public init(services: GrantServices, storage: any TesseraStorage, providers: IdentityProviderRegistry) {
        self.init(services: services, providers: providers, federation: storage, users: storage, profiles: storage, mfa: storage)
    }
}

extension RegistrationEndpoint {
    public init(settings: Settings, storage: any TesseraStorage, clock: any TimeSource, audit: any AuditSink) {
        self.init(settings: settings, clients: storage, consents: storage, initialAccessTokens: storage, clock: clock, audit: audit)
    }
}

extension CoreHarness {
    /// This harness's components, wired over `storage` with `services` (default: the harness's own).
    public func mfa(_ services: GrantServices? = nil) -> MFAService { MFAService(services: services ?? self.services, storage: storage) }
    public func userAuthenticator(_ services: GrantServices? = nil) -> UserAuthenticator {
        UserAuthenticator(services: services ?? self.services, storage: storage)
    }
    public func introspectionEndpoint(_ services: GrantServices? = nil) -> IntrospectionEndpoint {
        IntrospectionEndpoint(services: services ?? self.services, storage: storage)
    }
    public func revocationEndpoint(_ services: GrantServices? = nil) -> RevocationEndpoint {
        RevocationEndpoint(services: services ?? self.services, storage: storage)
    }
    public func userInfoEndpoint(_ services: GrantServices? = nil) -> UserInfoEndpoint {
        UserInfoEndpoint(services: services ?? self.services, storage: storage)
    }
}
