public import Foundation
import TesseraJOSE

/// Fetches a client's `jwks_uri` (and, later, other documents a client names) — the outbound HTTP path with its
/// SSRF guard lives outside the core (TesseraFederation's `OutboundDocumentFetcher`).
public protocol ClientDocumentFetcher: Sendable {
    /// The JSON document at `url` and how long it may be cached. Throws `invalid_client` with a description fit for
    /// the client when it cannot be fetched.
    func fetchDocument(_ url: String) async throws(OAuthError) -> FetchedDocument
}

extension ClientDocumentFetcher {
    /// The body of the JSON document at `url`.
    public func fetchJSON(_ url: String) async throws(OAuthError) -> Data { try await fetchDocument(url).body }
}

/// The ``ClientKeySource`` for `private_key_jwt`: a client's registered `jwks` parsed once per distinct text,
/// a `jwks_uri` fetched through ``ClientDocumentFetcher`` and cached per node for ``maximumAge``, refetched early
/// (a new `kid`) at most once per ``minimumRefreshInterval`` per URI.
public actor ClientKeys: ClientKeySource {
    private let fetcher: any ClientDocumentFetcher
    private let clock: any TimeSource
    /// How long a fetched key set is used. Default 5 minutes: a key the client removes stops working within it.
    public let maximumAge: TimeInterval
    /// The least time between two fetches of one URI. Default 30 s, so a stream of unknown `kid`s cannot turn
    /// Tessera into a request amplifier.
    public let minimumRefreshInterval: TimeInterval
    private var inline = BoundedFIFOCache<String, VerificationKeySet>(capacity: 256)
    private var fetched = BoundedFIFOCache<String, (keys: VerificationKeySet, at: Date)>(capacity: 256)

    public init(fetcher: any ClientDocumentFetcher, clock: any TimeSource, maximumAge: TimeInterval = 300, minimumRefreshInterval: TimeInterval = 30) {
        self.fetcher = fetcher
        self.clock = clock
        self.maximumAge = maximumAge
        self.minimumRefreshInterval = minimumRefreshInterval
    }

    public func keys(for client: Client, refresh: Bool) async throws(OAuthError) -> VerificationKeySet {
        if let jwks = client.jwks {
            if let cached = inline[jwks] { return cached }
            guard let keys = try? await VerificationKeySet(jwks: Data(jwks.utf8)) else {
                throw OAuthError.invalidClient("The client's registered jwks is not a JSON Web Key Set.")
            }
            inline.insert(keys, for: jwks)
            return keys
        }
        guard let uri = client.jwksURI else {
            throw OAuthError.invalidClient("The client has registered no keys (jwks or jwks_uri).")
        }
        let now = clock.now
        if let cached = fetched[uri] {
            let age = now.timeIntervalSince(cached.at)
            let fresh = age >= 0 && age < maximumAge
            let mayRefetch = age < 0 || age >= minimumRefreshInterval
            if fresh && (!refresh || !mayRefetch) { return cached.keys }
        }
        let data = try await fetcher.fetchJSON(uri)
        guard let keys = try? await VerificationKeySet(jwks: data) else {
            throw OAuthError.invalidClient("The client's jwks_uri did not answer a JSON Web Key Set.")
        }
        fetched.insert((keys, now), for: uri)
        return keys
    }
}
