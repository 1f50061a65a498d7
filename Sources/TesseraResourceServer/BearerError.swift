import Foundation
public import Hummingbird

/// An RFC 6750 §3 error response: a status, a `WWW-Authenticate: Bearer` challenge and a JSON
/// body `{"error": ..., "error_description": ...}`, always with `Cache-Control: no-store`.
///
/// ``BearerTokenMiddleware`` and ``RequireScopes`` throw it; Hummingbird renders it.
public struct BearerError: HTTPResponseError, Sendable {
    /// An RFC 6750 §3.1 error code, growable like an enum.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The wire value, e.g. `invalid_token`.
        public let rawValue: String

        /// Creates a code from its wire value.
        public init(_ rawValue: String) { self.rawValue = rawValue }

        /// The request is malformed, e.g. it carries several `Authorization` headers (400).
        public static let invalidRequest = Code("invalid_request")
        /// The token is malformed, expired, revoked or otherwise invalid (401).
        public static let invalidToken = Code("invalid_token")
        /// The token lacks a scope the resource requires (403).
        public static let insufficientScope = Code("insufficient_scope")
        /// The token could not be checked right now, e.g. the issuer's keys are unreachable (503).
        public static let temporarilyUnavailable = Code("temporarily_unavailable")

        public var description: String { self.rawValue }
    }

    /// The HTTP status: 400, 401, 403 or 503.
    public let status: HTTPResponse.Status
    /// The error code, or `nil` when the request simply carried no token (RFC 6750 §3.1: the
    /// challenge then has no `error` attribute).
    public let code: Code?
    /// A client-safe explanation, sent as `error_description`.
    public let errorDescription: String
    /// The `realm` attribute of the challenge.
    public let realm: String?
    /// The scopes needed, sent as the `scope` attribute for ``Code/insufficientScope``.
    public let requiredScopes: [String]
    /// The URL of the resource's RFC 9728 metadata, sent as `resource_metadata` (RFC 9728 §5.1).
    public var resourceMetadataURL: String?

    /// Creates an error response.
    public init(status: HTTPResponse.Status, code: Code?, description: String, realm: String?, requiredScopes: [String] = []) {
        self.status = status
        self.code = code
        self.errorDescription = description
        self.realm = realm
        self.requiredScopes = requiredScopes
    }

    /// This error with a `resource_metadata` attribute pointing at `metadata` (RFC 9728 §5.1), if any.
    public func pointing(to metadata: ProtectedResourceMetadata?) -> BearerError {
        var error = self
        if let metadata { error.resourceMetadataURL = metadata.metadataURL }
        return error
    }

    /// 401 for a request without a bearer token.
    public static func missingToken(realm: String?) -> BearerError {
        BearerError(status: .unauthorized, code: nil, description: "A bearer access token is required", realm: realm)
    }

    /// 401 `invalid_token`.
    public static func invalidToken(_ description: String, realm: String?) -> BearerError {
        BearerError(status: .unauthorized, code: .invalidToken, description: description, realm: realm)
    }

    /// 400 `invalid_request`.
    public static func invalidRequest(_ description: String, realm: String?) -> BearerError {
        BearerError(status: .badRequest, code: .invalidRequest, description: description, realm: realm)
    }

    /// 403 `insufficient_scope`, naming the scopes the resource needs.
    public static func insufficientScope(_ scopes: [String], realm: String?) -> BearerError {
        BearerError(
            status: .forbidden,
            code: .insufficientScope,
            description: "The access token does not grant the required scope",
            realm: realm,
            requiredScopes: scopes
        )
    }

    /// The error for a token the verifier rejected.
    public static func rejected(_ error: TokenVerificationError, realm: String?) -> BearerError {
        if error.code == .keySetUnavailable || error.code == .introspectionUnavailable {
            return BearerError(status: .serviceUnavailable, code: .temporarilyUnavailable, description: error.description, realm: realm)
        }
        return .invalidToken(error.description, realm: realm)
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3), or `nil` when no challenge applies.
    public var challenge: String? {
        guard self.status == .unauthorized || self.status == .forbidden || self.status == .badRequest else { return nil }
        var attributes: [String] = []
        if let realm { attributes.append("realm=\"\(Self.quotable(realm))\"") }
        if let code {
            attributes.append("error=\"\(code.rawValue)\"")
            attributes.append("error_description=\"\(Self.quotable(self.errorDescription))\"")
        }
        if !self.requiredScopes.isEmpty {
            attributes.append("scope=\"\(Self.quotable(self.requiredScopes.joined(separator: " ")))\"")
        }
        if let resourceMetadataURL {
            attributes.append("resource_metadata=\"\(Self.quotable(resourceMetadataURL))\"")
        }
        return attributes.isEmpty ? "Bearer" : "Bearer " + attributes.joined(separator: ", ")
    }

    /// Renders the JSON error response with its challenge and `Cache-Control: no-store`.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers: HTTPFields = [
            .contentType: "application/json; charset=utf-8",
            .cacheControl: "no-store",
        ]
        if let challenge { headers[.wwwAuthenticate] = challenge }
        let body = Body(
            error: self.code?.rawValue ?? "unauthorized",
            errorDescription: self.errorDescription,
            scope: self.requiredScopes.isEmpty ? nil : self.requiredScopes.joined(separator: " ")
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(body)
        return Response(status: self.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// RFC 6750 §3 limits attribute values to %x20-21 / %x23-5B / %x5D-7E: no quote, no backslash.
    private static func quotable(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { scalar in
            switch scalar.value {
            case 0x20...0x21, 0x23...0x5B, 0x5D...0x7E: scalar
            default: "?"
            }
        }))
    }

    private struct Body: Encodable {
        let error: String
        let errorDescription: String
        let scope: String?

        enum CodingKeys: String, CodingKey {
            case error
            case errorDescription = "error_description"
            case scope
        }
    }
}

extension BearerError: CustomStringConvertible {
    /// A summary for logs; it never contains the token.
    public var description: String {
        "BearerError(\(self.status.code) \(self.code?.rawValue ?? "no_token"): \(self.errorDescription))"
    }
}
