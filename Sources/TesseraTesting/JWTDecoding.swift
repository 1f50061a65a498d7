import Foundation
import TesseraCore
public import Testing

/// Splits a compact JWT (RFC 7519 §3) and decodes its header and payload as JSON objects, for tests that
/// read what was minted; no signature check. Fails the test (`#require`) when the token is malformed.
public func decodeJWT(_ token: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (header: [String: Any], claims: [String: Any]) {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    try #require(parts.count == 3, sourceLocation: sourceLocation)
    let header = try #require(Data(base64URLEncoded: String(parts[0])), sourceLocation: sourceLocation)
    let claims = try #require(Data(base64URLEncoded: String(parts[1])), sourceLocation: sourceLocation)
    return (try #require(try JSONSerialization.jsonObject(with: header) as? [String: Any], sourceLocation: sourceLocation),
            try #require(try JSONSerialization.jsonObject(with: claims) as? [String: Any], sourceLocation: sourceLocation))
}
