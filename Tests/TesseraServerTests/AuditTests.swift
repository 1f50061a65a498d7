import Foundation
import HTTPTypes
import HummingbirdTesting
import TesseraCore
import TesseraServer
import TesseraTesting
import Testing

@Suite("Audit log persisted")
struct AuditTests {
    @Test("token.issued goes to the log buffer, then to the database in one flush, without secrets")
    func bufferedThenPersisted() async throws {
        let harness = try await ServerHarness.make()
        try await harness.test { client in
            let ok = try await client.postForm("grant_type=password&username=alice&password=wonderland", authorization: harness.basic)
            #expect(ok.status == .ok)
        }
        let sink = try #require(harness.runtime.services.audit as? BufferedAuditSink)
        #expect(try await harness.store.auditEvents(AuditEventFilter()).isEmpty, "/token did not wait for the write")
        try await sink.flush()
        let events = try await harness.store.auditEvents(AuditEventFilter(clientID: "svc"))
        #expect(Set(events.map(\.kind)).isSuperset(of: [.tokenIssued, .loginSucceeded]))
        let text = events.map { "\($0)" }.joined()
        #expect(!text.contains("wonderland") && !text.contains(harness.clientSecret))
        #expect(sink.pending == 0)
    }
}
