import Foundation

// Transitional: wiring from the `GrantServices.storage` umbrella, only for `AuthorizationEndpoint` and the browser
// routes still built on it. Everything else is built once by the composition root (`TesseraRuntime.make`) with its
// own store protocols; this file goes when `GrantServices.storage` does.

extension UserAuthenticator {
    /// Transitional (see the top of this file).
    public init(services: GrantServices) {
        self.init(services: services, users: services.storage, loginAttempts: services.storage, mfa: services.storage)
    }
}

extension MFAService {
    /// Transitional (see the top of this file).
    public init(services: GrantServices) {
        let storage = services.storage
        self.init(services: services, store: storage, authenticator: UserAuthenticator(services: services),
                  userSessions: UserSessions(users: storage, sessions: storage, refreshTokens: storage, audit: storage, clock: services.clock))
    }
}

extension StepUpService {
    /// Transitional (see the top of this file).
    public init(services: GrantServices, policy: StepUpPolicy = StepUpPolicy()) {
        self.init(services: services, mfa: MFAService(services: services), policy: policy)
    }
}

extension ConsentManagement {
    /// Transitional (see the top of this file).
    public init(services: GrantServices) {
        self.init(services: services, consents: services.storage)
    }
}
