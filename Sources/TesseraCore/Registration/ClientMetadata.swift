public import Foundation

/// Client metadata of a dynamic registration request (RFC 7591 §2), validated.
///
/// Pure: parses JSON and decides; the registration endpoint stores the result.
public struct ClientMetadata: Sendable, Equatable {
    public var redirectURIs: [String]
    public var tokenEndpointAuthMethod: ClientAuthMethod
    public var grantTypes: Set<GrantType>
    public var responseTypes: Set<String>
    public var clientName: String?
    public var scope: ScopeSet?
    /// Tessera extension (RFC 8707): resource indicators the client may ask tokens for.
    public var resources: [String]
    /// OIDC Registration §2 `id_token_signed_response_alg`: RS256 (default) or ES256.
    public var idTokenAlgorithm: SigningAlgorithm
    /// RFC 7591 §2 `jwks`: the client's public keys (for `private_key_jwt`), re-serialised JSON.
    public var jwks: String?
    /// RFC 7591 §2 `jwks_uri`: where the client publishes them instead.
    public var jwksURI: String?
    /// OIDC Registration §2 `application_type`: `web` (the default) or `native` (RFC 8252).
    public var applicationType: ApplicationType
    /// The most a registered `jwks` may weigh.
    public static let maximumJWKSBytes = 16 * 1024

    /// Grant types a registered client may have. `password` is never granted through registration: it is
    /// first-party only and is provisioned with `tessera client add` (RFC 9700 §2.4).
    public static let registrableGrantTypes: Set<GrantType> = [.authorizationCode, .implicit, .clientCredentials, .refreshToken]
    public static let knownResponseTypes: Set<String> = ["code", "token"]
    /// Grant types that only ever issue tokens for a user who signed in (and consented) at the authorization
    /// endpoint: all an anonymous registrant may have. `client_credentials` (RFC 6749 §4.4) needs no user.
    public static let userBoundGrantTypes: Set<GrantType> = [.authorizationCode, .implicit, .refreshToken]

    /// What the registrant is allowed to ask for.
    public struct Policy: Sendable {
        /// Scopes a registered client may have; other requested scopes are dropped (RFC 7591 §3.2.1 lets the
        /// server replace requested metadata; the response shows the result).
        public var allowedScopes: ScopeSet
        /// Scopes given when the request names none.
        public var defaultScopes: ScopeSet
        /// Whether `resources` may be registered (only with an initial access token: an anonymous registrant
        /// must not be able to obtain tokens for arbitrary APIs).
        public var allowResources: Bool
        /// Whether the legacy implicit grant may be registered (not in open registration: RFC 9700 §2.1.2
        /// advises against it, and an anonymous registrant should not get tokens in URL fragments).
        public var allowImplicit: Bool
        /// Whether grants outside ``ClientMetadata/userBoundGrantTypes`` (those that need no user, e.g. `client_credentials`)
        /// may be registered: not in open registration, or anyone could mint machine tokens for protected APIs.
        public var allowUserlessGrants: Bool
        /// Whether `client_name` may imitate the server's product name (``ReservedClientNames``): not in open
        /// registration, where the name is the anonymous registrant's own claim.
        public var allowProductName: Bool

        public init(allowedScopes: ScopeSet, defaultScopes: ScopeSet, allowResources: Bool, allowImplicit: Bool = true,
                    allowUserlessGrants: Bool = true, allowProductName: Bool = true) {
            self.allowProductName = allowProductName
            self.allowedScopes = allowedScopes
            self.defaultScopes = defaultScopes
            self.allowResources = allowResources
            self.allowImplicit = allowImplicit
            self.allowUserlessGrants = allowUserlessGrants
        }
    }

    static func invalid(_ message: String) -> OAuthError { OAuthError(.invalidClientMetadata, message) }

    /// Parses and validates a JSON registration request body (RFC 7591 §2, §3.1). Unknown members are
    /// ignored (§2); defaults follow §2 (`authorization_code`, `code`, `client_secret_basic`).
    public init(json: Data, policy: Policy) throws(OAuthError) {
        guard let object = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
            throw Self.invalid("The request body must be a JSON object.")
        }
        func strings(_ name: String) throws(OAuthError) -> [String]? {
            guard let value = object[name], !(value is NSNull) else { return nil }
            guard let array = value as? [Any], array.allSatisfy({ $0 is String }) else { throw Self.invalid("'\(name)' must be an array of strings.") }
            return array.compactMap { $0 as? String }
        }
        func string(_ name: String) throws(OAuthError) -> String? {
            guard let value = object[name], !(value is NSNull) else { return nil }
            guard let string = value as? String else { throw Self.invalid("'\(name)' must be a string.") }
            return string
        }

