import ArgumentParser
import Foundation
import TesseraCore
import TesseraServer
import TesseraStore

/// Runs `body` with a provisioning helper over the configured store.
func withProvisioning<R: Sendable>(_ common: CommonOptions, _ body: @escaping @Sendable (Provisioning, SQLStore, TesseraConfiguration) async throws -> R) async throws -> R {
    let configuration = try common.configuration()
    return try await withStore(configuration, logger: makeLogger(configuration)) { store in
        let provisioning = Provisioning(storage: store, passwords: BcryptPasswordHasher(cost: UInt8(configuration.bcryptCost)))
        return try await body(provisioning, store, configuration)
    }
}

/// Runs one `tessera user <verb> <username>` change: `change` gets the provisioning helper, the store and the
/// username in one store session and returns the line printed on success.
func changeUser(_ common: CommonOptions, _ username: String,
                _ change: @escaping @Sendable (Provisioning, SQLStore, String) async throws -> String) async throws {
    print(try await withProvisioning(common) { provisioning, store, _ in try await change(provisioning, store, username) })
}

/// "; ended N sessions, revoked M refresh token families" for the user commands that revoke.
func describe(_ revocation: UserSessions.Revocation) -> String {
    "; ended \(revocation.sessions) browser session(s), revoked \(revocation.refreshTokenFamilies) refresh token famil\(revocation.refreshTokenFamilies == 1 ? "y" : "ies")"
}

