public import NIOCore
public import TesseraCore

/// Writes a flat JSON object straight into a `ByteBuffer`, for the two answers on the hot path
/// (`/token` and `/introspect`), where Foundation's `JSONEncoder` cost about 8 % of the CPU per request.
///
/// Callers add fields in sorted key order, so the bytes match what ``JSON`` (sorted keys, unescaped
/// slashes) writes for the same value; `nil` fields are left out, as `Codable` does.
struct JSONObjectWriter {
    private(set) var buffer: ByteBuffer
    private var empty = true

    init(capacity: Int = 1024) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
        buffer.writeInteger(UInt8(ascii: "{"))
    }

    mutating func field(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        writeKey(key)
        writeString(value)
    }

    mutating func field(_ key: StaticString, _ value: Int?) {
        guard let value else { return }
        writeKey(key)
        buffer.writeString(String(value))
    }

    mutating func field(_ key: StaticString, _ value: Bool) {
        writeKey(key)
        buffer.writeStaticString(value ? "true" : "false")
    }

    mutating func field(_ key: StaticString, _ values: [String]?) {
        guard let values else { return }
        writeKey(key)
        buffer.writeInteger(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            writeString(value)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
    }

    /// Closes the object and returns its bytes.
    consuming func finish() -> ByteBuffer {
        buffer.writeInteger(UInt8(ascii: "}"))
        return buffer
    }

    private mutating func writeKey(_ key: StaticString) {
        if !empty { buffer.writeInteger(UInt8(ascii: ",")) }
        empty = false
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(key)
        buffer.writeStaticString("\":")
    }

    /// A JSON string (RFC 8259 §7): quote, backslash and control characters escaped; everything else,
    /// `/` and non-ASCII included, written as UTF-8.
    private mutating func writeString(_ value: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        let utf8 = value.utf8
        if utf8.withContiguousStorageIfAvailable({ bytes in !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") } }) == true {
            buffer.writeString(value)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                case 0x08: buffer.writeStaticString("\\b")
                case 0x0C: buffer.writeStaticString("\\f")
                case ..<0x20:
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(Self.hexDigits[Int(byte >> 4)])
                    buffer.writeInteger(Self.hexDigits[Int(byte & 0x0F)])
                default: buffer.writeInteger(byte)
                }
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
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
