import Foundation
import TesseraCore

/// The members of an OpenID provider's discovery document (OIDC Discovery 1.0 §3) that the relying party uses.
struct OpenIDProviderMetadata: Sendable, Hashable {
    var issuer: String
    var authorizationEndpoint: String
    var tokenEndpoint: String
    var jwksURI: String
    var userinfoEndpoint: String?
    /// `token_endpoint_auth_methods_supported`; `nil` when absent (the default is `client_secret_basic`).
    var tokenEndpointAuthMethods: [String]?
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3).
    var issuerParameterSupported: Bool
    /// `id_token_signing_alg_values_supported`; `nil` when absent.
    var idTokenSigningAlgorithms: [String]?

    /// The discovery document's URL: `<issuer>/.well-known/openid-configuration` (OIDC Discovery §4.1).
    static func discoveryURL(issuer: String) -> String {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/.well-known/openid-configuration"
    }

    /// Reads and checks a discovery document for `issuer`.
    init(document: [String: JSONValue], expectedIssuer: String) throws(FederationFailure) {
        // OIDC Discovery §4.3: the issuer in the document must be exactly the one it was fetched for.
        guard let issuer = document["issuer"]?.stringValue, issuer == expectedIssuer else {
            throw .providerUnavailable(detail: "the discovery document of \(expectedIssuer) names another issuer")
        }
        func endpoint(_ name: String, required: Bool) throws(FederationFailure) -> String? {
            guard let value = document[name]?.stringValue else {
                if required { throw .providerUnavailable(detail: "the discovery document of \(issuer) has no \(name)") }
                return nil
            }
            guard UpstreamURLPolicy.isAcceptable(value) else {
                throw .providerUnavailable(detail: "the discovery document of \(issuer) has a \(name) that is not https")
            }
            return value
        }
        self.issuer = issuer
        self.authorizationEndpoint = try endpoint("authorization_endpoint", required: true)!
        self.tokenEndpoint = try endpoint("token_endpoint", required: true)!
        self.jwksURI = try endpoint("jwks_uri", required: true)!
        // An unusable userinfo endpoint only loses an optional lookup.
        self.userinfoEndpoint = (try? endpoint("userinfo_endpoint", required: false)) ?? nil
        self.tokenEndpointAuthMethods = document["token_endpoint_auth_methods_supported"]?.stringArray
        self.issuerParameterSupported = document["authorization_response_iss_parameter_supported"]?.boolValue ?? false
        self.idTokenSigningAlgorithms = document["id_token_signing_alg_values_supported"]?.stringArray
    }

    /// `client_secret_basic`, unless the provider lists `client_secret_post` and not `client_secret_basic`.
    var clientAuthentication: UpstreamClientAuthentication {
        guard let methods = self.tokenEndpointAuthMethods else { return .clientSecretBasic }
        return methods.contains("client_secret_post") && !methods.contains("client_secret_basic") ? .clientSecretPost : .clientSecretBasic
    }
}

