import Foundation
import TesseraCore
import TesseraTesting
import Testing

/// Property tests for redirect URI matching (RFC 9700 §2.1, RFC 8252 §7.3) and PKCE (RFC 7636): seeded,
/// deterministic generators, thousands of cases each.
@Suite("Redirect URI matching and PKCE (properties)")
struct AuthorizationPropertyTests {
    static let iterations = 3_000

    // MARK: Redirect URIs

    @Test("exact match is reflexive, for public and confidential clients")
    func reflexive() {
        var random = SeededRandom(seed: 0x4EF1)
        for _ in 0..<Self.iterations {
            let uri = random.redirectURI()
            #expect(RedirectURIMatcher.match(uri, registered: [uri], isPublicClient: random.bool()) == uri)
            let others = (0..<random.int(in: 0...3)).map { _ in random.redirectURI() }
            #expect(RedirectURIMatcher.match(uri, registered: others + [uri], isPublicClient: random.bool()) == uri)
        }
    }

    @Test("any single-character change of a registered non-loopback URI never matches")
    func mutationsNeverMatch() {
        var random = SeededRandom(seed: 0x3717A7E)
        for _ in 0..<(Self.iterations * 2) {
            let registered = random.redirectURI(loopback: false)
            let mutated = random.mutate(registered)
            guard mutated != registered else { continue }
            #expect(RedirectURIMatcher.match(mutated, registered: [registered], isPublicClient: true) == nil, "\(registered) ~ \(mutated)")
            #expect(RedirectURIMatcher.match(mutated, registered: [registered], isPublicClient: false) == nil, "\(registered) ~ \(mutated)")
        }
    }

    @Test("the loopback port exception holds only for public clients and http loopback literals")
    func loopbackPorts() {
        var random = SeededRandom(seed: 0x100B)
        for _ in 0..<Self.iterations {
            let host = ["127.0.0.1", "[::1]"][random.int(in: 0...1)]
            let path = random.path()
            let registered = "http://\(host):\(random.int(in: 1...65_535))\(path)"
            let other = "http://\(host):\(random.int(in: 1...65_535))\(path)"
            let portless = "http://\(host)\(path)"
            #expect(RedirectURIMatcher.match(other, registered: [registered], isPublicClient: true) == registered)
            #expect(RedirectURIMatcher.match(portless, registered: [registered], isPublicClient: true) == registered)
            if other != registered {
                #expect(RedirectURIMatcher.match(other, registered: [registered], isPublicClient: false) == nil)
            }
            // No exception for https, for `localhost` or for another path.
            for (requested, stored) in [
                ("https://\(host):\(random.int(in: 1...65_535))\(path)", "https://\(host):\(random.int(in: 1...65_535))\(path)"),
                ("http://localhost:\(random.int(in: 1...65_535))\(path)", "http://localhost:\(random.int(in: 1...65_535))\(path)"),
            ] where requested != stored {
                #expect(RedirectURIMatcher.match(requested, registered: [stored], isPublicClient: true) == nil)
            }
            let otherPath = path + "/" + random.word()
            #expect(RedirectURIMatcher.match("http://\(host):\(random.int(in: 1...65_535))\(otherPath)", registered: [registered], isPublicClient: true) == nil)
        }
    }

    @Test("random strings never crash the matcher and only match what is registered or a loopback twin")
    func randomStrings() {
        var random = SeededRandom(seed: 0xC0FFEE)
        for _ in 0..<(Self.iterations * 2) {
            let requested = random.bool() ? random.mutate(random.redirectURI()) : random.noise(maxLength: 60)
            let registered = (0..<random.int(in: 0...3)).map { _ in random.redirectURI() }
            let isPublic = random.bool()
            if let matched = RedirectURIMatcher.match(requested, registered: registered, isPublicClient: isPublic) {
                #expect(registered.contains(matched))
                if matched != requested {
                    #expect(isPublic && requested.hasPrefix("http://") && matched.hasPrefix("http://"))
                }
            }
            _ = RedirectURIMatcher.isAcceptable(requested)
        }
    }

    // MARK: PKCE

