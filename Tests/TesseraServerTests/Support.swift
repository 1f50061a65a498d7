import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

/// A server runtime over an in-memory store with one confidential client, one public client and one user.
struct ServerHarness {
    let runtime: TesseraRuntime
    let clientSecret: String
    let store: MemoryStore

    static func make(clock: any TimeSource = SystemTimeSource(),
                     _ adjust: (inout TesseraConfiguration) -> Void = { _ in }) async throws -> ServerHarness {
        var configuration = TesseraConfiguration()
        configuration.bcryptCost = 4
        configuration.issuer = "https://auth.test"
        adjust(&configuration)
        let store = MemoryStore()
        let runtime = try await TesseraRuntime.make(configuration: configuration, storage: store, clock: clock)
        let provisioning = Provisioning(storage: store, passwords: runtime.services.passwords)
        let created = try await provisioning.addClient(name: "Service", grants: ["client_credentials", "password", "refresh_token"],
                                                       scopes: ["read", "write"], id: "svc")
        _ = try await provisioning.addClient(name: "SPA", grants: ["refresh_token"], scopes: ["read"], isPublic: true, id: "spa")
        try await provisioning.addUser(username: "alice", password: "wonderland", scopes: ["read", "write"])
        return ServerHarness(runtime: runtime, clientSecret: created.secret!, store: store)
    }

    var basic: String { "Basic " + Data("svc:\(clientSecret)".utf8).base64EncodedString() }

    /// The CLI's provisioning helper over this harness's store and password hasher.
    var provisioning: Provisioning { Provisioning(storage: store, passwords: runtime.services.passwords) }

    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: buildRouter(runtime: runtime))
        try await app.test(.router, body)
    }
}

extension TestClientProtocol {
    /// POSTs a form body to `/token`.
    func postForm(_ body: String, to uri: String = "/token", authorization: String? = nil,
                  contentType: String = "application/x-www-form-urlencoded") async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: contentType]
        if let authorization { headers[.authorization] = authorization }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    func postBytes(_ bytes: [UInt8], to uri: String = "/token", authorization: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let authorization { headers[.authorization] = authorization }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
    }
}

extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:]
    }

    /// Expects an RFC 6749 §5.2 error with this status and code.
    func expectOAuthError(_ status: HTTPResponse.Status, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(self.status == status, sourceLocation: sourceLocation)
        #expect(json["error"] as? String == code, "\(String(buffer: body))", sourceLocation: sourceLocation)
        #expect((json["error_description"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
        #expect(headers[.cacheControl] == "no-store", sourceLocation: sourceLocation)
    }
}
