import Foundation
import TesseraCore
import TesseraFederation

/// Reads the `identityProviders` array of the JSON config file into `IdentityProviderSettings`.
///
/// ```json
/// "identityProviders": [
///   { "id": "google", "displayName": "Google", "type": "oidc", "issuer": "https://accounts.google.com",
///     "clientId": "…", "clientSecretEnv": "GOOGLE_CLIENT_SECRET", "scopes": "openid email profile", "provisionUsers": false },
///   { "id": "github", "displayName": "GitHub", "type": "oauth2",
///     "authorizationEndpoint": "https://github.com/login/oauth/authorize",
///     "tokenEndpoint": "https://github.com/login/oauth/access_token", "userinfoEndpoint": "https://api.github.com/user",
///     "clientId": "…", "clientSecretFile": "/run/secrets/github", "scopes": "read:user user:email",
///     "claims": { "subject": "id", "email": "email", "name": "name", "preferredUsername": "login" }, "provisionUsers": true }
/// ]
/// ```
/// The client secret comes from an environment variable (`clientSecretEnv`) or a file (`clientSecretFile`); a literal
/// `clientSecret` in the file is refused so it never lands in a repository. `provisionUsers` has no default: whether any
/// account at the provider may create a local user is stated for each provider.
enum IdentityProviderConfiguration {
    typealias Invalid = TesseraConfiguration.Invalid

    static let keys: Set<String> = [
        "id", "displayName", "type", "issuer", "authorizationEndpoint", "tokenEndpoint", "userinfoEndpoint", "clientId",
        "clientSecretEnv", "clientSecretFile", "scopes", "claims", "linkByVerifiedEmail", "provisionUsers", "trustedForMFA", "userScopes",
    ]
    static let claimKeys: Set<String> = ["subject", "email", "emailVerified", "name", "preferredUsername"]

    /// The providers, and the problems with their secrets (an unset variable, an unreadable or empty file): those are
    /// reported by `requireIdentityProviderSecrets()` where the secrets are needed (`serve`, `federation list`), so
    /// other admin commands run with the same config file need not see them.
    static func parse(_ value: Any, environment: [String: String]) throws(Invalid) -> (providers: [IdentityProviderSettings], secretProblems: [String]) {
        guard let array = value as? [Any] else { throw Invalid("identityProviders must be an array of objects") }
        var result: [IdentityProviderSettings] = []
        var problems: [String] = []
        for (index, element) in array.enumerated() {
            guard let object = element as? [String: Any] else { throw Invalid("identityProviders[\(index)] must be an object") }
            let provider = try parseProvider(object, index: index, environment: environment, problems: &problems)
            guard !result.contains(where: { $0.id == provider.id }) else { throw Invalid("identityProviders: the id '\(provider.id)' is used twice") }
            result.append(provider)
        }
        return (result, problems)
    }

