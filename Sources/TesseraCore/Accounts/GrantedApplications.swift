public import Foundation

/// One application a user granted access to, as `/account` lists it.
public struct GrantedApplication: Sendable, Equatable {
    public let clientID: String
    public let clientName: String
    public let scopes: ScopeSet
    public let grantedAt: Date
    /// When the grant last changed (a later consent added scopes); `nil` when it never did.
    public let updatedAt: Date?
}

/// The applications a user granted access to (their remembered consents), for the account page; the page reads
/// no store itself.
public struct GrantedApplications: Sendable {
    let consents: any ConsentStore
    let clients: any ClientStore

    public init(consents: any ConsentStore, clients: any ClientStore) {
        self.consents = consents
        self.clients = clients
    }

    /// `userID`'s grants, in the store's order. A deleted client's consent is left out: its tokens went with it.
    public func list(userID: String) async throws -> [GrantedApplication] {
        var result: [GrantedApplication] = []
        for consent in try await consents.consents(subject: userID) {
            guard let client = try await clients.client(id: consent.clientID) else { continue }
            result.append(GrantedApplication(clientID: consent.clientID, clientName: client.name, scopes: consent.scopes,
                                             grantedAt: consent.grantedAt,
                                             updatedAt: consent.updatedAt != consent.grantedAt ? consent.updatedAt : nil))
        }
        return result
    }
}
