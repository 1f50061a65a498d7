public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1

/// Fetches an issuer's JSON Web Key Set (RFC 7517 §5).
///
/// ``JWKSCache`` calls this when it starts, when its keys grow old and when a token names an
/// unknown `kid`. Conform to it to load keys from somewhere other than HTTP, or in tests.
public protocol JWKSFetcher: Sendable {
    /// Returns the raw JSON document of the key set (`{"keys": [...]}`).
    func fetchJWKS() async throws -> Data
}

/// Fetches a key set over HTTP(S) with AsyncHTTPClient.
public struct HTTPJWKSFetcher: JWKSFetcher {
    /// Where the key set is found.
    public enum Source: Sendable, Hashable {
        /// The key set is at this URL, e.g. `https://auth.example.com/jwks.json`.
        case jwksURI(String)
        /// Read `jwks_uri` from the issuer's RFC 8414 metadata
        /// (`/.well-known/oauth-authorization-server`), checking that its `issuer` matches.
        case authorizationServerMetadata(issuer: String)
    }

    /// Where the key set is found.
    public let source: Source
    /// The time allowed for each HTTP request. Default 10 seconds.
    public var timeout: Duration
    /// The largest response body accepted. Default 1 MiB.
    public var maximumResponseSize: Int
    private let httpClient: HTTPClient

    /// Creates a fetcher.
    /// - Parameters:
    ///   - source: Where the key set is found.
    ///   - httpClient: The client to use; defaults to the process-wide `HTTPClient.shared`.
    ///   - timeout: The time allowed for each HTTP request.
    ///   - maximumResponseSize: The largest response body accepted, in bytes.
    public init(
        source: Source,
        httpClient: HTTPClient = .shared,
        timeout: Duration = .seconds(10),
        maximumResponseSize: Int = 1 << 20
    ) {
        self.source = source
        self.httpClient = httpClient
        self.timeout = timeout
        self.maximumResponseSize = maximumResponseSize
    }

    /// Creates a fetcher for the key set at `jwksURI`.
    public init(jwksURI: String, httpClient: HTTPClient = .shared) {
        self.init(source: .jwksURI(jwksURI), httpClient: httpClient)
    }

    /// Creates a fetcher for Tessera's key set at `<issuer>/jwks.json`.
    public init(issuer: String, httpClient: HTTPClient = .shared) {
        self.init(source: .jwksURI(Self.jwksURI(forIssuer: issuer)), httpClient: httpClient)
    }

    /// The conventional Tessera key set location for an issuer: `<issuer>/jwks.json`.
    public static func jwksURI(forIssuer issuer: String) -> String {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/jwks.json"
    }

    /// Fetches the key set, first reading the metadata if the source says so.
    /// - Throws: ``JWKSFetchError`` for a non-200 answer or bad metadata, or the HTTP client's error.
    public func fetchJWKS() async throws -> Data {
        switch self.source {
        case .jwksURI(let uri):
            return try await self.get(uri)
        case .authorizationServerMetadata(let issuer):
            let metadataURI = try Self.metadataURI(forIssuer: issuer)
            let metadataData = try await self.get(metadataURI)
            let metadata: AuthorizationServerMetadata
            do {
                metadata = try JSONDecoder().decode(AuthorizationServerMetadata.self, from: metadataData)
            } catch {
                throw JWKSFetchError("the authorization server metadata is not valid JSON with a jwks_uri")
            }
            // RFC 8414 §3.3: the issuer in the metadata must be identical to the one we asked for.
            guard metadata.issuer == issuer else {
                throw JWKSFetchError("the authorization server metadata names a different issuer")
            }
            return try await self.get(metadata.jwksURI)
        }
    }

    /// RFC 8414 §3.1: the well-known segment goes between the host and any path of the issuer.
    public static func metadataURI(forIssuer issuer: String) throws -> String {
        guard var components = URLComponents(string: issuer), components.host != nil else {
            throw JWKSFetchError("the issuer is not an absolute URL")
        }
        var path = components.path
        while path.hasSuffix("/") { path.removeLast() }
        components.path = "/.well-known/oauth-authorization-server" + path
        components.query = nil
        components.fragment = nil
        guard let string = components.string else {
            throw JWKSFetchError("the issuer is not an absolute URL")
        }
        return string
    }

    private func get(_ uri: String) async throws -> Data {
        var request = HTTPClientRequest(url: uri)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        let components = self.timeout.components
        let timeout = TimeAmount.seconds(components.seconds) + .nanoseconds(components.attoseconds / 1_000_000_000)
        let response = try await self.httpClient.execute(request, timeout: timeout)
        guard response.status == .ok else {
            throw JWKSFetchError("GET \(uri) returned HTTP \(response.status.code)")
        }
        var body = try await response.body.collect(upTo: self.maximumResponseSize)
        return Data(body.readBytes(length: body.readableBytes) ?? [])
    }
}

/// An error fetching a key set. Its description is for logs.
public struct JWKSFetchError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    /// Creates an error.
    public init(_ description: String) {
        self.description = description
    }
}

private struct AuthorizationServerMetadata: Decodable {
    let issuer: String
    let jwksURI: String

    enum CodingKeys: String, CodingKey {
        case issuer
        case jwksURI = "jwks_uri"
    }
}