        let method = try string("token_endpoint_auth_method") ?? ClientAuthMethod.clientSecretBasic.rawValue
        guard let authMethod = ClientAuthMethod(rawValue: method) else {
            throw Self.invalid("Unsupported token_endpoint_auth_method; use client_secret_basic, client_secret_post, private_key_jwt or none.")
        }
        let grantNames = try strings("grant_types") ?? ["authorization_code"]
        var grants = Set<GrantType>()
        for name in grantNames {
            let grant = GrantType(rawValue: name)
            if grant == .password { throw Self.invalid("The password grant cannot be registered dynamically.") }
            if grant == .implicit, !policy.allowImplicit { throw Self.invalid("The implicit grant needs an initial access token.") }
            guard Self.registrableGrantTypes.contains(grant) else { throw Self.invalid("Unsupported grant type '\(TokenRequest.printable(name))'.") }
            if !Self.userBoundGrantTypes.contains(grant), !policy.allowUserlessGrants {
                throw Self.invalid("The \(grant.rawValue) grant needs an initial access token (open registration offers only user-bound grants).")
            }
            grants.insert(grant)
        }
        guard !grants.isEmpty else { throw Self.invalid("grant_types must not be empty.") }
        let responseTypes = Set(try strings("response_types") ?? (grants.contains(.authorizationCode) ? ["code"] : []))
        for type in responseTypes where !Self.knownResponseTypes.contains(type) {
            throw Self.invalid("Unsupported response type '\(TokenRequest.printable(type))'.")
        }
        // RFC 7591 §2.1: authorization_code ↔ code, implicit ↔ token.
        guard grants.contains(.authorizationCode) == responseTypes.contains("code"),
              grants.contains(.implicit) == responseTypes.contains("token") else {
            throw Self.invalid("grant_types and response_types are inconsistent (authorization_code needs code, implicit needs token).")
        }
        if authMethod == .none, grants.contains(.clientCredentials) {
            throw Self.invalid("A public client (token_endpoint_auth_method none) cannot use client_credentials.")
        }
        let applicationType = try string("application_type").map { name throws(OAuthError) -> ApplicationType in
            guard let type = ApplicationType(rawValue: name) else { throw Self.invalid("application_type must be web or native.") }
            return type
        }
        let redirectURIs = try strings("redirect_uris") ?? []
        for uri in redirectURIs { try Self.validateRedirectURI(uri, applicationType: applicationType) }
        if grants.contains(.authorizationCode) || grants.contains(.implicit), redirectURIs.isEmpty {
            throw OAuthError(.invalidRedirectURI, "Redirect-based grants need at least one redirect URI.")
        }
        var scope: ScopeSet?
        if let value = try string("scope") {
            do { scope = try ScopeSet(parsing: value) } catch { throw Self.invalid("'scope' has characters outside RFC 6749 §3.3.") }
            // RFC 7591 §3.2.1: the server may replace requested values; the response tells the client what it got.
            scope = scope!.intersection(policy.allowedScopes)
        }
        let name = try string("client_name")
        if let name {
            // Shown on the login, consent and account pages: one rule with `tessera client add`.
            do { try DisplayName.validate(name) } catch { throw Self.invalid("client_name \(error).") }
            if !policy.allowProductName, ReservedClientNames.imitatesProduct(name) {
                throw Self.invalid("client_name must not imitate this server's name (\(ReservedClientNames.productName)).")
            }
        }
        let resources = try strings("resources") ?? []
        if !resources.isEmpty, !policy.allowResources {
            throw Self.invalid("Resources can only be registered with an initial access token.")
        }
        for resource in resources where !ResourceIndicators.isValid(resource) {
            throw Self.invalid("Each resource must be an absolute URI without a fragment.")
        }

        let idTokenAlgorithmName = try string("id_token_signed_response_alg") ?? SigningAlgorithm.rs256.rawValue
        guard let idTokenAlgorithm = SigningAlgorithm(rawValue: idTokenAlgorithmName) else {
            throw Self.invalid("Unsupported id_token_signed_response_alg; use RS256 or ES256.")
        }

        let (jwks, jwksURI) = try Self.validatedKeys(jwks: object["jwks"], jwksURI: try string("jwks_uri"), authMethod: authMethod)
        self.jwks = jwks
        self.jwksURI = jwksURI
        self.applicationType = applicationType ?? .web

