import Foundation

/// Names a self-registered client may not take: those that imitate this server's own product name, so an
/// anonymous registrant cannot present itself as "Tessera Account Security" on the consent page
/// (RFC 7591 §5: `client_name` is the registrant's own, unverified claim; RFC 6819 §4.2.2 / RFC 9700 §4.13
/// on users being deceived by client identity). Operators (CLI, initial access token) may use any name.
public enum ReservedClientNames {
    /// The product name this server presents itself as.
    public static let productName = "Tessera"

    /// Whether `name` contains the product name after folding: the username preparation (width mapping, case
    /// mapping, NFC; RFC 8265 §3.3.2), then diacritics, everything but letters and digits, and the common
    /// Cyrillic and Greek look-alikes of Latin letters (a small part of the UTS #39 skeleton) are removed or mapped.
    public static func imitatesProduct(_ name: String) -> Bool {
        fold(name).contains(fold(productName))
    }

    /// The folded form compared by ``imitatesProduct(_:)``.
    static func fold(_ name: String) -> String {
        let mapped = Username.mapped(name).decomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        for scalar in mapped.unicodeScalars {
            if let latin = lookAlikes[scalar] {
                out.append(latin)
            } else if scalar.properties.generalCategory == .nonspacingMark || scalar.properties.generalCategory == .enclosingMark {
                continue
            } else if scalar.properties.isAlphabetic || scalar.properties.numericType != nil {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Lowercase Cyrillic and Greek letters that render like Latin ones (UTS #39 confusables, abridged).
    static let lookAlikes: [Unicode.Scalar: Unicode.Scalar] = [
        "\u{0430}": "a", "\u{0435}": "e", "\u{0455}": "s", "\u{0442}": "t", "\u{0440}": "p", "\u{043E}": "o", "\u{0441}": "c",
        "\u{0456}": "i", "\u{0445}": "x", "\u{0443}": "y", "\u{03B1}": "a", "\u{03B5}": "e", "\u{03C4}": "t", "\u{03BF}": "o",
        "\u{0433}": "r", "\u{0280}": "r",
    ]
}
