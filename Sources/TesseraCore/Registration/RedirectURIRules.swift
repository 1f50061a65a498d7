public import Foundation

/// The one set of rules for a redirect URI being registered, by `/register` (``ClientMetadata``) and by the
/// operator (`tessera client add`, provisioning): absolute, no fragment (RFC 6749 §3.1.2), no wildcard (exact
/// matching, RFC 9700 §2.1), no user information, at most 2048 bytes, no whitespace; then a scheme rule that
/// depends on who registers.
public enum RedirectURIRules {
    /// Who registers the URI.
    public enum Registrant: Sendable {
        /// Dynamic registration (RFC 7591 §2) without `application_type`: https, or http only on a loopback host
        /// (RFC 8252 §7.3, §8.3) — what MCP clients, which do not send the type, register.
        case dynamic
        /// Dynamic registration of a `web` application (OIDC Registration §2): https only, never a loopback host.
        case webApplication
        /// Dynamic registration of a `native` application (RFC 8252 §7): https, http on a loopback host, or a
        /// private-use scheme in reverse domain-name form (`com.example.app:/callback`, §7.1).
        case nativeApplication
        /// The operator: also http on other hosts (`tessera doctor` reports it, RFC 9700 §2.6) and a native app's
        /// private-use scheme (RFC 8252 §7.1), never a scheme a browser would run or read locally.
        case `operator`
    }

    /// Why a URI was refused.
    public enum Violation: Error, Sendable, Equatable {
        case malformed, fragment, wildcard, userInformation
        /// Not a scheme this registrant may use.
        case scheme
        /// A loopback host for a `web` application (register it as `native`).
        case loopback
        /// A private-use scheme: only a `native` application may register one, in reverse domain-name form.
        case privateUseScheme
    }

    /// Schemes never allowed: a browser would run them or read local data (`javascript:`, `data:`, …).
    public static let forbiddenSchemes: Set<String> = ["javascript", "vbscript", "data", "file", "about", "blob", "filesystem"]
    static let loopbackHosts: Set<String> = ["127.0.0.1", "localhost", "[::1]", "::1"]

    public static func check(_ uri: String, registrant: Registrant) throws(Violation) {
        guard uri.utf8.count <= 2048, !uri.isEmpty, !uri.contains(where: { $0.isWhitespace || $0.isNewline }) else { throw .malformed }
        guard !uri.contains("*") else { throw .wildcard }
        guard !uri.contains("#") else { throw .fragment }
        guard let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased(), !scheme.isEmpty else {
            throw .malformed
        }
        guard components.user == nil, components.password == nil else { throw .userInformation }
        let host = components.host?.lowercased() ?? ""
        switch scheme {
        case "https":
            guard !host.isEmpty else { throw .malformed }
            if registrant == .webApplication, loopbackHosts.contains(host) { throw .loopback }
        case "http":
            guard !host.isEmpty else { throw .malformed }
            if registrant == .webApplication { throw loopbackHosts.contains(host) ? .loopback : .scheme }
            guard registrant == .operator || loopbackHosts.contains(host) else { throw .scheme }
        default:
            guard !forbiddenSchemes.contains(scheme) else { throw .scheme }
            switch registrant {
            case .operator: break
            case .nativeApplication: guard scheme.contains("."), components.host == nil || components.host == "" else { throw .privateUseScheme }
            case .dynamic, .webApplication: throw .privateUseScheme
            }
        }
    }
}
