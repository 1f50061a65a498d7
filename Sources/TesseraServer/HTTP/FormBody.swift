import Foundation
public import TesseraCore
import TesseraJOSE

/// `application/x-www-form-urlencoded` parsing (WHATWG URL §5.1): the shared strict decoder
/// (`TesseraJOSE.FormURLEncoding`) with its failures as the `invalid_request` errors to answer.
public enum FormBody {
    /// Parses a form body into ordered name/value pairs, duplicates kept for the caller to judge.
    public static func parse(_ bytes: some Collection<UInt8>) throws(OAuthError) -> [(String, String)] {
        do throws(FormDecodingError) {
            return try FormURLEncoding.parse(bytes)
        } catch {
            throw invalidRequest(error)
        }
    }

    /// Percent-decodes one component (`+` is a space) and validates UTF-8.
    public static func decode(_ component: some Collection<UInt8>) throws(OAuthError) -> String {
        do throws(FormDecodingError) {
            return try FormURLEncoding.decode(component)
        } catch {
            throw invalidRequest(error)
        }
    }

    private static func invalidRequest(_ error: FormDecodingError) -> OAuthError {
        switch error {
        case .malformedPercentEncoding: .invalidRequest("The request body has a malformed percent-encoding.")
        case .invalidUTF8: .invalidRequest("The request body is not valid UTF-8.")
        case .nulCharacter: .invalidRequest("The request body contains a NUL character.")
        }
    }
}

/// HTTP Basic client credentials (RFC 7617, with RFC 6749 §2.3.1's form-encoding of id and secret): the
/// shared parser (`TesseraJOSE.BasicAuthorization`) with its failure as the OAuth error to answer.
public enum BasicCredentials {
    /// The `invalid_client` error for malformed Basic credentials.
    public static var malformed: OAuthError { .invalidClient("Malformed HTTP Basic credentials.") }

    /// Parses an `Authorization` header value.
    /// - Returns: `nil` when the header uses another scheme.
    /// - Throws: `invalid_client` when the Basic credentials are malformed.
    public static func parse(authorization: String) throws(OAuthError) -> (id: String, secret: String)? {
        switch BasicAuthorization(header: authorization) {
        case .credentials(let id, let secret): return (id, secret)
        case .absent, .otherScheme: return nil
        case .malformed: throw malformed
        }
    }
}
