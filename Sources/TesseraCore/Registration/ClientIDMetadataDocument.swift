public import Foundation
import TesseraJOSE

/// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a `client_id` that is an https URL
/// names a JSON document of RFC 7591 client metadata, published by the client at that URL. The MCP authorization
/// spec's preferred way for an agent to identify itself without registering.
public enum ClientIDMetadataDocument {
    /// What the operator allows (`TESSERA_CLIENT_ID_METADATA_DOCUMENTS…`).
    public struct Policy: Sendable {
        /// Hosts whose documents are accepted (exact, case-insensitive); empty = any host the fetch guard allows.
        public var allowedHosts: Set<String>
        /// Hosts whose documents are refused, whatever ``allowedHosts`` says.
        public var blockedHosts: Set<String>
        /// The most such a client may be granted (the document's `scope` narrows it).
        public var scopes: ScopeSet
        /// The resources (RFC 8707) such a client may ask tokens for.
        public var resources: [String]
        /// How long a fetched document is used: the answer's `Cache-Control: max-age`, kept within these bounds.
        public var minimumCacheAge: TimeInterval
        public var maximumCacheAge: TimeInterval
        /// Development only (`TESSERA_ALLOW_LOOPBACK_CLIENT_URLS`): also `http://` client identifier URLs on a loopback
        /// host, for a test or a local agent serving its document on 127.0.0.1.
        public var allowLoopbackHTTP: Bool

        public init(allowedHosts: Set<String> = [], blockedHosts: Set<String> = [], scopes: ScopeSet, resources: [String] = [],
                    minimumCacheAge: TimeInterval = 60, maximumCacheAge: TimeInterval = 3600, allowLoopbackHTTP: Bool = false) {
            self.allowLoopbackHTTP = allowLoopbackHTTP
            self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
            self.blockedHosts = Set(blockedHosts.map { $0.lowercased() })
            self.scopes = scopes
            self.resources = resources
            self.minimumCacheAge = minimumCacheAge
            self.maximumCacheAge = maximumCacheAge
        }

        /// Whether documents on `host` may be used.
        public func admits(host: String) -> Bool {
            let host = host.lowercased()
            return !blockedHosts.contains(host) && (allowedHosts.isEmpty || allowedHosts.contains(host))
        }
    }

    /// Whether `clientID` is a client identifier URL (draft §3): https, a host, a path, no dot segments, no fragment,
    /// no user information; at most 2048 bytes. Anything else is an ordinary (registered) client id.
    public static func isClientIDURL(_ clientID: String, allowLoopbackHTTP: Bool = false) -> Bool {
        guard clientID.utf8.count <= 2048, clientID.hasPrefix("https://") || (allowLoopbackHTTP && clientID.hasPrefix("http://")),
            let components = URLComponents(string: clientID), let host = components.host, !host.isEmpty,
            components.user == nil, components.password == nil, components.fragment == nil, !clientID.contains("#")
        else {
            return false
        }
        if components.scheme == "http" {
            guard ["127.0.0.1", "::1", "[::1]", "localhost"].contains(host.lowercased()) else { return false }
        } else if components.scheme != "https" {
            return false
        }
        let path = components.percentEncodedPath
        guard path.count > 1 else { return false }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        return !segments.contains { $0 == "." || $0 == ".." || $0.lowercased() == "%2e" || $0.lowercased() == "%2e%2e" || $0.lowercased() == ".%2e" || $0.lowercased() == "%2e." }
    }

    /// The host of a client identifier URL, lowercased (what the consent page shows).
    public static func host(of clientID: String) -> String? {
        URLComponents(string: clientID)?.host?.lowercased()
    }

