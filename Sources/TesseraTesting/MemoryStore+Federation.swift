public import Foundation
public import TesseraCore

/// Federation state in memory (`MemoryStore.federation`).
struct MemoryFederationState: Sendable {
    var states: [Data: FederationState] = [:]
    /// Keyed by provider id and subject, joined by NUL.
    var identities: [String: FederatedIdentity] = [:]

    static func key(_ providerID: String, _ subject: String) -> String { providerID + "\u{0}" + subject }
}

extension MemoryStore {
    public func insertFederationState(_ state: FederationState) { federation.states[state.stateDigest] = state }

    public func takeFederationState(digest: Data) -> FederationState? { federation.states.removeValue(forKey: digest) }

    public func purgeExpiredFederationStates(before date: Date) -> Int {
        let before = federation.states.count
        federation.states = federation.states.filter { $0.value.expiresAt >= date }
        return before - federation.states.count
    }

    public func federatedIdentity(providerID: String, subject: String) -> FederatedIdentity? {
        federation.identities[MemoryFederationState.key(providerID, subject)]
    }

    public func federatedIdentities(userID: String) -> [FederatedIdentity] {
        federation.identities.values.filter { $0.userID == userID }
            .sorted { ($0.linkedAt, $0.providerID, $0.subject) < ($1.linkedAt, $1.providerID, $1.subject) }
    }

    public func insertFederatedIdentity(_ identity: FederatedIdentity) -> Bool {
        let key = MemoryFederationState.key(identity.providerID, identity.subject)
        guard federation.identities[key] == nil else { return false }
        federation.identities[key] = identity
        return true
    }

    public func recordFederatedSignIn(providerID: String, subject: String, at date: Date) {
        federation.identities[MemoryFederationState.key(providerID, subject)]?.lastSignInAt = date
    }

    public func deleteFederatedIdentity(userID: String, providerID: String, subject: String) -> Bool {
        let key = MemoryFederationState.key(providerID, subject)
        guard federation.identities[key]?.userID == userID else { return false }
        federation.identities[key] = nil
        return true
    }

    public func userIDs(email: String) -> [String] {
        let wanted = email.lowercased()
        return userProfiles.filter { users[$0.key] != nil && $0.value.email?.lowercased() == wanted }.keys.sorted()
    }
}
