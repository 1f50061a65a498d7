public import HummingbirdCore
public import NIOCore
import NIOHTTPTypes
import Synchronization

/// How long one HTTP/1.1 connection may take at each stage before it is closed (slowloris defence:
/// a connection that sends half a head, half a body, or nothing must not hold a socket forever).
public struct ConnectionTimeouts: Sendable, Equatable {
    /// From connecting, or from the first byte of a keep-alive connection's next request, until the whole request head is in.
    public var head: TimeAmount
    /// From the request head until the whole body is in.
    public var body: TimeAmount
    /// From the end of a response until the next request starts (keep-alive, RFC 9112 §9.3).
    public var idle: TimeAmount

    public init(head: TimeAmount, body: TimeAmount, idle: TimeAmount) {
        self.head = head
        self.body = body
        self.idle = idle
    }
}

/// The number of open connections of one server, shared by all its connections.
public final class ConnectionLimit: Sendable {
    /// Most connections open at once; one more is closed as soon as it is accepted.
    public let maximum: Int
    private let open = Atomic<Int>(0)

    public init(maximum: Int) { self.maximum = maximum }

    /// Connections open now (including any being refused).
    public var current: Int { open.load(ordering: .relaxed) }

    /// Counts a new connection; `false` when it is over the bound (it must be closed, and still `release()`d).
    func admit() -> Bool { open.add(1, ordering: .relaxed).newValue <= maximum }

    func release() { open.subtract(1, ordering: .relaxed) }
}

/// Enforces ``ConnectionTimeouts`` and ``ConnectionLimit`` on one connection. It sits in Hummingbird's HTTP/1.1
/// pipeline after the HTTP codec (`HTTP1Channel.Configuration.additionalChannelHandlers`), so it sees request
/// parts and response parts; a small companion at the front of the pipeline tells it when raw bytes arrive,
/// so an idle keep-alive connection that starts a request gets the head timeout, not the idle one.
///
/// One timer at a time: head (until `.head`), body (until `.end`), none while the response is being produced,
/// idle (after the last response's `.end`). When it fires the connection is closed.
final class ConnectionGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Phase { case awaitingHead, readingBody, responding, idle }

    private let timeouts: ConnectionTimeouts
    private let limit: ConnectionLimit
    private var phase = Phase.awaitingHead
    /// Requests read whose response has not ended (more than one when the client pipelines).
    private var inFlight = 0
    private var timer: Scheduled<Void>?
    private var started = false
    private var counted = false

    init(timeouts: ConnectionTimeouts, limit: ConnectionLimit) {
        self.timeouts = timeouts
        self.limit = limit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let observer = ReadObserver { [weak self] in self?.bytesArrived(context: context) }
        do {
            try context.pipeline.syncOperations.addHandler(observer, position: .first)
        } catch {
            context.fireErrorCaught(error)
        }
        if context.channel.isActive { start(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        releaseSlot()
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        releaseSlot()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            inFlight += 1
            phase = .readingBody
            arm(timeouts.body, context)
        case .body:
            break
        case .end:
            phase = .responding
            cancelTimer()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inFlight -= 1
            if inFlight == 0, phase == .responding {
                phase = .idle
                arm(timeouts.idle, context)
            }
        }
        context.write(data, promise: promise)
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        counted = true
        guard limit.admit() else {
            context.close(promise: nil)
            return
        }
        arm(timeouts.head, context)
    }

    /// Raw bytes arrived: on an idle connection, a new request has begun.
    private func bytesArrived(context: ChannelHandlerContext) {
        guard phase == .idle else { return }
        phase = .awaitingHead
        arm(timeouts.head, context)
    }

    private func arm(_ timeout: TimeAmount, _ context: ChannelHandlerContext) {
        cancelTimer()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            self?.timer = nil
            context.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func releaseSlot() {
        guard counted else { return }
        counted = false
        limit.release()
    }
}

/// Passes raw inbound bytes on unchanged, calling `onRead` for each read.
private final class ReadObserver: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private let onRead: () -> Void

    init(onRead: @escaping () -> Void) { self.onRead = onRead }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        onRead()
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension ConnectionGuardHandler: Sendable {}

@available(*, unavailable)
extension ReadObserver: Sendable {}

extension HTTP1Channel.Configuration {
    /// HTTP/1.1 settings with a ``ConnectionGuardHandler`` in every connection, all sharing `limit`.
    public static func guarded(timeouts: ConnectionTimeouts, limit: ConnectionLimit) -> Self {
        .init(additionalChannelHandlers: [ConnectionGuardHandler(timeouts: timeouts, limit: limit)])
    }
}
