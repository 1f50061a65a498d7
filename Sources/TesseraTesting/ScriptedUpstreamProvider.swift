import Foundation
public import TesseraCore

/// An upstream provider's leg as the core sees it, for tests of Tessera's own side of federation (state, PKCE,
/// linking, sessions): it builds a recognisable authorization URL and answers `redeem` from a script, recording
/// what it was sent. The real HTTP client (discovery, JWKS, token exchange, ID token checks) is tested against a
/// live upstream in `TesseraFederationTests`, and the interop suite federates two Tessera processes.
public final class ScriptedUpstreamProvider: UpstreamProviderClient, @unchecked Sendable {
    private let lock = NSLock()
    private var _identity: UpstreamIdentity
    private var _failure: FederationFailure?
    private var _redeemed: [(code: String, verifier: String, nonce: String)] = []
    private var _authorized: [(state: String, nonce: String, challenge: String, redirectURI: String)] = []

    public init(identity: UpstreamIdentity) { _identity = identity }

    public var identity: UpstreamIdentity {
        get { lock.withLock { _identity } }
        set { lock.withLock { _identity = newValue } }
    }
    public var failure: FederationFailure? {
        get { lock.withLock { _failure } }
        set { lock.withLock { _failure = newValue } }
    }
    public var redeemed: [(code: String, verifier: String, nonce: String)] { lock.withLock { _redeemed } }
    public var authorized: [(state: String, nonce: String, challenge: String, redirectURI: String)] { lock.withLock { _authorized } }

    public func authorizationEndpoint() async throws(FederationFailure) -> String { "https://idp.example/authorize" }

    public func authorizationURL(state: String, nonce: String, codeChallenge: String, redirectURI: String) async throws(FederationFailure) -> String {
        lock.withLock { _authorized.append((state, nonce, codeChallenge, redirectURI)) }
        return "https://idp.example/authorize?state=\(state)&nonce=\(nonce)&code_challenge=\(codeChallenge)"
    }

    public func redeem(code: String, issuerParameter: String?, codeVerifier: String, nonce: String, redirectURI: String) async throws(FederationFailure)
        -> UpstreamIdentity {
        if let failure { throw failure }
        lock.withLock { _redeemed.append((code, codeVerifier, nonce)) }
        return identity
    }
}
