public import Foundation
public import Logging
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
///
/// The buffer is bounded by `capacity`: while the database is unreachable it keeps the newest events
/// and counts the oldest it had to drop (they were still emitted through `next`, i.e. swift-log), so an
/// outage cannot grow memory without limit.
public final class BufferedAuditSink: AuditSink {
    private struct State {
        var events: [AuditEvent] = []
        var dropped = 0
    }
    private let state = Mutex(State())
    public let store: any AuditEventStore
    public let next: any AuditSink
    public let logger: Logger
    /// The most events kept in memory waiting for the database.
    public let capacity: Int
    /// The most events written in one store call by ``flush()``.
    public let batchSize: Int

    public init(store: any AuditEventStore, next: any AuditSink, capacity: Int = 100_000, batchSize: Int = 512,
                logger: Logger = Logger(label: "tessera.audit")) {
        self.store = store
        self.next = next
        self.capacity = max(1, capacity)
        self.batchSize = max(1, batchSize)
        self.logger = logger
    }

    public func record(_ event: AuditEvent) {
        next.record(event)
        state.withLock { state in
            state.events.append(event)
            if state.events.count > capacity {
                let excess = state.events.count - capacity
                state.events.removeFirst(excess)
                state.dropped += excess
            }
        }
    }

    /// Events dropped from the buffer (oldest first) because the database could not keep up.
    public var dropped: Int { state.withLock { $0.dropped } }

    /// Writes every buffered event, in batches of at most ``batchSize`` (one store call each), so a large backlog
    /// never holds the database's writer for long at a time (SQLite has one): requests that write interleave
    /// with the flush. On failure the batch that failed and every later one go back to the front of the buffer;
    /// batches already written stay written.
    public func flush() async throws {
        let (events, dropped) = state.withLock { state in
            let taken = (state.events, state.dropped)
            state.events.removeAll()
            state.dropped = 0
            return taken
        }
        if dropped > 0 {
            logger.error("audit buffer was full; oldest events were not persisted (they were logged)",
                         metadata: ["dropped": .stringConvertible(dropped)])
        }
        var start = 0
        while start < events.count {
            let end = min(start + batchSize, events.count)
            do {
                try await store.insertAuditEvents(Array(events[start..<end]))
            } catch {
                let unwritten = events[start...]
                state.withLock { state in
                    state.events.insert(contentsOf: unwritten, at: 0)
                    if state.events.count > capacity {
                        let excess = state.events.count - capacity
                        state.events.removeFirst(excess)
                        state.dropped += excess
                    }
                }
                throw error
            }
            start = end
        }
    }

    public var pending: Int { state.withLock { $0.events.count } }
}