    /// The client a fetched document describes, or `invalid_client` saying why it is refused.
    ///
    /// The document must be a JSON object whose `client_id` is exactly the URL it was fetched from (draft §4.1), with
    /// `redirect_uris` (validated as for dynamic registration: https, or http on loopback); no shared secret may be
    /// used (`client_secret*` is refused), so the client is public (`none`, with PKCE) or authenticates with
    /// `private_key_jwt` and its `jwks`/`jwks_uri`. Only `authorization_code` and `refresh_token` grants.
    public static func client(from data: Data, clientID: String, policy: Policy, now: Date) throws(OAuthError) -> Client {
        func refuse(_ reason: String) -> OAuthError { OAuthError.invalidClient("The client metadata document at \(clientID) " + reason) }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { throw refuse("is not a JSON object.") }
        guard let documentID = object["client_id"] as? String, documentID == clientID else {
            throw refuse("must name itself: its client_id must equal the URL it is served from.")
        }
        if object["client_secret"] != nil || object["client_secret_expires_at"] != nil {
            throw refuse("must not contain a client secret.")
        }
        let methodName = object["token_endpoint_auth_method"] as? String ?? ClientAuthMethod.none.rawValue
        guard let method = ClientAuthMethod(rawValue: methodName), method == .none || method == .privateKeyJWT else {
            throw refuse("must use token_endpoint_auth_method none or private_key_jwt (a shared secret cannot be published).")
        }
        guard let redirects = object["redirect_uris"] as? [String], !redirects.isEmpty, redirects.count <= 20 else {
            throw refuse("must list its redirect_uris.")
        }
        for uri in redirects {
            do { try RedirectURIRules.check(uri, registrant: .dynamic) } catch {
                throw refuse("has a redirect URI that is neither https nor http on a loopback address.")
            }
        }
        var grants: Set<GrantType> = [.authorizationCode]
        if let names = object["grant_types"] {
            guard let names = names as? [String], !names.isEmpty else { throw refuse("has grant_types that are not a list of strings.") }
            grants = Set(names.map(GrantType.init(rawValue:)))
            guard grants.isSubset(of: [.authorizationCode, .refreshToken]), grants.contains(.authorizationCode) else {
                throw refuse("may use only the authorization_code and refresh_token grants.")
            }
        }
        if let types = object["response_types"] {
            guard let types = types as? [String], types == ["code"] else { throw refuse("may use only the code response type.") }
        }
        let host = host(of: clientID) ?? clientID
        var name = host
        if let given = object["client_name"] {
            guard let given = given as? String else { throw refuse("has a client_name that is not a string.") }
            do { try DisplayName.validate(given) } catch { throw refuse("has a client_name that \(error).") }
            guard !ReservedClientNames.imitatesProduct(given) else { throw refuse("has a client_name that imitates this server's name.") }
            name = given
        }
        var scopes = policy.scopes
        if let scope = object["scope"] {
            guard let scope = scope as? String, let parsed = try? ScopeSet(parsing: scope) else { throw refuse("has an invalid scope.") }
            scopes = parsed.intersection(policy.scopes)
        }
        let keys: (jwks: String?, jwksURI: String?)
        do {
            keys = try ClientMetadata.validatedKeys(jwks: object["jwks"], jwksURI: object["jwks_uri"] as? String, authMethod: method)
        } catch {
            throw refuse("has unusable keys: \(error.errorDescription)")
        }
        var client = Client(id: clientID, name: name, secretDigest: nil, authMethod: method, grantTypes: grants, allowedScopes: scopes,
                            redirectURIs: redirects, requireConsent: true, createdAt: now, resources: policy.resources)
        client.jwks = keys.jwks
        client.jwksURI = keys.jwksURI
        // Nobody vetted it: the consent page says so, and it may introspect only its own tokens.
        client.registeredAnonymously = true
        return client
    }
}

/// A document fetched from a URL a client named, with how long it may be cached.
public struct FetchedDocument: Sendable {
    public var body: Data
    /// `Cache-Control: max-age` of the answer (`no-store`/`no-cache` give 0), `nil` when absent.
    public var maxAge: TimeInterval?
    public init(body: Data, maxAge: TimeInterval?) {
        self.body = body
        self.maxAge = maxAge
    }
}

