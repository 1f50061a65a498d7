/// A set of OAuth scope tokens (RFC 6749 §3.3).
///
/// Parsing enforces the RFC's grammar: tokens separated by single spaces, each made of
/// `%x21 / %x23-5B / %x5D-7E` characters. The string form is sorted so it is stable.
public struct ScopeSet: Sendable, Hashable, Codable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public private(set) var tokens: Set<String>

    public init<S: Sequence>(_ tokens: S) where S.Element == String { self.tokens = Set(tokens) }
    public init(arrayLiteral elements: String...) { self.tokens = Set(elements) }

    /// Parses a space-delimited `scope` parameter.
    /// - Throws: `OAuthError.invalidScope` when a token has characters outside the RFC 6749 §3.3 grammar.
    public init(parsing value: String) throws(OAuthError) {
        var result = Set<String>()
        for token in value.split(separator: " ", omittingEmptySubsequences: true) {
            guard ScopeSet.isValidToken(token) else {
                throw OAuthError.invalidScope("The scope parameter has characters outside RFC 6749 §3.3.")
            }
            result.insert(String(token))
        }
        self.tokens = result
    }

    /// Whether a scope token matches `1*( %x21 / %x23-5B / %x5D-7E )`.
    public static func isValidToken<S: StringProtocol>(_ token: S) -> Bool {
        guard !token.isEmpty, token.utf8.count <= 128 else { return false }
        return token.utf8.allSatisfy { c in c == 0x21 || (0x23...0x5B).contains(c) || (0x5D...0x7E).contains(c) }
    }

    public var isEmpty: Bool { tokens.isEmpty }
    public func contains(_ token: String) -> Bool { tokens.contains(token) }
    public func isSubset(of other: ScopeSet) -> Bool { tokens.isSubset(of: other.tokens) }
    public func intersection(_ other: ScopeSet) -> ScopeSet { ScopeSet(tokens.intersection(other.tokens)) }
    public func subtracting(_ other: ScopeSet) -> ScopeSet { ScopeSet(tokens.subtracting(other.tokens)) }
    public func union(_ other: ScopeSet) -> ScopeSet { ScopeSet(tokens.union(other.tokens)) }

    /// The space-delimited, sorted form used in responses and tokens.
    public var description: String { tokens.sorted().joined(separator: " ") }
    public var sorted: [String] { tokens.sorted() }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        self.tokens = Set(try container.decode(String.self).split(separator: " ").map(String.init))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Decides the scopes of a grant: granted = requested ∩ client's allowed ∩ user's allowed (DESIGN.md).
public struct ScopePolicy: Sendable {
    /// Scopes granted when a request carries no `scope` (RFC 6749 §3.3 lets the server pick a default).
    public var defaultScopes: ScopeSet

    public init(defaultScopes: ScopeSet) { self.defaultScopes = defaultScopes }

    /// The scopes to grant.
    ///
    /// - An explicit request for a scope the client or user may not have is refused with `invalid_scope`
    ///   rather than silently narrowed, so a client learns of its misconfiguration at once.
    /// - Without a `scope`, the default scopes are granted, narrowed to what client and user allow.
    public func grant(requested: ScopeSet?, clientAllowed: ScopeSet, userAllowed: ScopeSet?) throws(OAuthError) -> ScopeSet {
        var allowed = clientAllowed
        if let userAllowed { allowed = allowed.intersection(userAllowed) }
        guard let requested else {
            return defaultScopes.intersection(allowed)
        }
        let refused = requested.subtracting(allowed)
        guard refused.isEmpty else {
            throw OAuthError.invalidScope("Scope not allowed for this \(userAllowed == nil ? "client" : "client or user"): \(refused.description).")
        }
        return requested
    }
}
