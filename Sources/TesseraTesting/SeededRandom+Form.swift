import Foundation

/// Generators for form-encoding property tests (the server's form bodies, the shared decoder in
/// TesseraJOSE, HTTP Basic credentials).
extension SeededRandom {
    public mutating func hexDigit() -> Character { Array("0123456789abcdefABCDEF")[int(in: 0...21)] }

    /// Text from ASCII (with the form's special characters), Latin-1, CJK and emoji; never NUL.
    public mutating func text(maxLength: Int) -> String {
        let special = Array(" &=+%:;/?#[]@!$'()*,\"\\\t\n")
        var out = ""
        for _ in 0..<int(in: 0...maxLength) {
            switch int(in: 0...9) {
            case 0...4: out.unicodeScalars.append(Unicode.Scalar(UInt8(int(in: 0x21...0x7E))))
            case 5, 6: out.append(special[int(in: 0...(special.count - 1))])
            case 7: out.unicodeScalars.append(Unicode.Scalar(UInt32(int(in: 0xA0...0x24F)))!)
            case 8: out.unicodeScalars.append(Unicode.Scalar(UInt32(int(in: 0x4E00...0x9FFF)))!)
            default: out.unicodeScalars.append(Unicode.Scalar(UInt32(int(in: 0x1F600...0x1F64F)))!)
            }
        }
        return out
    }

    /// `application/x-www-form-urlencoded` encoding with random (valid) choices: `+` or `%20` for a
    /// space, unreserved characters escaped or not, upper- or lowercase hex.
    public mutating func formEncode(_ string: String) -> String {
        var out = ""
        for byte in string.utf8 {
            let unreserved = (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
            if byte == UInt8(ascii: " "), bool() {
                out += "+"
            } else if unreserved, int(in: 0...3) != 0 {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(format: bool() ? "%02X" : "%02x", byte)
            }
        }
        return out
    }
}
