import Synchronization
public import TesseraCore

/// Keeps audit events in memory so tests can assert on them.
public final class RecordingAuditSink: AuditSink {
    private let storage = Mutex<[AuditEvent]>([])
    public init() {}
    public func record(_ event: AuditEvent) { storage.withLock { $0.append(event) } }
    public var events: [AuditEvent] { storage.withLock { $0 } }
}
