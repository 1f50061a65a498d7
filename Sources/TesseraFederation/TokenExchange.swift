import Foundation
import TesseraCore

/// How Tessera authenticates to a provider's token endpoint (RFC 6749 §2.3.1).
public enum UpstreamClientAuthentication: Sendable, Hashable {
    /// HTTP Basic with the form-urlencoded client id and secret (`client_secret_basic`).
    case clientSecretBasic
    /// `client_id` and `client_secret` in the request body (`client_secret_post`).
    case clientSecretPost
}

/// The token endpoint's successful answer, as far as the relying party needs it.
struct UpstreamTokenResponse: Sendable {
    var accessToken: String?
    var idToken: String?
}

/// The authorization code redemption (RFC 6749 §4.1.3 with RFC 7636's `code_verifier`), shared by both clients.
struct TokenExchange: Sendable {
    let http: UpstreamHTTP
    let clientID: String
    let clientSecret: String

    func redeem(tokenEndpoint: String, code: String, codeVerifier: String, redirectURI: String,
                authentication: UpstreamClientAuthentication, acceptFormEncoded: Bool) async throws(FederationFailure) -> UpstreamTokenResponse {
        var fields = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", codeVerifier)]
        var headers = [("Accept", "application/json")]
        switch authentication {
        case .clientSecretBasic:
            headers.append(("Authorization", Self.basicAuthorization(clientID: self.clientID, clientSecret: self.clientSecret)))
        case .clientSecretPost:
            fields.append(("client_id", self.clientID))
            fields.append(("client_secret", self.clientSecret))
        }
        let response = try await self.http.postForm(tokenEndpoint, fields: fields, headers: headers)
        let endpoint = UpstreamHTTP.describe(tokenEndpoint)

        let members: [String: String]
        if let object = response.jsonObject {
            members = object.compactMapValues(\.stringValue)
        } else if acceptFormEncoded, let form = FormEncoding.decode(String(decoding: response.body, as: UTF8.self)),
            form["access_token"] != nil || form["error"] != nil {
            members = form
        } else if response.status == 200 {
            throw .providerUnavailable(detail: "\(endpoint) answered HTTP 200 without a JSON token response")
        } else {
            members = [:]
        }
        // RFC 6749 §5.2; GitHub also reports errors with HTTP 200.
        if let error = members["error"] {
            throw .tokenExchangeFailed(detail: "\(endpoint) answered HTTP \(response.status) error=\(Self.sanitizedCode(error))")
        }
        guard response.status == 200 else {
            if response.status >= 500 {
                throw .providerUnavailable(detail: "\(endpoint) answered HTTP \(response.status)")
            }
            throw .tokenExchangeFailed(detail: "\(endpoint) answered HTTP \(response.status) without an error code")
        }
        let accessToken = members["access_token"].flatMap { $0.isEmpty ? nil : $0 }
        let idToken = members["id_token"].flatMap { $0.isEmpty ? nil : $0 }
        return UpstreamTokenResponse(accessToken: accessToken, idToken: idToken)
    }

    /// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
    static func basicAuthorization(clientID: String, clientSecret: String) -> String {
        let credentials = FormEncoding.encodeComponent(clientID) + ":" + FormEncoding.encodeComponent(clientSecret)
        return "Basic " + Data(credentials.utf8).base64EncodedString()
    }

    /// An upstream error code fit for a log line: the RFC 6749 error character set, at most 64 characters.
    static func sanitizedCode(_ code: String) -> String {
        let allowed = code.unicodeScalars.prefix(64).filter { $0.value >= 0x20 && $0.value <= 0x7E && $0 != "\"" && $0 != "\\" }
        let text = String(String.UnicodeScalarView(allowed))
        return text.isEmpty ? "(unreadable)" : text
    }
}

extension Array where Element == String {
    /// The scopes to request: these in order without duplicates or empty entries, with `required` first when missing.
    func requestedScopes(adding required: String?) -> [String] {
        var seen: Set<String> = []
        var scopes: [String] = []
        if let required, !self.contains(required) {
            scopes.append(required)
            seen.insert(required)
        }
        for scope in self where !scope.isEmpty && seen.insert(scope).inserted {
            scopes.append(scope)
        }
        return scopes
    }
}
