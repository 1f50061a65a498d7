import Foundation
import TesseraJOSE
import TesseraTesting
import Testing

/// The hot path's JSON writer (`JSONBytes`, `JSONObjectBytes`): whatever it writes parses back to the value it was
/// given, and plain values are byte-for-byte what `JSONEncoder` (sorted keys, unescaped slashes) writes.
@Suite("JSON bytes writer (properties)")
struct JSONBytesPropertyTests {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// Strings with every character class the escaper treats apart: quote, backslash, C0 controls, DEL, slash, non-ASCII.
    static func awkwardString(_ random: inout SeededRandom) -> String {
        var out = ""
        for _ in 0..<random.int(in: 0...24) {
            switch random.int(in: 0...5) {
            case 0: out.unicodeScalars.append(Unicode.Scalar(UInt8(random.int(in: 0x00...0x1F))))
            case 1: out.append(random.pick(["\"", "\\", "/", "\u{7F}", "\u{2028}", "e\u{301}"]))
            case 2: out.append(random.text(maxLength: 3))
            default: out.unicodeScalars.append(Unicode.Scalar(UInt8(random.int(in: 0x20...0x7E))))
            }
        }
        return out
    }

    @Test("property: strings round-trip through JSONDecoder and match JSONEncoder's bytes")
    func strings() throws {
        var random = SeededRandom(seed: 8259)
        for _ in 0..<5_000 {
            let value = Self.awkwardString(&random)
            var json = JSONBytes()
            json.appendString(value)
            #expect(try JSONDecoder().decode(String.self, from: Data(json.bytes)) == value)
            #expect(json.bytes == Array(try Self.encoder.encode(value)), "\(value.debugDescription)")
        }
    }

    @Test("property: integers, including the extremes, match JSONEncoder")
    func integers() throws {
        var random = SeededRandom(seed: 64)
        let extremes = [0, 1, -1, 9, 10, -10, Int.max, Int.min, Int.max - 1, Int.min + 1]
        for value in extremes + (0..<5_000).map({ _ in random.int(in: Int.min...Int.max) >> random.int(in: 0...62) }) {
            var json = JSONBytes()
            json.appendInteger(value)
            #expect(json.bytes == Array(try Self.encoder.encode(value)), "\(value)")
        }
    }

    @Test("property: sorted string dictionaries (audit details) decode back to themselves, keys in order")
    func sortedDictionaries() throws {
        var random = SeededRandom(seed: 6_1)
        for _ in 0..<2_000 {
            var dictionary: [String: String] = [:]
            for _ in 0..<random.int(in: 0...6) { dictionary[Self.awkwardString(&random)] = Self.awkwardString(&random) }
            let bytes = JSONObjectBytes.sorted(dictionary)
            #expect(try JSONDecoder().decode([String: String].self, from: Data(bytes)) == dictionary)
            if dictionary.keys.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) {
                #expect(bytes == Array(try Self.encoder.encode(dictionary)), "ASCII keys sort as JSONEncoder sorts them")
            }
        }
    }

    @Test("objects: members in the order given, nil members left out, arrays and booleans")
    func objects() throws {
        var object = JSONObjectBytes()
        object.field("a", ["x", "y/z"])
        object.field("b", nil as String?)
        object.field("c", true)
        object.field("d", -5)
        object.field("e", "q\"")
        #expect(String(decoding: object.finish(), as: UTF8.self) == #"{"a":["x","y/z"],"c":true,"d":-5,"e":"q\""}"#)
        #expect(JSONObjectBytes().finish() == Array("{}".utf8))
    }
}
