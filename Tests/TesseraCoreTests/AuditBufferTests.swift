import Foundation
import Synchronization
import TesseraCore
import TesseraTesting
import Testing

/// An audit store whose availability the test switches, like a database going down and coming back.
private final class SwitchableAuditStore: AuditEventStore {
    private let state = Mutex<(up: Bool, events: [AuditEvent])>((true, []))
    func setUp(_ up: Bool) { state.withLock { $0.up = up } }
    var stored: [AuditEvent] { state.withLock { $0.events } }

    func insertAuditEvents(_ events: [AuditEvent]) async throws {
        try state.withLock { state in
            guard state.up else { throw StoreDown() }
            state.events.append(contentsOf: events)
        }
    }
    func auditEvents(_ filter: AuditEventFilter) async throws -> [AuditEvent] { stored.filter(filter.matches) }
    struct StoreDown: Error {}
}

/// An audit store that records each call's batch and fails the call numbered `failingCall` (1-based), once.
private final class BatchRecordingAuditStore: AuditEventStore {
    private let state = Mutex<(calls: Int, batches: [[AuditEvent]], failingCall: Int?)>((0, [], nil))
    init(failingCall: Int?) { state.withLock { $0.failingCall = failingCall } }
    var batches: [[AuditEvent]] { state.withLock { $0.batches } }

    func insertAuditEvents(_ events: [AuditEvent]) async throws {
        try state.withLock { state in
            state.calls += 1
            if state.calls == state.failingCall { state.failingCall = nil; throw Failed() }
            state.batches.append(events)
        }
    }
    func auditEvents(_ filter: AuditEventFilter) async throws -> [AuditEvent] { batches.flatMap { $0 }.filter(filter.matches) }
    struct Failed: Error {}
}

@Suite("Buffered audit sink")
struct AuditBufferTests {
    let epoch = Date(timeIntervalSince1970: 1_800_000_000)

    func event(_ n: Int) -> AuditEvent { AuditEvent(.tokenIssued, at: epoch.addingTimeInterval(Double(n)), clientID: "c-\(n)") }

    @Test("events wait while the database is down and are written in order when it returns")
    func keepsEventsAcrossAnOutage() async throws {
        let store = SwitchableAuditStore()
        let logged = RecordingAuditSink()
        let sink = BufferedAuditSink(store: store, next: logged, capacity: 100)
        store.setUp(false)
        for n in 0..<5 { sink.record(event(n)) }
        await #expect(throws: SwitchableAuditStore.StoreDown.self) { try await sink.flush() }
        sink.record(event(5))
        #expect(sink.pending == 6)
        store.setUp(true)
        try await sink.flush()
        #expect(sink.pending == 0)
        #expect(store.stored.map(\.clientID) == (0..<6).map { "c-\($0)" })
        #expect(logged.events.count == 6, "every event is logged at once, whatever the database does")
    }

    @Test("the buffer is bounded: an outage keeps the newest events and counts the dropped ones")
    func boundedDuringOutage() async throws {
        let store = SwitchableAuditStore()
        let sink = BufferedAuditSink(store: store, next: RecordingAuditSink(), capacity: 10)
        store.setUp(false)
        for n in 0..<25 { sink.record(event(n)) }
        #expect(sink.pending == 10)
        #expect(sink.dropped == 15)
        store.setUp(true)
        try await sink.flush()
        #expect(store.stored.map(\.clientID) == (15..<25).map { "c-\($0)" })
        #expect(sink.dropped == 0, "the drop count is reported once, at the next flush")
    }

    @Test("a backlog is written in batches of batchSize; a failed batch and the later ones are kept, earlier ones never written twice")
    func batchedFlush() async throws {
        let store = BatchRecordingAuditStore(failingCall: 3)
        let sink = BufferedAuditSink(store: store, next: RecordingAuditSink(), capacity: 1_000, batchSize: 4)
        for n in 0..<10 { sink.record(event(n)) }
        await #expect(throws: BatchRecordingAuditStore.Failed.self) { try await sink.flush() }
        #expect(store.batches.map(\.count) == [4, 4], "the third batch failed")
        #expect(sink.pending == 2)
        sink.record(event(10))
        try await sink.flush()
        #expect(store.batches.map(\.count) == [4, 4, 3])
        #expect(store.batches.flatMap { $0 }.map(\.clientID) == (0..<11).map { "c-\($0)" }, "each event once, in order")
        #expect(sink.pending == 0)
    }
}
