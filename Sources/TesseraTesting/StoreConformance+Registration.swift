import Foundation
public import TesseraCore
public import TesseraStore
import Testing

/// Conformance checks for open-registration state (issue 20): the anonymous-registration mark on clients
/// and dropping every consent to one client.
extension StoreConformance {
    public static func anonymousRegistrationMark(_ store: any TesseraStorage) async throws {
        var open = Client(id: "open-1", name: "Self-registered", secretDigest: nil, authMethod: .none, grantTypes: [.authorizationCode],
                          allowedScopes: ["openid"], redirectURIs: ["http://127.0.0.1:9/cb"], createdAt: epoch)
        open.registeredAnonymously = true
        try await store.insertClient(open)
        try await store.insertClient(Fixtures.confidentialClient(id: "operator").client)
        #expect(try await store.client(id: "open-1")?.registeredAnonymously == true)
        #expect(try await store.client(id: "operator")?.registeredAnonymously == false)
        // An update (RFC 7592 §2.2) never clears the mark.
        var renamed = open
        renamed.name = "Renamed"
        try await store.updateClient(renamed)
        #expect(try await store.client(id: "open-1")?.registeredAnonymously == true)
        #expect(try await store.listClients().first { $0.id == "open-1" }?.registeredAnonymously == true)
    }

    public static func consentsDeletedPerClient(_ store: any TesseraStorage) async throws {
        for (subject, clientID) in [("u-1", "spa"), ("u-2", "spa"), ("u-1", "web")] {
            try await store.saveConsent(ConsentRecord(subject: subject, clientID: clientID, scopes: ["openid"], grantedAt: epoch, updatedAt: epoch))
        }
        #expect(try await store.deleteConsents(clientID: "spa") == 2)
        #expect(try await store.deleteConsents(clientID: "spa") == 0)
        #expect(try await store.consent(subject: "u-1", clientID: "spa") == nil)
        #expect(try await store.consent(subject: "u-2", clientID: "spa") == nil)
        #expect(try await store.consent(subject: "u-1", clientID: "web") != nil, "other clients' consents stay")
    }
}
