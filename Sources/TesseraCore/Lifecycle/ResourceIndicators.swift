import Foundation

/// Resource indicators (RFC 8707): which audience an access token gets.
public enum ResourceIndicators {
    /// Checks one `resource` value: an absolute URI without fragment (RFC 8707 §2).
    public static func isValid(_ resource: String) -> Bool {
        guard resource.utf8.count <= 2048, !resource.contains(where: { $0.isWhitespace }),
              let components = URLComponents(string: resource), let scheme = components.scheme, !scheme.isEmpty,
              components.fragment == nil, !resource.contains("#") else { return false }
        if scheme == "http" || scheme == "https" { return components.host?.isEmpty == false }
        return true
    }

    /// The audience for a new grant.
    ///
    /// - No `resource`: the configured default audience.
    /// - Otherwise each resource must be valid and registered for the client (`Client.resources`), else
    ///   `invalid_target`; the audience is the requested resources, deduplicated, in order.
    ///
    /// The browser-flow `/authorize` uses the same function for its `resource` parameters.
    public static func audience(requested: [String], client: Client, defaultAudience: [String]) throws(OAuthError) -> [String] {
        guard !requested.isEmpty else { return defaultAudience }
        var audience: [String] = []
        for resource in requested {
            guard isValid(resource) else {
                throw OAuthError(.invalidTarget, "The resource parameter must be an absolute URI without a fragment.")
            }
            guard client.resources.contains(resource) else {
                throw OAuthError(.invalidTarget, "This client may not request tokens for that resource.")
            }
            if !audience.contains(resource) { audience.append(resource) }
        }
        return audience
    }

    /// The audience for a refresh: the grant's audience, or a narrower one (RFC 8707 §2.2). Never wider.
    public static func narrowed(requested: [String], granted: [String]) throws(OAuthError) -> [String] {
        guard !requested.isEmpty else { return granted }
        var audience: [String] = []
        for resource in requested {
            guard isValid(resource) else {
                throw OAuthError(.invalidTarget, "The resource parameter must be an absolute URI without a fragment.")
            }
            guard granted.contains(resource) else {
                throw OAuthError(.invalidTarget, "The token request cannot add a resource the original grant did not include.")
            }
            if !audience.contains(resource) { audience.append(resource) }
        }
        return audience
    }
}

extension GrantServices {
    /// The audience for a new grant from `request`'s `resource` parameters (RFC 8707).
    public func audience(for request: TokenRequest, client: Client) throws(OAuthError) -> [String] {
        try ResourceIndicators.audience(requested: request.resources, client: client, defaultAudience: settings.defaultAudience)
    }
}
