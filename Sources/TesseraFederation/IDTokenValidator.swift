import Crypto
import Foundation
import JWTKit
import TesseraCore
import TesseraJOSE

/// Validates an upstream ID token (OIDC Core §3.1.3.7) and reads the identity from it.
///
/// In order: a compact JWS with a known asymmetric `alg` (also listed by the provider when it lists any) and no
/// `crit`; a signature that verifies with the provider's key for that `kid` and `alg`; `iss` equal to the issuer;
/// `aud` containing the client id, with `azp` equal to it when there are several audiences or `azp` is present;
/// `exp` in the future and `iat` (and `nbf`) not beyond ``clockSkew`` in the future; `nonce` equal to the sign-in's
/// nonce; a non-empty `sub`; and `at_hash`, when present, matching the access token.
struct IDTokenValidator: Sendable {
    let issuer: String
    let clientID: String
    let clock: any TimeSource
    /// Tolerated difference between the provider's clock and ours.
    var clockSkew: TimeInterval = 60
    /// Longer ID tokens are refused unparsed.
    var maximumLength = 64 * 1024

    /// The verified claims of `token`.
    func validate(_ token: String, nonce: String, accessToken: String?, metadata: OpenIDProviderMetadata,
                  keys: OpenIDProviderCache) async throws(FederationFailure) -> [String: JSONValue] {
        guard token.utf8.count <= self.maximumLength else { throw .invalidIDToken(detail: "the ID token is too long") }
        guard let jws = try? CompactJWS(token), let header = JSONValue.object(from: Data(jws.headerBytes)) else {
            throw .invalidIDToken(detail: "the ID token is not a compact JWS")
        }
        guard let name = header["alg"]?.stringValue, let algorithm = JWSAlgorithm(name: name) else {
            throw .invalidIDToken(detail: "the ID token's alg \(header["alg"]?.stringValue.map(TokenExchange.sanitizedCode) ?? "(missing)") is not an accepted asymmetric algorithm")
        }
        if let listed = metadata.idTokenSigningAlgorithms, !listed.contains(algorithm.name) {
            throw .invalidIDToken(detail: "the ID token's alg \(algorithm.name) is not one the provider lists")
        }
        guard header["crit"] == nil else {
            throw .invalidIDToken(detail: "the ID token has critical header parameters")
        }
        let kid: String?
        switch header["kid"] {
        case nil: kid = nil
        case .string(let value)?: kid = value
        default: throw .invalidIDToken(detail: "the ID token's kid is not a string")
        }

        let key = try await keys.verificationKey(kid: kid, algorithm: algorithm.name, jwksURI: metadata.jwksURI)
        let valid = (try? key.verifier.verify(jws.signature, signs: jws.signingInput)) ?? false
        guard valid else { throw .invalidIDToken(detail: "the ID token's signature does not verify") }

        guard let claims = JSONValue.object(from: jws.payload) else {
            throw .invalidIDToken(detail: "the ID token's payload is not a JSON object")
        }
        try self.check(claims, nonce: nonce, accessToken: accessToken, algorithm: algorithm)
        return claims
    }

    private func check(_ claims: [String: JSONValue], nonce: String, accessToken: String?, algorithm: JWSAlgorithm) throws(FederationFailure) {
        // Google documents that its ID tokens may carry `accounts.google.com` without the scheme; accept exactly that alias.
        let googleAlias = self.issuer == "https://accounts.google.com" && claims["iss"]?.stringValue == "accounts.google.com"
        guard claims["iss"]?.stringValue == self.issuer || googleAlias else {
            throw .invalidIDToken(detail: "the ID token's iss is not the provider's issuer")
        }
        let audience: [String]
        switch claims["aud"] {
        case .string(let value)?: audience = [value]
        case .array? where claims["aud"]?.stringArray != nil: audience = claims["aud"]!.stringArray!
        default: throw .invalidIDToken(detail: "the ID token has no valid aud")
        }
        guard audience.contains(self.clientID) else {
            throw .invalidIDToken(detail: "the ID token's aud does not contain this client")
        }
        if audience.count > 1 || claims["azp"] != nil {
            guard claims["azp"]?.stringValue == self.clientID else {
                throw .invalidIDToken(detail: "the ID token's azp is not this client")
            }
        }
        let now = self.clock.now.timeIntervalSince1970
        guard let expiresAt = claims["exp"]?.numberValue, expiresAt.isFinite else {
            throw .invalidIDToken(detail: "the ID token has no valid exp")
        }
        guard expiresAt > now else { throw .invalidIDToken(detail: "the ID token expired") }
        guard let issuedAt = claims["iat"]?.numberValue, issuedAt.isFinite else {
            throw .invalidIDToken(detail: "the ID token has no valid iat")
        }
        guard issuedAt <= now + self.clockSkew else { throw .invalidIDToken(detail: "the ID token was issued in the future") }
        if let notBefore = claims["nbf"] {
            guard let value = notBefore.numberValue, value.isFinite, value <= now + self.clockSkew else {
                throw .invalidIDToken(detail: "the ID token is not valid yet")
            }
        }
        guard let tokenNonce = claims["nonce"]?.stringValue,
            Secrets.constantTimeEquals(Data(tokenNonce.utf8), Data(nonce.utf8))
        else {
            throw .nonceMismatch
        }
        guard let subject = claims["sub"]?.stringValue, !subject.isEmpty, subject.utf8.count <= 255 else {
            throw .invalidIDToken(detail: "the ID token has no valid sub")
        }
        if let atHash = claims["at_hash"] {
            guard let accessToken, let expected = atHash.stringValue,
                expected == Self.halfHash(accessToken, bits: algorithm.hashBits)
            else {
                throw .invalidIDToken(detail: "the ID token's at_hash does not match the access token")
            }
        }
    }

    /// base64url of the left half of the access token's hash (OIDC Core §3.1.3.6).
    static func halfHash(_ value: String, bits: Int) -> String {
        let data = Data(value.utf8)
        let digest: Data
        switch bits {
        case 384: digest = Data(SHA384.hash(data: data))
        case 512: digest = Data(SHA512.hash(data: data))
        default: digest = Data(SHA256.hash(data: data))
        }
        return Data(digest.prefix(digest.count / 2)).base64URLEncodedString()
    }
}

/// Reading the identity claims shared by ID tokens and userinfo answers (OIDC Core §5.1).
enum StandardClaims {
    /// `email_verified` as a boolean, or the string `"true"` some providers send.
    static func emailVerified(_ value: JSONValue?) -> Bool {
        switch value {
        case .bool(let flag)?: flag
        case .string(let text)?: text.lowercased() == "true"
        default: false
        }
    }

    /// A non-empty string member, or `nil`.
    static func string(_ value: JSONValue?) -> String? {
        guard let text = value?.stringValue, !text.isEmpty else { return nil }
        return text
    }
}