let isoFormatter: @Sendable (Date) -> String = { date in
    ISO8601DateFormatter().string(from: date)
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users.",
                                                    subcommands: [Add.self, List.self, Disable.self, Enable.self, Passwd.self, SignOutEverywhere.self, Profile.self, Unlock.self,
                                                                  MFAReset.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user; the password is read from standard input.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The username.") var username: String
        @Flag(help: "Read the password from standard input (required).") var passwordStdin = false
        @Option(name: .customLong("scope"), help: "A scope the user may grant (repeatable).") var scopes: [String] = []

        func validate() throws {
            guard passwordStdin else { throw ValidationError("pass --password-stdin and the password on standard input") }
        }

        func run() async throws {
            try await reportingErrors {
                let password = try readPasswordFromStdin()
                let (username, scopes) = (self.username, self.scopes)
                let user = try await withProvisioning(common) { provisioning, _, _ in
                    try await provisioning.addUser(username: username, password: password, scopes: scopes)
                }
                print("added user \(user.username) (id \(user.id), scopes: \(user.allowedScopes.description.isEmpty ? "none" : user.allowedScopes.description))")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingErrors {
                let (users, locked, mfaUsers) = try await withProvisioning(common) { _, store, _ in
                    (try await store.listUsers(), try await store.lockedLogins(at: Date()), try await store.mfaEnabledUserIDs())
                }
                let lockedUntil = Dictionary(locked.map { ($0.username, $0.lockedUntil ?? Date()) }, uniquingKeysWith: max)
                for user in users {
                    let lock = lockedUntil[user.username].map { "\tlocked until \(isoFormatter($0))" } ?? ""
                    print("\(user.username)\t\(user.id)\t\(user.disabled ? "disabled" : "active")\tmfa=\(mfaUsers.contains(user.id) ? "on" : "off")\tscopes=\(user.allowedScopes)\(user.passwordHash == User.noPassword ? "\tpassword=none" : "")\tcreated=\(isoFormatter(user.createdAt))\(lock)")
                }
                if users.isEmpty { print("no users") }
                let known = Set(users.map(\.username))
                for state in locked where !known.contains(state.username) {
                    print("(unknown username) \(state.username)\tlocked until \(isoFormatter(state.lockedUntil ?? Date()))\tfailures=\(state.failures)")
                }
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a user: no new logins; their sessions end and refresh tokens are revoked (enabling brings none back).")
        @OptionGroup var common: CommonOptions
        @Argument var username: String

        func run() async throws {
            try await reportingErrors {
                try await changeUser(common, username) { provisioning, _, username in
                    let revocation = try await provisioning.setDisabled(username: username, disabled: true)
                    return "disabled user \(username)\(revocation.map(describe) ?? "")"
                }
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled user.")
        @OptionGroup var common: CommonOptions
        @Argument var username: String

        func run() async throws {
            try await reportingErrors {
                try await changeUser(common, username) { provisioning, _, username in
                    _ = try await provisioning.setDisabled(username: username, disabled: false)
                    return "enabled user \(username)"
                }
            }
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set a user's password from standard input; the user's sessions end and refresh tokens are revoked.")
        @OptionGroup var common: CommonOptions
        @Argument var username: String
        @Flag(help: "Read the password from standard input (required).") var passwordStdin = false

        func validate() throws {
            guard passwordStdin else { throw ValidationError("pass --password-stdin and the password on standard input") }
        }

        func run() async throws {
            try await reportingErrors {
                let password = try readPasswordFromStdin()
                try await changeUser(common, username) { provisioning, _, username in
                    let revocation = try await provisioning.setPassword(username: username, password: password)
                    return "password changed for \(username)\(describe(revocation))"
                }
            }
        }
    }

    struct SignOutEverywhere: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sign-out-everywhere",
            abstract: "End every browser session of a user and revoke all their refresh tokens (audited as user.sessions_revoked).")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The username.") var username: String

        func run() async throws {
            try await reportingErrors {
                try await changeUser(common, username) { provisioning, _, username in
                    let revocation = try await provisioning.signOutEverywhere(username: username)
                    return "signed out \(username) everywhere\(describe(revocation))"
                }
            }
        }
    }
}

struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "client", abstract: "Manage OAuth clients.",
                                                    subcommands: [Add.self, List.self, Remove.self, RegistrationToken.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a client; its secret is shown once.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "A human-readable name.") var name: String
        @Option(name: .customLong("grant"), help: "A grant type the client may use (repeatable): client_credentials, password, refresh_token, authorization_code, implicit.")
        var grants: [String] = []
        @Option(name: .customLong("scope"), help: "A scope the client may request (repeatable).") var scopes: [String] = []
        @Option(name: .customLong("redirect-uri"), help: "A redirect URI, matched exactly (repeatable).") var redirectURIs: [String] = []
        @Flag(help: "A public client (no secret; token_endpoint_auth_method none).") var `public` = false
        @Flag(name: .customLong("require-consent"), help: "Ask users for consent (the default).") var requireConsentFlag = false
        @Flag(name: .customLong("no-consent"), help: "Skip the consent page: for first-party apps.") var noConsent = false
        var requireConsent: Bool { !noConsent }

        func validate() throws {
            if requireConsentFlag && noConsent { throw ValidationError("--require-consent and --no-consent exclude each other") }
            if SigningAlgorithm(rawValue: idTokenAlgorithm.uppercased()) == nil { throw ValidationError("--id-token-alg must be RS256 or ES256") }
        }
        @Flag(help: "Print the RFC 7591 client information response as JSON.") var json = false
        @Flag(name: .customLong("allow-mfa-password-grant"),
              help: "Let users with two-factor authentication use the password grant through this client (with an `otp` parameter).")
        var allowMFAPasswordGrant = false
        @Option(name: .customLong("resource"), help: "A resource indicator (RFC 8707) the client may request tokens for (repeatable).")
        var resources: [String] = []
        @Option(name: .customLong("id-token-alg"), help: "How this client's ID tokens are signed: RS256 (default) or ES256.")
        var idTokenAlgorithm: String = "RS256"
        @Option(name: .customLong("id"), help: "The client_id (default: random), e.g. tessera-docs for Swagger UI at /docs.")
        var id: String?
        @Option(name: .customLong("jwks-file"), help: "A file with the client's public JSON Web Key Set: the client authenticates with private_key_jwt (RFC 7523) instead of a secret.")
        var jwksFile: String?
        @Option(name: .customLong("jwks-uri"), help: "An https URL where the client publishes its public keys: private_key_jwt instead of a secret.")
        var jwksURI: String?
        @Option(name: .customLong("refresh-grace-period"),
                help: "Seconds after a refresh rotation in which this client's old refresh token still answers a retry (0–300; 0 = off; default: the server's refreshGracePeriod).")
        var refreshGracePeriod: Int?

        func run() async throws {
            try await reportingErrors {
                let (name, grants, scopes, redirectURIs, isPublic, requireConsent) = (self.name, self.grants, self.scopes, self.redirectURIs, self.public, self.requireConsent)
                let resources = self.resources
                let allowMFAPasswordGrant = self.allowMFAPasswordGrant
                let id = self.id
                let idTokenAlgorithm = SigningAlgorithm(rawValue: self.idTokenAlgorithm.uppercased()) ?? .rs256
                let jwksURI = self.jwksURI
                let refreshGracePeriod = self.refreshGracePeriod
                let jwks: String? = try self.jwksFile.map { path in
                    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read --jwks-file \(path)") }
                    return String(decoding: data, as: UTF8.self)
                }
                let created = try await withProvisioning(common) { provisioning, store, _ in
                    let created = try await provisioning.addClient(name: name, grants: grants, scopes: scopes, redirectURIs: redirectURIs,
                                                                   isPublic: isPublic, requireConsent: requireConsent, id: id, resources: resources,
                                                                   idTokenAlgorithm: idTokenAlgorithm, allowPasswordGrantWithMFA: allowMFAPasswordGrant,
                                                                   jwks: jwks, jwksURI: jwksURI, refreshGracePeriod: refreshGracePeriod)
                    try await store.insertAuditEvents([AuditEvent(.clientRegistered, at: Date(), clientID: created.client.id,
                                                                  detail: ["source": "cli", "grant_types": created.client.grantTypes.map(\.rawValue).sorted().joined(separator: " ")])])
                    return created
                }
                if json {
                    printJSON(created.information)
                } else {
                    print("client_id:     \(created.client.id)")
                    if let secret = created.secret { print("client_secret: \(secret)   (shown once; only its digest is stored)") }
                    if created.client.authMethod == .privateKeyJWT { print("auth method:   private_key_jwt (RFC 7523)") }
                    print("grants:        \(created.client.grantTypes.map(\.rawValue).sorted().joined(separator: " "))")
                    print("scopes:        \(created.client.allowedScopes)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clients.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingErrors {
                let clients = try await withProvisioning(common) { _, store, _ in try await store.listClients() }
                for client in clients {
                    print("\(client.id)\t\(client.name)\t\(client.authMethod.rawValue)\tgrants=\(client.grantTypes.map(\.rawValue).sorted().joined(separator: ","))\tscopes=\(client.allowedScopes)")
                }
                if clients.isEmpty { print("no clients") }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a client and revoke its refresh tokens.")
        @OptionGroup var common: CommonOptions
        @Argument(help: "The client_id.") var id: String

        func run() async throws {
            try await reportingErrors {
                let id = self.id
                let removed = try await withProvisioning(common) { _, store, _ in
                    let removed = try await store.deleteClient(id: id)
                    if removed { try await store.insertAuditEvents([AuditEvent(.clientDeleted, at: Date(), clientID: id, detail: ["source": "cli"])]) }
                    return removed
                }
                guard removed else { throw CLIError("no client with id '\(id)'") }
                print("removed client \(id)")
            }
        }
    }
}

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Manage signing keys.", subcommands: [List.self, Rotate.self, Rewrap.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List signing keys (no private material).")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingErrors {
                let keys = try await withProvisioning(common) { _, store, _ in try await store.signingKeys() }
                for key in keys {
                    let pending = key.activatesAt > Date() ? "published, signs from \(isoFormatter(key.activatesAt))" : "active"
                    let state = key.retiredAt.map { "retired \(isoFormatter($0))" } ?? pending
                    print("\(key.kid)\t\(key.algorithm.rawValue)\tcreated=\(isoFormatter(key.createdAt))\t\(state)")
                }
                if keys.isEmpty { print("no keys (they are created when the server first starts)") }
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add new signing keys; older keys stay published until their tokens expire.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingErrors {
                let configuration = try common.configuration()
                let encryption = try resolveKeyEncryption(configuration, logger: makeLogger(configuration))
                let created = try await withProvisioning(common) { _, store, configuration in
                    let manager = SigningKeyManager(store: store, clock: SystemTimeSource(),
                                                    retention: configuration.oauthSettings.signingKeyRetention, encryption: encryption)
                    let created = try await manager.rotate()
                    try await manager.purgeExpired()
                    try await store.insertAuditEvents(created.map { key in
                        AuditEvent(.keyRotated, at: Date(), detail: ["kid": key.kid, "alg": key.algorithm.rawValue, "source": "cli"])
                    })
                    return created
                }
                for key in created { print("new \(key.algorithm.rawValue) key \(key.kid)") }
            }
        }
    }
}
