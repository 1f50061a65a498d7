import Crypto
import Foundation
import TesseraCore
import TesseraTesting
import Testing

@Suite("Secrets at rest (KeyEncryption, AES-256-GCM)")
struct KeyEncryptionTests {
    static let keyA = Data(repeating: 0xA1, count: 32).base64EncodedString()
    static let keyB = Data(repeating: 0xB2, count: 32).base64EncodedString()

    func expectError(_ code: KeyEncryptionError.Code, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected \(code)", sourceLocation: sourceLocation)
        } catch let error as KeyEncryptionError {
            #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test("a sealed value round-trips in a self-describing v1 envelope naming the key (first 8 hex of SHA-256)")
    func roundTrip() throws {
        let kek = try KeyEncryption(encodedKeys: [Self.keyA])
        let keyID = Data(SHA256.hash(data: Data(repeating: 0xA1, count: 32))).prefix(4).map { String(format: "%02x", $0) }.joined()
        #expect(kek.primaryKeyID == keyID)
        let sealed = try kek.seal("JBSWY3DPEHPK3PXP", for: .totp(userID: "u-1"))
        #expect(sealed.hasPrefix("tessera-kek:v1:\(keyID):"))
        #expect(!sealed.contains("JBSWY3DPEHPK3PXP"))
        #expect(try kek.open(sealed, for: .totp(userID: "u-1")) == "JBSWY3DPEHPK3PXP")
        #expect(try kek.seal("x", for: .totp(userID: "u-1")) != kek.seal("x", for: .totp(userID: "u-1")), "a fresh nonce each time")
        #expect(kek.isCurrent(sealed) && KeyEncryption.isSealed(sealed))
    }

    @Test("a value sealed for one row does not open for another (associated data binds purpose and row)")
    func wrongAssociatedData() throws {
        let kek = try KeyEncryption(encodedKeys: [Self.keyA])
        let sealed = try kek.seal("secret", for: .totp(userID: "alice"))
        expectError(.authenticationFailed) { _ = try kek.open(sealed, for: .totp(userID: "mallory")) }
        expectError(.authenticationFailed) { _ = try kek.open(sealed, for: .signingKey(kid: "alice")) }
    }

    @Test("any altered byte of the envelope's data is refused (seeded property)")
    func tamperedCiphertext() throws {
        let kek = try KeyEncryption(encodedKeys: [Self.keyA])
        var random = SeededRandom(seed: 0x5EA1)
        for _ in 0..<200 {
            let plaintext = String(decoding: random.bytes(maxCount: 64).map { $0 % 94 + 33 }, as: UTF8.self)
            let sealed = try kek.seal(plaintext, for: .signingKey(kid: "k1"))
            #expect(try kek.open(sealed, for: .signingKey(kid: "k1")) == plaintext)
            let header = sealed.prefix(while: { $0 != ":" }).count + 13 // "tessera-kek:" + "v1:" + 8 hex + ":"
            var bytes = try #require(Data(base64URLEncoded: String(sealed.dropFirst(header))))
            let index = random.int(in: 0...(bytes.count - 1))
            bytes[index] ^= UInt8(random.int(in: 1...255))
            let tampered = String(sealed.prefix(header)) + bytes.base64URLEncodedString()
            expectError(.authenticationFailed) { _ = try kek.open(tampered, for: .signingKey(kid: "k1")) }
        }
        expectError(.malformed) { _ = try kek.open("tessera-kek:v1:abc", for: .signingKey(kid: "k1")) }
        expectError(.malformed) { _ = try kek.open("tessera-kek:v9:00000000:AAAA", for: .signingKey(kid: "k1")) }
    }

    @Test("a value sealed with an unknown key is an error, never plaintext; without a KEK too")
    func unknownKey() throws {
        let sealed = try KeyEncryption(encodedKeys: [Self.keyA]).seal("secret", for: .totp(userID: "u"))
        let other = try KeyEncryption(encodedKeys: [Self.keyB])
        expectError(.unknownKey) { _ = try other.open(sealed, for: .totp(userID: "u")) }
        let none: KeyEncryption? = nil
        expectError(.notConfigured) { _ = try none.open(sealed, for: .totp(userID: "u")) }
        #expect(try none.open("legacy", for: .totp(userID: "u")) == "legacy")
        #expect(try other.open("-----BEGIN PRIVATE KEY-----", for: .signingKey(kid: "k")) == "-----BEGIN PRIVATE KEY-----", "legacy plaintext is read")
    }

    @Test("keys must be base64 of 32 bytes")
    func invalidKeys() {
        expectError(.invalidKey) { _ = try KeyEncryption(encodedKeys: ["c2hvcnQ="]) }
        expectError(.invalidKey) { _ = try KeyEncryption(encodedKeys: ["not base64!"]) }
        expectError(.invalidKey) { _ = try KeyEncryption(encodedKeys: []) }
        #expect((try? KeyEncryption(encodedKeys: [KeyEncryption.newEncodedKey()])) != nil)
    }

    @Test("rotation: an old key still opens; rewrap re-seals plaintext and old-key values under the new primary, once")
    func rotationAndRewrap() async throws {
        let old = try KeyEncryption(encodedKeys: [Self.keyA])
        let core = try await CoreHarness(keyEncryption: old)
        let user = try await core.addUser()
        _ = try await MFAService(services: core.services, storage: core.storage).beginEnrollment(user: user)
        // A legacy row: a plaintext TOTP secret from before encryption at rest.
        #expect(try await core.storage.saveUnconfirmedMFAEnrollment(MFAEnrollment(userID: "legacy", secret: "PLAINSECRET", createdAt: core.clock.now)))

        let rotated = try KeyEncryption(encodedKeys: [Self.keyB, Self.keyA])
        let before = try await SecretsAtRest.inventory(storage: core.storage, encryption: rotated)
        #expect(before.olderKey == 3 && before.plaintext == 1 && before.current == 0, "two signing keys and a TOTP secret under the old key")
        let stored = try #require(try await core.storage.mfaEnrollment(userID: user.id)).secret
        #expect(try rotated.open(stored, for: .totp(userID: user.id)) == old.open(stored, for: .totp(userID: user.id)))

        #expect(try await SecretsAtRest.rewrap(storage: core.storage, encryption: rotated) == 4)
        #expect(try await SecretsAtRest.rewrap(storage: core.storage, encryption: rotated) == 0, "nothing left the second time")
        let after = try await SecretsAtRest.inventory(storage: core.storage, encryption: rotated)
        #expect(after.current == 4 && after.needingRewrap == 0)
        let legacy = try #require(try await core.storage.mfaEnrollment(userID: "legacy")).secret
        #expect(legacy.hasPrefix("tessera-kek:v1:\(rotated.primaryKeyID):"))
        #expect(try rotated.open(legacy, for: .totp(userID: "legacy")) == "PLAINSECRET")

        // The new key alone now opens everything; the old one alone no longer does.
        let newOnly = try KeyEncryption(encodedKeys: [Self.keyB])
        let keys = SigningKeyManager(store: core.storage, clock: core.clock, retention: 900, encryption: newOnly)
        try await keys.reload()
        #expect(try keys.current.records.count == 2)
        await #expect(throws: KeyEncryptionError(.unknownKey, "")) {
            try await SecretsAtRest.requireReadable(storage: core.storage, encryption: old)
        }
    }

