import Foundation
public import Hummingbird

/// OAuth 2.0 Protected Resource Metadata (RFC 9728): tells a client which authorization servers
/// issue tokens for this resource server and which scopes it understands.
///
/// Every value is validated when the metadata is created: the resource identifier and the issuers
/// must be absolute `http`/`https` URLs without fragment, query or user info, and no value may
/// contain a quote, a backslash or a control character, so a configured value can never break or
/// split the `WWW-Authenticate` header that points to the document (RFC 9728 §5.1).
///
/// ```swift
/// let metadata = try ProtectedResourceMetadata(resource: "https://api.example.com/mcp",
///                                              authorizationServers: ["https://auth.example.com"],
///                                              scopesSupported: ["read"])
/// router.addProtectedResourceMetadata(metadata)
/// router.add(middleware: BearerTokenMiddleware(verifier: verifier, resourceMetadata: metadata))
/// ```
public struct ProtectedResourceMetadata: Sendable, Hashable {
    /// A configured value refused at creation time.
    public struct InvalidValue: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The well-known path suffix of RFC 9728 §3.
    public static let wellKnownSuffix = "/.well-known/oauth-protected-resource"

    /// The resource identifier (RFC 9728 §2 `resource`).
    public let resource: String
    /// The issuer identifiers of the authorization servers whose tokens are accepted (`authorization_servers`).
    public let authorizationServers: [String]
    /// The scopes this resource server uses (`scopes_supported`).
    public let scopesSupported: [String]
    /// The `max-age` of the `Cache-Control` header on the document. Default one hour.
    public let maxAge: Duration

    /// The origin of ``resource`` (`scheme://host[:port]`) and its path without a trailing slash (`""` for none).
    private let origin: String
    private let resourcePath: String

    /// Creates and validates the metadata.
    /// - Throws: ``InvalidValue`` when a URL is not an absolute http(s) URL without query or fragment,
    ///   or a value contains a quote, backslash, whitespace or control character.
    public init(resource: String, authorizationServers: [String], scopesSupported: [String] = [], maxAge: Duration = .seconds(3600)) throws {
        let (origin, path) = try Self.split(resource, name: "resource")
        guard !authorizationServers.isEmpty else { throw InvalidValue(description: "authorization_servers must not be empty") }
        for server in authorizationServers { _ = try Self.split(server, name: "authorization server") }
        for scope in scopesSupported {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            guard !scope.isEmpty, scope.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) && $0 != "\"" && $0 != "\\" }) else {
                throw InvalidValue(description: "invalid scope \(scope.debugDescription)")
            }
        }
        self.resource = resource
        self.authorizationServers = authorizationServers
        self.scopesSupported = scopesSupported
        self.maxAge = maxAge
        self.origin = origin
        self.resourcePath = path
    }

    /// The path at which the document is served (RFC 9728 §3.1): the well-known suffix, followed by
    /// the resource identifier's path when it has one.
    public var wellKnownPath: String { Self.wellKnownSuffix + self.resourcePath }

    /// The absolute URL of the document, sent as `resource_metadata` in challenges (RFC 9728 §5.1).
    public var metadataURL: String { self.origin + self.wellKnownPath }

    /// The JSON document (RFC 9728 §2).
    public var document: Document {
        Document(resource: self.resource, authorizationServers: self.authorizationServers,
                 scopesSupported: self.scopesSupported.isEmpty ? nil : self.scopesSupported,
                 bearerMethodsSupported: ["header"])
    }

    /// The JSON body of the document.
    public struct Document: Codable, Sendable, Equatable {
        public let resource: String
        public let authorizationServers: [String]
        public let scopesSupported: [String]?
        public let bearerMethodsSupported: [String]

        enum CodingKeys: String, CodingKey {
            case resource
            case authorizationServers = "authorization_servers"
            case scopesSupported = "scopes_supported"
            case bearerMethodsSupported = "bearer_methods_supported"
        }
    }

    /// The document as a response: JSON, cacheable for ``maxAge``.
    public func response() throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self.document)
        let headers: HTTPFields = [
            .contentType: "application/json",
            .cacheControl: "public, max-age=\(self.maxAge.components.seconds)",
        ]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Splits an absolute http(s) URL into origin and path (no trailing slash), refusing anything
    /// that could not be quoted safely in a header.
    private static func split(_ value: String, name: String) throws -> (origin: String, path: String) {
        guard !value.isEmpty, value.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) && $0 != "\"" && $0 != "\\" }) else {
            throw InvalidValue(description: "\(name) \(value.debugDescription) contains a character not allowed in a URL")
        }
        guard let components = URLComponents(string: value), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = components.host, !host.isEmpty
        else { throw InvalidValue(description: "\(name) \(value.debugDescription) is not an absolute http(s) URL") }
        guard components.query == nil, components.fragment == nil, components.user == nil, components.password == nil else {
            throw InvalidValue(description: "\(name) \(value.debugDescription) must not have a query, fragment or user info")
        }
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        let hostPart = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        let origin = "\(scheme)://\(hostPart)" + (components.port.map { ":\($0)" } ?? "")
        return (origin, path)
    }
}

extension RouterMethods {
    /// Serves the protected-resource metadata (RFC 9728 §3) with `GET` at
    /// ``ProtectedResourceMetadata/wellKnownPath`` and, when the resource identifier has a path,
    /// also at the bare `/.well-known/oauth-protected-resource` (for clients that look there first).
    @discardableResult
    public func addProtectedResourceMetadata(_ metadata: ProtectedResourceMetadata) -> Self {
        let paths = Set([metadata.wellKnownPath, ProtectedResourceMetadata.wellKnownSuffix])
        for path in paths.sorted() {
            self.get(RouterPath(path)) { _, _ in try metadata.response() }
        }
        return self
    }
}
