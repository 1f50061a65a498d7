import AsyncHTTPClient
import Logging
import TesseraCore

/// Makes the client for a configured upstream provider.
public enum UpstreamProviderClients {
    /// The client for `settings`: an ``OpenIDConnectProviderClient`` for `.openIDConnect`, an ``OAuth2ProviderClient``
    /// for `.oauth2`.
    /// - Parameters:
    ///   - settings: The provider.
    ///   - clock: The time ID tokens are validated at.
    ///   - httpClient: The HTTP client; defaults to `HTTPClient.shared`.
    ///   - timeout: The time allowed for each upstream request, body included.
    ///   - logger: Receives `federation.*` events; no-op by default.
    public static func make(_ settings: IdentityProviderSettings, clock: any TimeSource, httpClient: HTTPClient = .shared,
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
