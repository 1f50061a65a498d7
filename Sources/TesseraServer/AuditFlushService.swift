import Foundation
import Logging
import ServiceLifecycle
import TesseraCore

/// Writes buffered audit events to the database every `interval`, and everything left on graceful
/// shutdown. Added before the HTTP server, so the ServiceGroup stops it after the server has drained:
/// a clean shutdown loses no event.
struct AuditFlushService: Service {
    let sink: BufferedAuditSink
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // Cancellation ends the loop too (the group cancels when another service fails, e.g. the server cannot
        // bind): the sleep then throws at once, and looping on it would spin a core forever.
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {}
            await flush()
        }
        // Retry the final flush a few times: this is the last chance for these events.
        for _ in 0..<3 where sink.pending > 0 {
            await flush()
        }
    }

    private func flush() async {
        do {
            try await sink.flush()
        } catch {
            logger.warning("audit flush failed; events kept for the next attempt",
                           metadata: ["pending": .stringConvertible(sink.pending), "error": .string(String(describing: error))])
        }
    }
}