    static func parseProvider(_ object: [String: Any], index: Int, environment: [String: String],
                              problems: inout [String]) throws(Invalid) -> IdentityProviderSettings {
        let label = "identityProviders[\(index)]"
        if object["clientSecret"] != nil {
            throw Invalid("\(label): a literal clientSecret is not allowed in the config file; use clientSecretEnv or clientSecretFile")
        }
        for key in object.keys where !keys.contains(key) { throw Invalid("\(label) has unknown key '\(key)'") }
        func string(_ key: String, required: Bool = true) throws(Invalid) -> String? {
            guard let raw = object[key] else {
                if required { throw Invalid("\(label) needs '\(key)'") }
                return nil
            }
            guard let value = raw as? String, !value.isEmpty else { throw Invalid("\(label).\(key) must be a non-empty string") }
            return value
        }
        func bool(_ key: String, default value: Bool) throws(Invalid) -> Bool {
            guard let raw = object[key] else { return value }
            guard let flag = raw as? Bool else { throw Invalid("\(label).\(key) must be true or false") }
            return flag
        }
        func words(_ key: String) throws(Invalid) -> [String]? {
            guard let raw = object[key] else { return nil }
            if let text = raw as? String { return text.split(separator: " ").map(String.init) }
            if let list = raw as? [String] { return list }
            throw Invalid("\(label).\(key) must be a string or an array of strings")
        }
        guard let id = try string("id"), IdentityProviderSettings.isValidID(id) else {
            throw Invalid("\(label).id must be 1–32 characters of a-z, 0-9 and -")
        }
        let name = "identityProviders '\(id)'"
        let displayName = try string("displayName", required: false) ?? id
        let kind: IdentityProviderKind
        switch try string("type") {
        case "oidc":
            let issuer = try string("issuer")!
            try checkURL(issuer, key: "\(name).issuer")
            kind = .openIDConnect(issuer: issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer)
        case "oauth2":
            let endpoints = OAuth2ProviderEndpoints(authorization: try string("authorizationEndpoint")!, token: try string("tokenEndpoint")!,
                                                    userinfo: try string("userinfoEndpoint")!)
            try checkURL(endpoints.authorization, key: "\(name).authorizationEndpoint")
            try checkURL(endpoints.token, key: "\(name).tokenEndpoint")
            try checkURL(endpoints.userinfo, key: "\(name).userinfoEndpoint")
            kind = .oauth2(endpoints: endpoints, claims: try claims(object["claims"], name: name))
        default:
            throw Invalid("\(name).type must be \"oidc\" or \"oauth2\"")
        }
        var secret = ""
        if let variable = try string("clientSecretEnv", required: false) {
            if let value = environment[variable], !value.isEmpty { secret = value } else {
                problems.append("\(name): the environment variable \(variable) is not set")
            }
        } else if let path = try string("clientSecretFile", required: false) {
            if let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) {
                secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if secret.isEmpty { problems.append("\(name): clientSecretFile \(path) is empty") }
            } else {
                problems.append("\(name): cannot read clientSecretFile \(path)")
            }
        } else {
            throw Invalid("\(name) needs clientSecretEnv or clientSecretFile")
        }
        // Whether every account at the provider may become a local user is the operator's explicit choice.
        guard object["provisionUsers"] != nil else {
            throw Invalid("\(name) needs \"provisionUsers\": true (a first sign-in that links to no user creates one) or false (it is refused)")
        }
        var userScopes: ScopeSet?
        if let scopes = try words("userScopes") {
            do { userScopes = try ScopeSet(parsing: scopes.joined(separator: " ")) } catch { throw Invalid("\(name).userScopes has invalid characters") }
        }
        return IdentityProviderSettings(
            id: id, displayName: displayName, kind: kind, clientID: try string("clientId")!, clientSecret: secret,
            scopes: try words("scopes") ?? (object["type"] as? String == "oidc" ? ["openid", "email", "profile"] : []),
            linkByVerifiedEmail: try bool("linkByVerifiedEmail", default: false), provisionUsers: try bool("provisionUsers", default: false),
            trustedForMFA: try bool("trustedForMFA", default: false), userScopes: userScopes)
    }

    static func claims(_ raw: Any?, name: String) throws(Invalid) -> ClaimMapping {
        guard let raw else { return ClaimMapping(subject: "id", emailVerified: nil, preferredUsername: "login") }
        guard let object = raw as? [String: Any] else { throw Invalid("\(name).claims must be an object") }
        for key in object.keys where !claimKeys.contains(key) { throw Invalid("\(name).claims has unknown key '\(key)'") }
        func member(_ key: String, default value: String?) throws(Invalid) -> String? {
            guard let raw = object[key] else { return value }
            if raw is NSNull { return nil }
            guard let text = raw as? String, !text.isEmpty else { throw Invalid("\(name).claims.\(key) must be a member name or null") }
            return text
        }
        guard let subject = try member("subject", default: "id") else { throw Invalid("\(name).claims.subject cannot be null") }
        return ClaimMapping(subject: subject, email: try member("email", default: "email"), emailVerified: try member("emailVerified", default: nil),
                            name: try member("name", default: "name"), preferredUsername: try member("preferredUsername", default: "login"))
    }

    /// The upstream clients' rule (`UpstreamURLPolicy`): https, or http on a loopback host (development and tests).
    static func checkURL(_ value: String, key: String) throws(Invalid) {
        guard UpstreamURLPolicy.isAcceptable(value) else {
            throw Invalid("\(key) must be an absolute https URL (http only on loopback), without user info or fragment")
        }
    }
}
