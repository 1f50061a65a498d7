public import AsyncHTTPClient
public import Logging
public import TesseraCore

/// Makes the client for a configured upstream provider.
public enum UpstreamProviderClients {
    /// The default HTTP client for upstream providers: `HTTPClient.shared`'s settings, but redirects are not
    /// followed — a token request must not be replayed, with the code, verifier and maybe the secret in its
    /// body, to wherever a `307` points, nor a discovery or key request leave `https`. A redirect is an unusable
    /// answer instead; and a refused connection fails at once (a provider that is down answers the user quickly).
    /// Process-wide and never shut down, like `HTTPClient.shared`.
    public static let httpClient: HTTPClient = {
        var configuration = HTTPClient.Configuration.singletonConfiguration
        configuration.redirectConfiguration = .disallow
        // A refused connection fails the request at once instead of being retried until the time limit.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// The client for `settings`: an ``OpenIDConnectProviderClient`` for `.openIDConnect`, an ``OAuth2ProviderClient``
    /// for `.oauth2`.
    /// - Parameters:
    ///   - settings: The provider.
    ///   - clock: The time ID tokens are validated at.
    ///   - httpClient: The HTTP client; defaults to ``httpClient``, which does not follow redirects.
    ///   - timeout: The time allowed for each upstream request, body included.
    ///   - logger: Receives `oauth.federation.*` events; no-op by default.
    public static func make(_ settings: IdentityProviderSettings, clock: any TimeSource, httpClient: HTTPClient = UpstreamProviderClients.httpClient,
                            timeout: Duration = .seconds(10),
                            logger: Logger = Logger(label: "tessera.federation", factory: { _ in SwiftLogNoOpLogHandler() })) -> any UpstreamProviderClient {
        switch settings.kind {
        case .openIDConnect:
            OpenIDConnectProviderClient(settings: settings, clock: clock, httpClient: httpClient, timeout: timeout, logger: logger)
        case .oauth2:
            OAuth2ProviderClient(settings: settings, httpClient: httpClient, timeout: timeout)
        }
    }
}