    @Test("signing keys reach the store sealed, and a node with another KEK cannot load them")
    func signingKeysSealed() async throws {
        let core = try await CoreHarness()
        let stored = try await core.storage.signingKeys()
        #expect(stored.count == 2)
        for record in stored {
            #expect(record.privateKeyPEM.hasPrefix("tessera-kek:v1:") && !record.privateKeyPEM.contains("BEGIN"))
        }
        let token = try await core.services.accessTokens.mint(subject: "s", clientID: "c", scopes: ["read"], audience: ["a"], now: core.clock.now)
        #expect(!token.token.isEmpty, "the opened keys sign")
        let stranger = SigningKeyManager(store: core.storage, clock: core.clock, retention: 900, encryption: .generate())
        await #expect(throws: KeyEncryptionError(.unknownKey, "")) { try await stranger.reload() }
        let none = SigningKeyManager(store: core.storage, clock: core.clock, retention: 900)
        await #expect(throws: KeyEncryptionError(.notConfigured, "")) { try await none.reload() }
    }

    @Test("a TOTP secret is stored sealed; swapped into another user's row it is a server error, not a wrong code")
    func totpSealedAndBoundToRow() async throws {
        let core = try await CoreHarness()
        let alice = try await core.addUser("alice")
        let bob = try await core.addUser("bob")
        let mfa = MFAService(services: core.services, storage: core.storage)
        let setup = try await mfa.beginEnrollment(user: alice)
        _ = try await mfa.beginEnrollment(user: bob)
        let stored = try #require(try await core.storage.mfaEnrollment(userID: alice.id))
        #expect(stored.secret.hasPrefix("tessera-kek:v1:"))
        let plaintext = try stored.plaintextSecret(core.keyEncryption)
        #expect(!stored.secret.contains(plaintext) && !stored.secret.contains(setup.secret))
        #expect(try await mfa.pendingSetup(user: alice) == setup)
        // Copy alice's sealed secret into bob's row: it must not open as bob's.
        let bobs = try #require(try await core.storage.mfaSecrets()[bob.id])
        #expect(try await core.storage.replaceMFASecret(userID: bob.id, from: bobs, to: stored.secret))
        await expectOAuthError(.serverError) { _ = try await mfa.pendingSetup(user: bob) }
        _ = try await mfa.confirmEnrollment(user: alice, code: TOTPGenerator(secret: plaintext).code(at: core.clock.now))
        #expect(try await mfa.isEnabled(userID: alice.id))
    }

    @Test("derivedKey(purpose:) is HKDF-SHA256 of the primary key: stable, distinct per purpose, never the KEK")
    func derivedKey() throws {
        let kek = try KeyEncryption(encodedKeys: [Self.keyA, Self.keyB])
        let audit = kek.derivedKey(purpose: "audit-username")
        #expect(audit == (try KeyEncryption(encodedKeys: [Self.keyA])).derivedKey(purpose: "audit-username"), "from the primary key only")
        #expect(audit != kek.derivedKey(purpose: "other"))
        #expect(audit != SymmetricKey(data: Data(repeating: 0xA1, count: 32)))
        #expect(audit != (try KeyEncryption(encodedKeys: [Self.keyB])).derivedKey(purpose: "audit-username"))
        let expected = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data(repeating: 0xA1, count: 32)),
                                               salt: Data("tessera-kek-derive-v1".utf8), info: Data("audit-username".utf8), outputByteCount: 32)
        #expect(audit == expected)
    }
}