        self.idTokenAlgorithm = idTokenAlgorithm
        self.redirectURIs = redirectURIs
        self.tokenEndpointAuthMethod = authMethod
        self.grantTypes = grants
        self.responseTypes = responseTypes
        self.clientName = name
        self.scope = scope
        self.resources = resources
    }

    /// RFC 7591 §2: `jwks` (a parsed JSON value) and `jwks_uri` are mutually exclusive, and `private_key_jwt`
    /// (RFC 7523 §2.2) needs one of them. Returns the key set re-serialised, and the URI. Shared with `tessera client add`.
    public static func validatedKeys(jwks value: Any?, jwksURI: String?, authMethod: ClientAuthMethod) throws(OAuthError) -> (jwks: String?, jwksURI: String?) {
        var jwks: String?
        if let value, !(value is NSNull) {
            guard let set = value as? [String: Any], let keys = set["keys"] as? [Any], !keys.isEmpty,
                keys.allSatisfy({ $0 is [String: Any] })
            else {
                throw Self.invalid("'jwks' must be a JSON Web Key Set: an object with a non-empty 'keys' array of keys.")
            }
            // Private or symmetric key material must never be sent, let alone stored (RFC 7517 §6.2, §6.4).
            for case let key as [String: Any] in keys where ["d", "p", "q", "dp", "dq", "qi", "k"].contains(where: { key[$0] != nil }) {
                throw Self.invalid("'jwks' must hold public keys only; it contains private or symmetric key material.")
            }
            guard let text = try? JSONSerialization.data(withJSONObject: set, options: [.sortedKeys, .withoutEscapingSlashes]),
                text.count <= Self.maximumJWKSBytes
            else {
                throw Self.invalid("'jwks' is larger than \(Self.maximumJWKSBytes) bytes; publish it at a jwks_uri instead.")
            }
            jwks = String(decoding: text, as: UTF8.self)
        }
        if let jwksURI {
            guard jwks == nil else { throw Self.invalid("Send either 'jwks' or 'jwks_uri', not both.") }
            guard let components = URLComponents(string: jwksURI), components.scheme?.lowercased() == "https",
                components.host?.isEmpty == false, components.fragment == nil, components.user == nil, jwksURI.utf8.count <= 2048
            else {
                throw Self.invalid("'jwks_uri' must be an https URL without user information or fragment.")
            }
        }
        if authMethod == .privateKeyJWT, jwks == nil, jwksURI == nil {
            throw Self.invalid("private_key_jwt needs the client's public keys: send 'jwks' or 'jwks_uri'.")
        }
        return (jwks, jwksURI)
    }

    /// RFC 7591 §2 and RFC 8252 §7.3/§8.3: https, or http only on a loopback address; absolute; no fragment
    /// (RFC 6749 §3.1.2); no wildcards (exact matching). ``RedirectURIRules`` with the ``RedirectURIRules/Registrant/dynamic`` rule.
    public static func validateRedirectURI(_ uri: String, applicationType: ApplicationType?) throws(OAuthError) {
        let registrant: RedirectURIRules.Registrant = switch applicationType {
        case nil: .dynamic
        case .web: .webApplication
        case .native: .nativeApplication
        }
        let shown = TokenRequest.printable(uri)
        do {
            try RedirectURIRules.check(uri, registrant: registrant)
        } catch .loopback {
            throw OAuthError(.invalidRedirectURI, "\(shown): a web application cannot use a loopback address; register with application_type native (RFC 8252 §7.3).")
        } catch .privateUseScheme {
            throw OAuthError(.invalidRedirectURI, applicationType == .native
                ? "\(shown): a private-use scheme must be a reverse domain name such as com.example.app:/callback (RFC 8252 §7.1)."
                : "\(shown): only a native application (application_type native) may use a private-use scheme (RFC 8252 §7.1).")
        } catch .scheme {
            throw OAuthError(.invalidRedirectURI, applicationType == .web
                ? "\(shown): a web application's redirect URIs must be https."
                : "\(shown): redirect URIs must be https, or http on 127.0.0.1, [::1] or localhost.")
        } catch .fragment {
            throw OAuthError(.invalidRedirectURI, "\(shown): a redirect URI must not have a fragment (RFC 6749 §3.1.2).")
        } catch .wildcard {
            throw OAuthError(.invalidRedirectURI, "\(shown): wildcards are not allowed; redirect URIs are matched exactly.")
        } catch .userInformation {
            throw OAuthError(.invalidRedirectURI, "\(shown): a redirect URI must not contain user information.")
        } catch {
            throw OAuthError(.invalidRedirectURI, "\(shown): not an absolute URI.")
        }
    }

    /// The rule without an application type (as before `application_type` was read).
    public static func validateRedirectURI(_ uri: String) throws(OAuthError) {
        do {
            try RedirectURIRules.check(uri, registrant: .dynamic)
        } catch {
            throw OAuthError(.invalidRedirectURI, "Redirect URIs must be https (or http on 127.0.0.1, [::1] or localhost), without fragment or wildcard.")
        }
    }
}
