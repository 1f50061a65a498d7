import Foundation

/// Compares a requested `redirect_uri` with a client's registered ones.
///
/// Exact string comparison (RFC 9700 §2.1, OAuth 2.1 §2.3.1), with one exception: for public (native)
/// clients, a loopback redirect URI `http://127.0.0.1:<port>/…` or `http://[::1]:<port>/…` matches a
/// registered loopback URI whatever the port (RFC 8252 §7.3). `localhost` is not a loopback literal
/// and gets no exception (RFC 8252 §8.3).
public enum RedirectURIMatcher {
    /// The registered URI that `requested` matches, or `nil`.
    public static func match(_ requested: String, registered: [String], isPublicClient: Bool) -> String? {
        if registered.contains(requested) { return requested }
        guard isPublicClient, let wanted = LoopbackURI(requested) else { return nil }
        return registered.first { LoopbackURI($0)?.matchesIgnoringPort(wanted) == true }
    }

    /// Whether a redirect URI may be registered at all: absolute, no fragment (RFC 6749 §3.1.2).
    public static func isAcceptable(_ uri: String) -> Bool {
        guard let components = URLComponents(string: uri), let scheme = components.scheme, !scheme.isEmpty,
              components.fragment == nil else { return false }
        if scheme == "http" || scheme == "https" { return components.host?.isEmpty == false }
        return true
    }

    /// An `http` loopback URI split into the parts that must match.
    struct LoopbackURI: Equatable {
        let host: String
        let rest: String

        init?(_ uri: String) {
            let prefixes = ["http://127.0.0.1", "http://[::1]"]
            guard let prefix = prefixes.first(where: { uri.hasPrefix($0) }) else { return nil }
            var tail = Substring(uri.dropFirst(prefix.count))
            if tail.first == ":" {
                let digits = tail.dropFirst().prefix { $0.isASCII && $0.isNumber }
                guard !digits.isEmpty, digits.count <= 5, let port = Int(digits), (1...65_535).contains(port) else { return nil }
                tail = tail.dropFirst(1 + digits.count)
            }
            guard tail.isEmpty || tail.first == "/" || tail.first == "?" else { return nil }
            guard !tail.contains("#") else { return nil }
            self.host = prefix
            self.rest = String(tail)
        }

        func matchesIgnoringPort(_ other: LoopbackURI) -> Bool { host == other.host && rest == other.rest }
    }
}
