import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import TesseraServer
import Testing

/// The connection guard on an `EmbeddedChannel` (virtual time): the slowloris timeouts and the connection bound.
@Suite("Connection guard (head, body and idle timeouts; maxConnections)")
struct ConnectionGuardTests {
    let timeouts = ConnectionTimeouts(head: .seconds(10), body: .seconds(30), idle: .seconds(60))

    func connection(_ limit: ConnectionLimit) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(HTTP1Channel.Configuration.guarded(timeouts: timeouts, limit: limit).additionalChannelHandlers())
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        return channel
    }

    var head: HTTPRequestPart { .head(HTTPRequest(method: .post, scheme: "http", authority: "x", path: "/token")) }

    @Test("A connection that sends nothing is closed when the head timeout ends, not before")
    func silent() throws {
        let channel = try connection(ConnectionLimit(maximum: 10))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test("After the head, the body has the body timeout; a complete request has no timer while it is answered")
    func bodyThenResponding() throws {
        let channel = try connection(ConnectionLimit(maximum: 10))
        try channel.writeInbound(head)
        channel.embeddedEventLoop.advanceTime(by: .seconds(29))
        #expect(channel.isActive, "the head timeout no longer applies once the head is in")
        try channel.writeInbound(HTTPRequestPart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(600))
        #expect(channel.isActive, "a slow handler is not the client's fault")
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive, "idle keep-alive connection closed after the idle timeout")
    }

    @Test("Half a body is closed when the body timeout ends")
    func halfBody() throws {
        let channel = try connection(ConnectionLimit(maximum: 10))
        try channel.writeInbound(head)
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "grant_type=")))
        channel.embeddedEventLoop.advanceTime(by: .seconds(30))
        #expect(!channel.isActive)
    }

    @Test("Connections over the bound are closed at once; closing one frees its slot")
    func bound() throws {
        let limit = ConnectionLimit(maximum: 2)
        let first = try connection(limit)
        let second = try connection(limit)
        #expect(limit.current == 2)
        let third = try connection(limit)
        #expect(!third.isActive)
        #expect(first.isActive && second.isActive)
        #expect(limit.current == 2, "a refused connection gives its count back")
        try first.close().wait()
        #expect(limit.current == 1)
        let fourth = try connection(limit)
        #expect(fourth.isActive)
    }
}

@Suite("Connection and metrics settings")
struct ConnectionSettingsTests {
    @Test("TESSERA_HEADER/BODY/IDLE_TIMEOUT, TESSERA_MAX_CONNECTIONS and TESSERA_METRICS_TOKEN(_FILE) are read and checked")
    func environment() throws {
        var configuration = TesseraConfiguration()
        #expect(configuration.connectionTimeouts == ConnectionTimeouts(head: .seconds(10), body: .seconds(30), idle: .seconds(60)))
        #expect(configuration.maxConnections == 10_000 && configuration.metricsToken == nil)
        try configuration.apply(environment: ["TESSERA_HEADER_TIMEOUT": "2", "TESSERA_BODY_TIMEOUT": "3", "TESSERA_IDLE_TIMEOUT": "4",
                                              "TESSERA_MAX_CONNECTIONS": "5", "TESSERA_METRICS_TOKEN": "0123456789abcdef"])
        try configuration.validate()
        #expect(configuration.connectionTimeouts == ConnectionTimeouts(head: .seconds(2), body: .seconds(3), idle: .seconds(4)))
        #expect(configuration.maxConnections == 5 && configuration.metricsToken == "0123456789abcdef")

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-token-\(UUID().uuidString)")
        try Data("from-a-file-0123456789\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        try configuration.apply(environment: ["TESSERA_METRICS_TOKEN_FILE": file.path])
        #expect(configuration.metricsToken == "from-a-file-0123456789")
        #expect(throws: TesseraConfiguration.Invalid.self) { try configuration.apply(environment: ["TESSERA_METRICS_TOKEN_FILE": "/no/such/file"]) }

        for bad: (inout TesseraConfiguration) -> Void in [{ $0.headerTimeout = 0 }, { $0.bodyTimeout = 0 }, { $0.idleTimeout = 0 },
                                                           { $0.maxConnections = 0 }, { $0.metricsToken = "short" },
                                                           { $0.metricsToken = "0123456789abcdef ghij" }, { $0.metricsToken = "0123456789abcdef!" },
                                                           { $0.metricsToken = "0123456789abcdef\u{00E9}" }] {
            var invalid = TesseraConfiguration()
            bad(&invalid)
            #expect(throws: TesseraConfiguration.Invalid.self) { try invalid.validate() }
        }
    }
}
