/// Settings of the example API, read from the environment and simple `--name value` arguments.
struct ExampleAPIConfiguration: Sendable {
    /// The authorization server whose tokens are accepted. Default `http://127.0.0.1:8080`.
    var issuer = "http://127.0.0.1:8080"
    /// The audience required in tokens; `nil` (default) accepts any audience.
    var audience: String?
    /// The address to listen on. Default `127.0.0.1`.
    var host = "127.0.0.1"
    /// The port to listen on. Default `8081`.
    var port = 8081
    /// `jwks` (default: verify JWTs locally) or `introspection` (ask the issuer, RFC 7662; sees revocations).
    var mode = "jwks"
    /// This API's client credentials at the issuer, for introspection mode.
    var clientID: String?
    var clientSecret: String?
    /// Seconds a positive introspection answer is cached. Default 30; 0 disables the cache.
    var introspectionCacheSeconds = 30

    /// This API's resource identifier (RFC 9728): the audience when it is an http(s) URL, else
    /// `http://<host>:<port>`.
    var resource: String {
        if let audience, audience.hasPrefix("https://") || audience.hasPrefix("http://") { return audience }
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "http://\(host):\(self.port)"
    }

    static let usage = """
        usage: tessera-example-api [--issuer URL] [--audience AUD] [--host HOST] [--port PORT]
          environment: TESSERA_ISSUER, EXAMPLE_API_AUDIENCE, EXAMPLE_API_HOST, EXAMPLE_API_PORT,
                       EXAMPLE_API_MODE (jwks|introspection), EXAMPLE_API_CLIENT_ID, EXAMPLE_API_CLIENT_SECRET,
                       EXAMPLE_API_INTROSPECTION_CACHE (seconds, default 30)
        """

    struct InvalidArgument: Error, CustomStringConvertible {
        let description: String
    }

    init() {}

    init(environment: [String: String], arguments: [String]) throws {
        if let issuer = environment["TESSERA_ISSUER"], !issuer.isEmpty { self.issuer = issuer }
        if let audience = environment["EXAMPLE_API_AUDIENCE"], !audience.isEmpty { self.audience = audience }
        if let host = environment["EXAMPLE_API_HOST"], !host.isEmpty { self.host = host }
        if let port = environment["EXAMPLE_API_PORT"], !port.isEmpty { self.port = try Self.port(port) }
        if let mode = environment["EXAMPLE_API_MODE"], !mode.isEmpty {
            guard ["jwks", "introspection"].contains(mode) else { throw InvalidArgument(description: "EXAMPLE_API_MODE must be jwks or introspection") }
            self.mode = mode
        }
        if let id = environment["EXAMPLE_API_CLIENT_ID"], !id.isEmpty { self.clientID = id }
        if let secret = environment["EXAMPLE_API_CLIENT_SECRET"], !secret.isEmpty { self.clientSecret = secret }
        if let cache = environment["EXAMPLE_API_INTROSPECTION_CACHE"], !cache.isEmpty {
            guard let seconds = Int(cache), seconds >= 0 else { throw InvalidArgument(description: "EXAMPLE_API_INTROSPECTION_CACHE must be a number of seconds") }
            self.introspectionCacheSeconds = seconds
        }
        if mode == "introspection", clientID == nil || clientSecret == nil {
            throw InvalidArgument(description: "introspection mode needs EXAMPLE_API_CLIENT_ID and EXAMPLE_API_CLIENT_SECRET")
        }

        var remaining = arguments[...]
        while let argument = remaining.popFirst() {
            // Accept both "--name value" and "--name=value".
            let name: String
            let value: String
            if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                name = argument
                if name == "--help" || name == "-h" { throw InvalidArgument(description: "help requested") }
                guard let next = remaining.popFirst() else {
                    throw InvalidArgument(description: "missing value for \(name)")
                }
                value = next
            }
            switch name {
            case "--issuer": self.issuer = value
            case "--audience": self.audience = value.isEmpty ? nil : value
            case "--host": self.host = value
            case "--port": self.port = try Self.port(value)
            default: throw InvalidArgument(description: "unknown argument \(name)")
            }
        }
    }

    private static func port(_ value: String) throws -> Int {
        guard let port = Int(value), (0...65535).contains(port) else {
            throw InvalidArgument(description: "invalid port \(value)")
        }
        return port
    }
}
