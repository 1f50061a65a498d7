import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// RFC 8265 §3.3 (PRECIS UsernameCaseMapped) and the UTS #39 single-script rule.
@Suite("Usernames (RFC 8265)")
struct UsernameTests {
    @Test("case, width and normalisation variants of one name are one username")
    func variantsAreOneName() throws {
        #expect(try Username("Alice").value == "alice")
        #expect(try Username("ALICE").value == "alice")
        #expect(try Username("\u{FF21}\u{FF4C}\u{FF49}\u{FF43}\u{FF45}").value == "alice", "full-width letters are width-mapped")
        #expect(try Username("jose\u{301}") == Username("jos\u{E9}"), "NFD and NFC are one name")
        #expect(try Username("Jos\u{E9}").value.unicodeScalars.count == 4, "stored in NFC")
        #expect(try Username("alice.smith_1-x@example.com").value == "alice.smith_1-x@example.com")
        #expect(try Username("Ωμέγα").value == "ωμέγα")
        #expect(try Username("田中さん").value == "田中さん", "Han + Hiragana is one writing system (Japanese)")
        #expect(try Username("user田中").value == "user田中", "Latin + Han is allowed (UTS #39 highly restrictive)")
    }

    @Test("zero-width, bidi, control, space and symbol characters are refused")
    func invisibleCharactersAreRefused() throws {
        for bad in ["al\u{200B}ice", "al\u{200D}ice", "al\u{200C}ice", "\u{FEFF}alice", "alice\u{202E}", "al\u{2066}ice",
                    "al\u{200E}ice", "al\u{061C}ice", "al ice", "alice\u{0}", "al\u{7}ice", "al\u{00A0}ice", "al\u{3000}ice",
                    "alice\u{2028}", "a♥b", "\u{E000}abc", "", "\u{301}alice"] {
            #expect(throws: Username.Problem.self, "\(bad.unicodeScalars.map { String($0.value, radix: 16) })") { try Username(bad) }
        }
        #expect(throws: Username.Problem.tooLong) { try Username(String(repeating: "a", count: 129)) }
    }

    @Test("a Cyrillic or Greek look-alike among Latin letters is refused (UTS #39 §5.2)")
    func mixedScriptsAreRefused() throws {
        #expect(throws: Username.Problem.mixedScripts) { try Username("\u{430}lice") }  // Cyrillic а
        #expect(throws: Username.Problem.mixedScripts) { try Username("p\u{430}ypal") }
        #expect(throws: Username.Problem.mixedScripts) { try Username("\u{3BF}mega") }  // Greek ο
        #expect(throws: Username.Problem.mixedScripts) { try Username("ab\u{627}") }   // Arabic alef
        // A whole name in one script is a different name, not a collision (whole-script confusables are out of scope).
        #expect(try Username("\u{430}\u{43B}\u{438}\u{441}\u{430}").value == "\u{430}\u{43B}\u{438}\u{441}\u{430}")
    }

    @Test("the store looks a typed name up by its canonical form")
    func storeLookupCanonicalises() async throws {
        let store = MemoryStore()
        try await store.insertUser(User(id: "u1", username: try Username("alice").value, passwordHash: "x", allowedScopes: [], createdAt: Date()))
        #expect(try await store.user(username: "ALICE")?.id == "u1")
        #expect(try await store.user(username: "\u{FF41}lice")?.id == "u1")
        #expect(try await store.user(username: "al\u{200B}ice") == nil)
        #expect(try await store.user(username: "\u{430}lice") == nil)
    }

    @Test("the migration renames unique names and reports collisions and invalid names without merging")
    func migrationPlan() {
        let plan = UsernameMigration.plan([(id: "1", username: "alice"), (id: "2", username: "Alice"), (id: "3", username: "Bob"),
                                           (id: "4", username: "CAROL"), (id: "5", username: "Carol"), (id: "6", username: "al\u{200B}ice"),
                                           (id: "7", username: "dave")])
        #expect(plan.renames.map(\.id) == ["3"] && plan.renames.map(\.username) == ["bob"])
        #expect(plan.unresolved.map(\.userID) == ["2", "4", "5", "6"])
        #expect(plan.unresolved.first?.reason == .collidesWith("alice"))
        if case .invalid = plan.unresolved.last?.reason {} else { Issue.record("zero-width name must be reported invalid") }
    }

    @Test("properties: canonical forms are idempotent, case-insensitive and contain no refused character")
    func properties() {
        var random = SeededRandom(seed: 0x8265_0001)
        let pieces: [String] = ["a", "B", "z", "0", "9", ".", "_", "-", "@", "É", "é", "e\u{301}", "ß", "İ", "Ω", "ж", "田", "か",
                                "\u{FF21}", "\u{FF41}", "\u{200B}", "\u{200D}", "\u{202E}", "\u{2066}", " ", "\u{0}", "\u{301}",
                                "\u{600}", "\u{FEFF}", "\u{1F600}", "ǅ", "ﬁ", "\u{0130}"]
        var accepted = 0
        for _ in 0..<5_000 {
            let raw = (0..<random.int(in: 0...8)).map { _ in random.pick(pieces) }.joined()
            guard let name = Username.canonical(raw) else { continue }
            accepted += 1
            #expect(Username.canonical(name.value) == name, "idempotent: \(raw.debugDescription)")
            // (ß and ﬁ upper-case to two letters, which toLowerCase does not undo: RFC 8265 maps case, it does not fold it.)
            if !raw.unicodeScalars.contains(where: { $0 == "ß" || $0 == "ﬁ" }) {
                #expect(Username.canonical(raw.uppercased()).map { $0 == name } ?? true, "case-insensitive: \(raw.debugDescription)")
            }
            #expect(name.value == name.value.precomposedStringWithCanonicalMapping, "NFC: \(raw.debugDescription)")
            for scalar in name.value.unicodeScalars {
                let category = scalar.properties.generalCategory
                #expect(![.format, .control, .spaceSeparator, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned]
                            .contains(category), "refused scalar U+\(String(scalar.value, radix: 16)) in \(raw.debugDescription)")
            }
        }
        #expect(accepted > 500, "the generator must reach valid names too")
    }
}
