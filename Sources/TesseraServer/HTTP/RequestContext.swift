public import Hummingbird
public import NIOCore
public import TesseraJOSE

/// The request context of every Tessera route.
public struct TesseraRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer address (for rate limits and audit, before any proxy handling).
    public let remoteAddress: SocketAddress?
    /// The client behind trusted proxies and the scheme it used (set by `ForwardedHeadersMiddleware`).
    public var origin: ForwardedOrigin?
    /// The `Authorization` header as HTTP Basic, when `RateLimitMiddleware` already parsed it.
    public var basicAuthorization: BasicAuthorization?
    /// The client's IP address for rate limits and audit: the rightmost untrusted `X-Forwarded-For` hop when
    /// the peer is a trusted proxy (`--trusted-proxy`), else the peer's address; `unknown` without either.
    public var clientIP: String { origin?.clientIP ?? remoteAddress?.ipAddress ?? "unknown" }

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }
}
