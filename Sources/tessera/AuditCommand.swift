import ArgumentParser
import Foundation
import TesseraCore
import TesseraStore

/// `tessera audit`: lists the persisted audit log, newest first.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "List audit events, newest first.")
    @OptionGroup var common: CommonOptions
    @Option(help: "Only events about this user (username or user id).") var user: String?
    @Option(help: "Only events of this client id.") var client: String?
    @Option(help: "Only events of this type, e.g. token.issued, login.failed, account.locked.") var type: String?
    @Option(help: "Only events at or after this ISO 8601 instant, e.g. 2026-11-23T00:00:00Z.") var since: String?
    @Option(help: "At most this many events.") var limit: Int = 100
    @Flag(help: "Print each event as JSON.") var json = false

    struct Line: Encodable {
        let at: String
        let type: String
        let client_id: String?
        let sub: String?
        let detail: [String: String]
    }

    func run() async throws {
        try await reportingErrors {
            var filter = AuditEventFilter(clientID: client, kind: type.map(AuditEvent.Kind.init(rawValue:)), limit: max(1, limit))
            if let since {
                guard let date = ISO8601DateFormatter().date(from: since) else {
                    throw ValidationError("--since must be an ISO 8601 instant such as 2026-11-23T00:00:00Z")
                }
                filter.since = date
            }
            let user = self.user
            let base = filter
            let events = try await withProvisioning(common) { _, store, _ in
                var filter = base
                if let user { filter.subject = try await store.user(username: user)?.id ?? user }
                return try await store.auditEvents(filter)
            }
            for event in events {
                let line = Line(at: isoFormatter(event.at), type: event.kind.rawValue, client_id: event.clientID, sub: event.subject, detail: event.detail)
                if json {
                    printJSON(line)
                } else {
                    let detail = event.detail.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    print("\(line.at)\t\(line.type)\tclient=\(event.clientID ?? "-")\tsub=\(event.subject ?? "-")\t\(detail)")
                }
            }
            if events.isEmpty, !json { print("no audit events") }
        }
    }
}
