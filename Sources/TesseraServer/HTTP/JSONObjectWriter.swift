public import NIOCore
public import TesseraCore
import TesseraJOSE

/// Writes a flat JSON object for the two answers on the hot path (`/token` and `/introspect`), where
/// Foundation's `JSONEncoder` cost about 8 % of the CPU per request: the shared ``JSONObjectBytes`` writer
/// (sorted members, one JSON string escaper), handed over as a `ByteBuffer`.
struct JSONObjectWriter {
    private var object = JSONObjectBytes(capacity: 1024)

    mutating func field(_ key: StaticString, _ value: String?) { object.field(key, value) }
    mutating func field(_ key: StaticString, _ value: Int?) { object.field(key, value) }
    mutating func field(_ key: StaticString, _ value: Bool) { object.field(key, value) }
    mutating func field(_ key: StaticString, _ values: [String]?) { object.field(key, values) }

    /// Closes the object and returns its bytes.
    consuming func finish() -> ByteBuffer {
        ByteBuffer(bytes: object.finish())
    }
}

extension TokenResponse {
    /// The RFC 6749 §5.1 body, keys sorted (the bytes `/token` sends).
    public var jsonBuffer: ByteBuffer {
        var writer = JSONObjectWriter()
        writer.field("access_token", accessToken)
        writer.field("expires_in", expiresIn)
        writer.field("id_token", idToken)
        writer.field("refresh_token", refreshToken)
        writer.field("scope", scope)
        writer.field("token_type", tokenType)
        return writer.finish()
    }
}

extension IntrospectionResponse {
    /// The RFC 7662 §2.2 body, keys sorted (the bytes `/introspect` sends).
    public var jsonBuffer: ByteBuffer {
        var writer = JSONObjectWriter()
        writer.field("active", active)
        writer.field("aud", aud)
        writer.field("client_id", clientID)
        writer.field("exp", exp)
        writer.field("iat", iat)
        writer.field("iss", iss)
        writer.field("jti", jti)
        writer.field("scope", scope)
        writer.field("sub", sub)
        writer.field("token_type", tokenType)
        return writer.finish()
    }
}
