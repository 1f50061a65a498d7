import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// `client_name` with control, bidi or zero-width characters is refused at `POST /register` (RFC 7591 §3.2.2
/// `invalid_client_metadata`) and by `tessera client add` (`Provisioning.addClient`): one rule, `DisplayName`.
@Suite("Client display names over HTTP and provisioning")
struct DisplayNameRouteTests {
    static let refused = ["Evil\u{0}App", "Pay\u{202E}lapyap", "\u{2067}App\u{2069}", "Goo\u{200B}gle", "Tab\tbed", "Line\nbreak",
                          "\u{200F}App", "App\u{061C}", "Zero\u{FEFF}", "Arabic\u{600}<"]

    static func body(_ name: String) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: ["client_name": name, "redirect_uris": ["https://app.example/cb"]])
        return String(decoding: data, as: UTF8.self)
    }

    @Test("POST /register with such a client_name: 400 invalid_client_metadata; a plain name is registered")
    func register() async throws {
        let harness = try await ServerHarness.make()
        let token = try await harness.runtime.registrationEndpoint.initialTokens.issue(lifetime: 3600).token
        try await harness.test { client in
            for name in Self.refused {
                let response = try await client.sendJSON(try Self.body(name), to: "/register", bearer: token)
                response.expectOAuthError(.badRequest, "invalid_client_metadata")
                #expect((response.json["error_description"] as? String)?.hasPrefix("client_name must not contain U+") == true)
            }
            let created = try await client.sendJSON(try Self.body("Café «Photos» 📷"), to: "/register", bearer: token)
            #expect(created.status == .created)
            #expect(created.json["client_name"] as? String == "Café «Photos» 📷")
        }
    }

    @Test("RFC 7592 update: renaming a client to such a name is refused too")
    func update() async throws {
        let harness = try await ServerHarness.make()
        let token = try await harness.runtime.registrationEndpoint.initialTokens.issue(lifetime: 3600).token
        try await harness.test { client in
            let created = try await client.sendJSON(try Self.body("App"), to: "/register", bearer: token).json
            let id = try #require(created["client_id"] as? String)
            let rat = try #require(created["registration_access_token"] as? String)
            let data = try JSONSerialization.data(withJSONObject: ["client_id": id, "client_name": "App\u{202E}", "redirect_uris": ["https://app.example/cb"]])
            try await client.sendJSON(String(decoding: data, as: UTF8.self), to: "/register/\(id)", method: .put, bearer: rat)
                .expectOAuthError(.badRequest, "invalid_client_metadata")
        }
    }

    @Test("tessera client add (Provisioning.addClient) refuses such a name with a clear message")
    func provisioning() async throws {
        let harness = try await ServerHarness.make()
        let provisioning = harness.provisioning
        for name in Self.refused + ["", " padded"] {
            do {
                _ = try await provisioning.addClient(name: name, grants: ["client_credentials"], scopes: ["read"])
                Issue.record("accepted \(name.debugDescription)")
            } catch let error as Provisioning.Invalid {
                #expect(error.description.hasPrefix("client name must"), "\(error.description)")
            }
        }
        _ = try await provisioning.addClient(name: "Photo App ✓", grants: ["client_credentials"], scopes: ["read"])
    }
}
