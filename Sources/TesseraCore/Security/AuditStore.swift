import Foundation
import Logging
import Synchronization

/// Persisted audit events (issue 6), newest first when read back.
public protocol AuditEventStore: Sendable {
    /// Appends events in one batch.
    func insertAuditEvents(_ events: [AuditEvent]) async throws
    /// Events matching `filter`, newest first.
    func auditEvents(_ filter: AuditEventFilter) async throws -> [AuditEvent]
}

/// What `tessera audit` asks for. `nil` fields match everything.
public struct AuditEventFilter: Sendable, Equatable {
    public var subject: String?
    public var clientID: String?
    public var kind: AuditEvent.Kind?
    public var since: Date?
    public var limit: Int
    public init(subject: String? = nil, clientID: String? = nil, kind: AuditEvent.Kind? = nil, since: Date? = nil, limit: Int = 100) {
        self.subject = subject
        self.clientID = clientID
        self.kind = kind
        self.since = since
        self.limit = limit
    }

    public func matches(_ event: AuditEvent) -> Bool {
        (subject == nil || event.subject == subject) && (clientID == nil || event.clientID == clientID)
            && (kind == nil || event.kind == kind) && (since.map { event.at >= $0 } ?? true)
    }
}

/// An audit sink that logs each event at once (through `next`) and keeps it in a buffer that `flush`
/// writes to the database in one batch, so `/token` never waits for the audit write.
public final class BufferedAuditSink: AuditSink {
    private let buffer = Mutex<[AuditEvent]>([])
    public let store: any AuditEventStore
    public let next: any AuditSink
    public let logger: Logger

    public init(store: any AuditEventStore, next: any AuditSink, logger: Logger = Logger(label: "tessera.audit")) {
        self.store = store
        self.next = next
        self.logger = logger
    }

    public func record(_ event: AuditEvent) {
        next.record(event)
        buffer.withLock { $0.append(event) }
    }

    /// Writes every buffered event. On failure the events go back to the front of the buffer.
    public func flush() async throws {
        let batch = buffer.withLock { buffer in
            let batch = buffer
            buffer.removeAll()
            return batch
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.insertAuditEvents(batch)
        } catch {
            buffer.withLock { $0.insert(contentsOf: batch, at: 0) }
            throw error
        }
    }

    public var pending: Int { buffer.withLock { $0.count } }
}