/// An OpenID provider's discovery document and signing keys, fetched on demand and cached.
///
/// The document is fetched on first use, again after ``maximumMetadataAge``, and again after its endpoints failed
/// (``markMetadataStale()``); a failed fetch is not cached (the next sign-in tries again), and a failed refresh
/// keeps the previous document. The key set is fetched on
/// first use, after ``maximumKeyAge``, and when an ID token names an unknown key — at most once per
/// ``minimumKeyRefreshInterval``, so forged `kid`s cannot make Tessera hammer the provider. Concurrent callers
/// share one fetch.
actor OpenIDProviderCache {
    let issuer: String
    private let http: UpstreamHTTP
    private let clock: any TimeSource
    let maximumMetadataAge: TimeInterval
    let maximumKeyAge: TimeInterval
    let minimumKeyRefreshInterval: TimeInterval

    private var metadata: (value: OpenIDProviderMetadata, fetchedAt: Date)?
    private var metadataFetch = SharedFetch<OpenIDProviderMetadata>()
    private var keys: UpstreamKeySet?
    private var keysFetch = SharedFetch<UpstreamKeySet>()
    private var lastKeysAttempt: Date?

    init(issuer: String, http: UpstreamHTTP, clock: any TimeSource, maximumMetadataAge: TimeInterval = 3600,
         maximumKeyAge: TimeInterval = 3600, minimumKeyRefreshInterval: TimeInterval = 30) {
        self.issuer = issuer
        self.http = http
        self.clock = clock
        self.maximumMetadataAge = maximumMetadataAge
        self.maximumKeyAge = maximumKeyAge
        self.minimumKeyRefreshInterval = minimumKeyRefreshInterval
    }

    /// The provider's metadata, fetched if not cached or stale.
    func currentMetadata() async throws(FederationFailure) -> OpenIDProviderMetadata {
        let now = self.clock.now
        if let metadata, Self.isFresh(metadata.fetchedAt, now: now, maximumAge: self.maximumMetadataAge) {
            return metadata.value
        }
        let result: Result<OpenIDProviderMetadata, FederationFailure>
        if self.metadataFetch.isRunning {
            result = await withCheckedContinuation { self.metadataFetch.waiters.append($0) }
        } else {
            self.metadataFetch.isRunning = true
            result = await Self.fetchMetadata(issuer: self.issuer, http: self.http)
            if case .success(let value) = result { self.metadata = (value, now) }
            self.metadataFetch.finish(with: result)
        }
        switch result {
        case .success(let value):
            return value
        case .failure(let failure):
            // A provider briefly down keeps working with the document it last served.
            if let metadata { return metadata.value }
            throw failure
        }
    }

    /// Marks the cached document stale after its endpoints failed, so the next sign-in fetches it again (the
    /// provider may have moved them); it stays the fallback if that fetch fails.
    func markMetadataStale() {
        if let metadata { self.metadata = (metadata.value, .distantPast) }
    }

    /// The key that verifies a signature by `algorithm` under `kid` (or the only such key, without a `kid`).
    func verificationKey(kid: String?, algorithm: String, jwksURI: String) async throws(FederationFailure) -> UpstreamKeySet.Key {
        let now = self.clock.now
        if let keys, keys.uri == jwksURI, Self.isFresh(keys.fetchedAt, now: now, maximumAge: self.maximumKeyAge),
            let key = keys.key(kid: kid, algorithm: algorithm) {
            return key
        }
        let mayRefetch: Bool
        if let keys, keys.uri == jwksURI, Self.isFresh(keys.fetchedAt, now: now, maximumAge: self.maximumKeyAge),
            let lastKeysAttempt {
            let elapsed = now.timeIntervalSince(lastKeysAttempt)
            mayRefetch = elapsed >= self.minimumKeyRefreshInterval || elapsed < 0
        } else {
            mayRefetch = true
        }
        if self.keysFetch.isRunning || mayRefetch {
            let result: Result<UpstreamKeySet, FederationFailure>
            if self.keysFetch.isRunning {
                result = await withCheckedContinuation { self.keysFetch.waiters.append($0) }
            } else {
                self.keysFetch.isRunning = true
                self.lastKeysAttempt = now
                result = await Self.fetchKeys(uri: jwksURI, http: self.http, now: now)
                if case .success(let fetched) = result { self.keys = fetched }
                self.keysFetch.finish(with: result)
            }
            if case .failure(let failure) = result, self.keys?.uri != jwksURI { throw failure }
        }
        guard let keys = self.keys, keys.uri == jwksURI else {
            throw .providerUnavailable(detail: "the key set of \(self.issuer) is unavailable")
        }
        guard let key = keys.key(kid: kid, algorithm: algorithm) else {
            throw .invalidIDToken(detail: "no \(algorithm) key \(kid.map { "with kid \($0)" } ?? "without a kid") in the provider's key set")
        }
        return key
    }

    private static func isFresh(_ fetchedAt: Date, now: Date, maximumAge: TimeInterval) -> Bool {
        let age = now.timeIntervalSince(fetchedAt)
        return age >= 0 && age < maximumAge
    }

    private static func fetchMetadata(issuer: String, http: UpstreamHTTP) async -> Result<OpenIDProviderMetadata, FederationFailure> {
        do throws(FederationFailure) {
            guard UpstreamURLPolicy.isAcceptable(issuer) else {
                throw .providerUnavailable(detail: "the issuer \(issuer) is not an https URL")
            }
            let url = OpenIDProviderMetadata.discoveryURL(issuer: issuer)
            let response = try await http.get(url, headers: [("Accept", "application/json")])
            guard response.status == 200 else {
                throw .providerUnavailable(detail: "\(UpstreamHTTP.describe(url)) answered HTTP \(response.status)")
            }
            guard let document = response.jsonObject else {
                throw .providerUnavailable(detail: "\(UpstreamHTTP.describe(url)) did not answer a JSON object")
            }
            return .success(try OpenIDProviderMetadata(document: document, expectedIssuer: issuer))
        } catch {
            return .failure(error)
        }
    }

    private static func fetchKeys(uri: String, http: UpstreamHTTP, now: Date) async -> Result<UpstreamKeySet, FederationFailure> {
        do throws(FederationFailure) {
            let response = try await http.get(uri, headers: [("Accept", "application/json")])
            guard response.status == 200 else {
                throw .providerUnavailable(detail: "\(UpstreamHTTP.describe(uri)) answered HTTP \(response.status)")
            }
            return .success(try await UpstreamKeySet(jwks: response.body, uri: uri, fetchedAt: now))
        } catch {
            return .failure(error)
        }
    }
}

/// One fetch at a time: callers that arrive while it runs wait for its result instead of fetching again.
/// Lives inside an actor, which serializes every access.
struct SharedFetch<Value: Sendable> {
    var isRunning = false
    var waiters: [CheckedContinuation<Result<Value, FederationFailure>, Never>] = []

    /// Ends the fetch and hands `result` to every waiter.
    mutating func finish(with result: Result<Value, FederationFailure>) {
        self.isRunning = false
        let waiters = self.waiters
        self.waiters = []
        for waiter in waiters { waiter.resume(returning: result) }
    }
}
