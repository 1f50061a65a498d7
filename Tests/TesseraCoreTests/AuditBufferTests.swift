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
}
