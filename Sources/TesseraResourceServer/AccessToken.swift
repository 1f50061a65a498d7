public import Foundation

/// A verified OAuth 2.0 access token in the JWT profile of RFC 9068.
///
/// Values of this type are only created by ``AccessTokenVerifier`` after the signature, the
/// token type, the issuer, the audience and the lifetime have all been checked, so holding one
/// means the request was authorized by the issuer.
public struct AccessToken: Sendable, Hashable {
    /// The `iss` claim: the authorization server that issued the token.
    public let issuer: String
    /// The `sub` claim: the resource owner, or the client itself for the client credentials grant.
    public let subject: String
    /// The `client_id` claim: the OAuth client the token was issued to.
    public let clientID: String
    /// The scopes granted, parsed from the space-separated `scope` claim (RFC 9068 §2.2.3).
    public let scopes: Set<String>
    /// The `aud` claim, normalised to an array.
    public let audience: [String]
    /// The `exp` claim.
    public let expiresAt: Date
    /// The `iat` claim.
    public let issuedAt: Date
    /// The `nbf` claim, if present.
    public let notBefore: Date?
    /// The `jti` claim: the token's unique identifier.
    public let id: String
    /// Every claim of the payload, including the ones above, for application-specific claims.
    public let claims: [String: ClaimValue]

    /// Creates a token from already verified values. Applications normally get tokens from
    /// ``AccessTokenVerifier/verify(_:)``; this initializer exists for tests and custom verifiers.
    public init(
        issuer: String,
        subject: String,
        clientID: String,
        scopes: Set<String>,
        audience: [String],
        expiresAt: Date,
        issuedAt: Date,
        notBefore: Date? = nil,
        id: String,
        claims: [String: ClaimValue] = [:]
    ) {
        self.issuer = issuer
        self.subject = subject
        self.clientID = clientID
        self.scopes = scopes
        self.audience = audience
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.notBefore = notBefore
        self.id = id
        self.claims = claims
    }

    /// The granted scopes as a space-separated string in a stable (sorted) order.
    public var scope: String {
        self.scopes.sorted().joined(separator: " ")
    }

    /// Whether every scope in `required` was granted.
    public func hasScopes(_ required: some Sequence<String>) -> Bool {
        required.allSatisfy { self.scopes.contains($0) }
    }

    /// Whether `scope` was granted.
    public func hasScope(_ scope: String) -> Bool {
        self.scopes.contains(scope)
    }
}

/// A JSON value of a token claim.
public enum ClaimValue: Sendable, Hashable, Codable {
    /// A JSON string.
    case string(String)
    /// A JSON number.
    case number(Double)
    /// `true` or `false`.
    case bool(Bool)
    /// A JSON array.
    case array([ClaimValue])
    /// A JSON object.
    case object([String: ClaimValue])
    /// `null`.
    case null

    /// Decodes any JSON value.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([ClaimValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: ClaimValue].self))
        }
    }

    /// Encodes the JSON value.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    /// The string value, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The numeric value, if this is a number.
    public var numberValue: Double? {
        if case .number(let value) = self { value } else { nil }
    }

    /// The boolean value, if this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }
}

extension ClaimValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: ClaimValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, ClaimValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { $1 }))
    }
}