    @Test("well-formedness is exactly 43–128 unreserved characters")
    func verifierGrammar() {
        var random = SeededRandom(seed: 0x9C3E)
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".unicodeScalars)
        for _ in 0..<(Self.iterations * 2) {
            let length = random.int(in: 0...140)
            let value: String
            if random.bool() {
                value = random.verifier(length: length)
            } else {
                var scalars = random.verifier(length: length).unicodeScalars.map { $0 }
                if !scalars.isEmpty {
                    let noise = random.noise(maxLength: 1).unicodeScalars.first ?? "!"
                    scalars[random.int(in: 0...(scalars.count - 1))] = noise
                }
                value = String(String.UnicodeScalarView(scalars))
            }
            let expected = (43...128).contains(value.utf8.count) && value.unicodeScalars.allSatisfy { unreserved.contains($0) }
            #expect(PKCE.isWellFormed(value) == expected, "\(value)")
        }
    }

    @Test("S256 round trip: a verifier proves its own challenge and no other")
    func s256RoundTrip() {
        var random = SeededRandom(seed: 0x5256)
        #expect(PKCE.challenge(for: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")  // RFC 7636 App. B
        for _ in 0..<Self.iterations {
            let verifier = random.verifier(length: random.int(in: 43...128))
            let challenge = PKCE.challenge(for: verifier)
            #expect(challenge.utf8.count == 43 && PKCE.isWellFormed(challenge))
            #expect(PKCE.verify(verifier: verifier, challenge: challenge))
            let other = random.mutate(verifier)
            if other != verifier {
                #expect(!PKCE.verify(verifier: other, challenge: challenge), "\(verifier) ~ \(other)")
            }
            let otherChallenge = random.mutate(challenge)
            if otherChallenge != challenge {
                #expect(!PKCE.verify(verifier: verifier, challenge: otherChallenge))
            }
        }
    }

    @Test("random verifiers and challenges never crash and never verify")
    func randomNeverVerifies() {
        var random = SeededRandom(seed: 0xF422)
        for _ in 0..<Self.iterations {
            let verifier = random.bool() ? random.noise(maxLength: 140) : random.verifier(length: random.int(in: 0...140))
            let challenge = random.bool() ? random.noise(maxLength: 60) : random.verifier(length: 43)
            #expect(!PKCE.verify(verifier: verifier, challenge: challenge))
        }
    }
}

extension SeededRandom {
    mutating func word() -> String {
        String((0..<int(in: 1...8)).map { _ in pick(Array("abcdefghijklmnopqrstuvwxyz0123456789-_")) })
    }

    mutating func path() -> String {
        var path = (0..<int(in: 0...3)).map { _ in "/" + word() }.joined()
        if bool() { path += "?" + word() + "=" + word() }
        return path
    }

    /// An absolute redirect URI: https, http on a host, a private-use scheme, or (optionally) http loopback.
    mutating func redirectURI(loopback: Bool = true) -> String {
        let port = bool() ? ":\(int(in: 1...65_535))" : ""
        switch int(in: 0...(loopback ? 4 : 3)) {
        case 0, 1: return "https://" + word() + "." + pick(["com", "org", "example", "test"]) + port + path()
        case 2: return "http://" + pick(["localhost", "app." + word() + ".test", "10.0.0." + String(int(in: 1...254))]) + port + path()
        case 3: return "com." + word() + ".app:" + path().replacingOccurrences(of: "?", with: "/")
        default: return "http://" + pick(["127.0.0.1", "[::1]"]) + port + path()
        }
    }

    /// One character replaced, inserted or deleted.
    mutating func mutate(_ string: String) -> String {
        var characters = Array(string)
        let alphabet = Array("abcXYZ019:/?#&=%._~-[]@ é")
        switch int(in: 0...2) {
        case 0 where !characters.isEmpty:
            characters[int(in: 0...(characters.count - 1))] = pick(alphabet)
        case 1 where !characters.isEmpty:
            characters.remove(at: int(in: 0...(characters.count - 1)))
        default:
            characters.insert(pick(alphabet), at: int(in: 0...characters.count))
        }
        return String(characters)
    }

    mutating func verifier(length: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return String((0..<length).map { _ in pick(alphabet) })
    }

    /// Arbitrary Unicode (including controls, NUL and astral characters).
    mutating func noise(maxLength: Int) -> String {
        var out = String.UnicodeScalarView()
        for _ in 0..<int(in: 0...maxLength) {
            let value = pick([UInt32(int(in: 0...0x7F)), UInt32(int(in: 0x80...0xD7FF)), UInt32(int(in: 0xE000...0x10FFFF))])
            if let scalar = Unicode.Scalar(value) { out.append(scalar) }
        }
        return String(out)
    }
}