/// Resolves client identifier URLs to clients, per node: a fetched document is used for its `max-age` within the
/// policy's bounds (so a change reaches every node within ``ClientIDMetadataDocument/Policy/maximumCacheAge``); a
/// refusal is remembered for ``ClientIDMetadataDocument/Policy/minimumCacheAge`` so a stream of requests naming a
/// bad document cannot turn into a stream of fetches.
public actor ClientIDMetadataDocuments {
    public let policy: ClientIDMetadataDocument.Policy
    private let fetcher: any ClientDocumentFetcher
    private let clock: any TimeSource
    private let audit: any AuditSink
    /// Results by client identifier URL, each usable until its time.
    private var cache = BoundedFIFOCache<String, (result: Result<Client, OAuthError>, until: Date)>(capacity: 1024)

    public init(policy: ClientIDMetadataDocument.Policy, fetcher: any ClientDocumentFetcher, clock: any TimeSource, audit: any AuditSink) {
        self.policy = policy
        self.fetcher = fetcher
        self.clock = clock
        self.audit = audit
    }

    /// The client `clientID` names. Throws `invalid_client` saying why a document is refused.
    public func client(id clientID: String) async throws(OAuthError) -> Client {
        let now = clock.now
        if let cached = cache[clientID], cached.until > now { return try cached.result.get() }
        let result = await resolve(clientID, now: now)
        switch result {
        case .success(let client):
            audit.record(AuditEvent(.clientMetadataDocumentFetched, at: now, clientID: client.id,
                                    detail: ["host": ClientIDMetadataDocument.host(of: clientID) ?? ""]))
        case .failure(let error):
            audit.record(AuditEvent(.clientMetadataDocumentRefused, at: now, clientID: clientID, detail: ["reason": error.errorDescription]))
        }
        return try result.get()
    }

    private func resolve(_ clientID: String, now: Date) async -> Result<Client, OAuthError> {
        guard let host = ClientIDMetadataDocument.host(of: clientID), policy.admits(host: host) else {
            let error = OAuthError.invalidClient("Client metadata documents from this host are not accepted by this server.")
            cache.insert((.failure(error), now.addingTimeInterval(policy.minimumCacheAge)), for: clientID)
            return .failure(error)
        }
        do {
            let document = try await fetcher.fetchDocument(clientID)
            let client = try ClientIDMetadataDocument.client(from: document.body, clientID: clientID, policy: policy, now: now)
            let age = min(max(document.maxAge ?? policy.minimumCacheAge, policy.minimumCacheAge), policy.maximumCacheAge)
            cache.insert((.success(client), now.addingTimeInterval(age)), for: clientID)
            return .success(client)
        } catch {
            cache.insert((.failure(error), now.addingTimeInterval(policy.minimumCacheAge)), for: clientID)
            return .failure(error)
        }
    }
}

/// The client lookup every endpoint uses: registered clients from the store, and — when enabled — clients named by
/// a client identifier URL from their metadata documents. Writes go to the store.
public struct ClientDirectory: ClientStore {
    public let store: any ClientStore
    public let documents: ClientIDMetadataDocuments?

    public init(store: any ClientStore, documents: ClientIDMetadataDocuments?) {
        self.store = store
        self.documents = documents
    }

    public func client(id: String) async throws -> Client? {
        if let documents, ClientIDMetadataDocument.isClientIDURL(id, allowLoopbackHTTP: documents.policy.allowLoopbackHTTP) {
            return try await documents.client(id: id)
        }
        return try await store.client(id: id)
    }

    public func insertClient(_ client: Client) async throws { try await store.insertClient(client) }
    public func listClients() async throws -> [Client] { try await store.listClients() }
    public func updateClient(_ client: Client) async throws { try await store.updateClient(client) }
    public func deleteClient(id: String) async throws -> Bool { try await store.deleteClient(id: id) }
}
