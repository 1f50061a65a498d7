// JSON text (RFC 8259) written straight into bytes, for the few documents on the hot path: the JWT payloads Tessera
// signs, the `/token` and `/introspect` answers and the audit log's details. Foundation's `JSONEncoder` cost a
// tenth of a token request; this writes the same bytes as `JSONEncoder` with sorted keys and unescaped slashes.

/// Appends JSON values to a byte array. Strings are escaped by ``appendString(_:)``, the one JSON escaper
/// of the hot path: `"`, `\` and the C0 control characters escaped, everything else (`/` and non-ASCII included)
/// written as UTF-8.
public struct JSONBytes: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// A JSON string (RFC 8259 §7).
    public mutating func appendString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            // Runs of bytes that need no escape are copied at once.
            var start = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index]))
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
                case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                              Self.hexDigits[Int(byte >> 4)], Self.hexDigits[Int(byte & 0x0F)]])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A JSON number for an integer.
    public mutating func appendInteger(_ value: Int) {
        if value == 0 { bytes.append(UInt8(ascii: "0")); return }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(20 - count)...]))
        }
    }

    public mutating func appendBool(_ value: Bool) {
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    public mutating func appendRaw(_ byte: UInt8) {
        bytes.append(byte)
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}

/// A flat JSON object written member by member. Callers add members in sorted key order, so the bytes match
/// `JSONEncoder` with `.sortedKeys` for the same value; `nil` members are left out, as `Codable` does.
public struct JSONObjectBytes: Sendable {
    private var json: JSONBytes
    private var empty = true

    public init(capacity: Int = 256) {
        json = JSONBytes(capacity: capacity)
        json.appendRaw(UInt8(ascii: "{"))
    }

    public mutating func field(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        writeKey(key)
        json.appendString(value)
    }

    public mutating func field(_ key: StaticString, _ value: Int?) {
        guard let value else { return }
        writeKey(key)
        json.appendInteger(value)
    }

    public mutating func field(_ key: StaticString, _ value: Bool) {
        writeKey(key)
        json.appendBool(value)
    }

    public mutating func field(_ key: StaticString, _ values: [String]?) {
        guard let values else { return }
        writeKey(key)
        json.appendRaw(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { json.appendRaw(UInt8(ascii: ",")) }
            json.appendString(value)
        }
        json.appendRaw(UInt8(ascii: "]"))
    }

    /// A member whose key is only known at run time (keys must still come in sorted order).
    public mutating func field(dynamicKey key: String, _ value: String) {
        if !empty { json.appendRaw(UInt8(ascii: ",")) }
        empty = false
        json.appendString(key)
        json.appendRaw(UInt8(ascii: ":"))
        json.appendString(value)
    }

    /// Closes the object and returns its bytes.
    public consuming func finish() -> [UInt8] {
        json.appendRaw(UInt8(ascii: "}"))
        return json.bytes
    }

    private mutating func writeKey(_ key: StaticString) {
        if !empty { json.appendRaw(UInt8(ascii: ",")) }
        empty = false
        json.appendRaw(UInt8(ascii: "\""))
        key.withUTF8Buffer { json.appendRaw(contentsOf: $0) }
        json.appendRaw(UInt8(ascii: "\""))
        json.appendRaw(UInt8(ascii: ":"))
    }
}

extension JSONBytes {
    mutating func appendRaw(contentsOf buffer: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: buffer)
    }
}

extension JSONObjectBytes {
    /// A `[String: String]` as a JSON object with sorted keys (the at-rest form of audit details).
    public static func sorted(_ dictionary: [String: String]) -> [UInt8] {
        var object = JSONObjectBytes(capacity: 64 + dictionary.count * 32)
        for key in dictionary.keys.sorted() { object.field(dynamicKey: key, dictionary[key]!) }
        return object.finish()
    }
}
