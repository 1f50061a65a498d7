import Foundation
import Logging
import TesseraCore
import TesseraServer
import Testing

/// README.md's configuration table against `TesseraConfiguration`: the two must not drift (issue 14).
@Suite("README configuration table")
struct ConfigurationDocumentationTests {
    /// One row of the table: its config-file keys, environment variables and documented default.
    struct Row {
        let keys: [String]
        let environment: [String]
        let defaultValue: String
    }

    /// The table whose header has an `environment` column holding `TESSERA_*` names.
    static func rows() throws -> [Row] {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let lines = try String(contentsOf: readme, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        guard let header = lines.firstIndex(where: { $0.hasPrefix("| key | environment | default |") }) else { return [] }
        var rows: [Row] = []
        for line in lines[(header + 2)...] {
            guard line.hasPrefix("|") else { break }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 3 else { continue }
            rows.append(Row(keys: codeSpans(cells[0]), environment: codeSpans(cells[1]).filter { $0.hasPrefix("TESSERA_") },
                            defaultValue: codeSpans(cells[2]).first ?? cells[2]))
        }
        return rows
    }

    /// The `backticked` spans of a table cell.
    static func codeSpans(_ cell: String) -> [String] {
        cell.split(separator: "`", omittingEmptySubsequences: false).enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    @Test("documents exactly the configuration's keys and environment variables")
    func sameKeys() throws {
        let rows = try Self.rows()
        #expect(!rows.isEmpty, "README.md has no configuration table")
        let documentedKeys = Set(rows.flatMap(\.keys))
        let documentedEnvironment = Set(rows.flatMap(\.environment))
        let keys = TesseraConfiguration.keys
        // `identityProviders` is an array read from the config file only (`apply(configFile:)`), not in the key table.
        #expect(documentedKeys.subtracting(keys.keys).subtracting(["identityProviders"]).sorted() == [], "documented but unknown keys")
        #expect(Set(keys.keys).subtracting(documentedKeys).sorted() == [], "keys missing from README.md")
        #expect(documentedEnvironment.subtracting(keys.values).sorted() == [], "documented but unknown environment variables")
        #expect(Set(keys.values).subtracting(documentedEnvironment).sorted() == [], "environment variables missing from README.md")
        for row in rows {
            for (key, env) in zip(row.keys, row.environment) { #expect(keys[key] == env, "\(key) is documented as \(env)") }
        }
    }

    @Test("documents the defaults of number and boolean settings as TesseraConfiguration() has them")
    func sameDefaults() throws {
        /// A value as README writes it: an optional setting (`nil` = off) by its default when it has one.
        func documented(_ value: Any) -> String {
            let mirror = Mirror(reflecting: value)
            guard mirror.displayStyle == .optional else { return "\(value)" }
            return mirror.children.first.map { documented($0.value) } ?? "nil"
        }
        let defaults = Dictionary(
            Mirror(reflecting: TesseraConfiguration()).children.compactMap { child in child.label.map { ($0, documented(child.value)) } },
            uniquingKeysWith: { first, _ in first })
        var checked = 0
        for row in try Self.rows() {
            let value = row.defaultValue
            guard Int(value) != nil || value == "true" || value == "false" else { continue }
            for key in row.keys {
                #expect(defaults[key] == value, "README.md says \(key) defaults to \(value)")
                checked += 1
            }
        }
        #expect(checked >= 20)
    }
}

/// Algorithm, log level and scopes are typed values, parsed once when the environment or file is applied (issue 14).
@Suite("Typed configuration")
struct TypedConfigurationTests {
    @Test("values parse once into their types, case-insensitively where the old strings were")
    func parsed() throws {
        var configuration = TesseraConfiguration()
        #expect(configuration.accessTokenAlgorithm == .es256 && configuration.logLevel == .info && configuration.defaultScopes == ["read"])
        try configuration.apply(environment: ["TESSERA_ACCESS_TOKEN_ALG": "rs256", "TESSERA_LOG_LEVEL": "DEBUG",
                                              "TESSERA_DEFAULT_SCOPES": "read write", "TESSERA_REGISTRATION_SCOPES": "openid read"])
        #expect(configuration.accessTokenAlgorithm == .rs256 && configuration.logLevel == .debug)
        #expect(configuration.defaultScopes == ["read", "write"] && configuration.registrationScopes == ["openid", "read"])
        #expect(configuration.oauthSettings.accessTokenAlgorithm == .rs256 && configuration.oauthSettings.defaultScopes == ["read", "write"])
    }

    @Test("an unknown log level is a one-line error (was: silently info)")
    func logLevel() {
        var configuration = TesseraConfiguration()
        #expect(throws: TesseraConfiguration.Invalid(
            "logLevel from environment must be one of trace, debug, info, notice, warning, error, critical, got 'verbose'")) {
            try configuration.apply(environment: ["TESSERA_LOG_LEVEL": "verbose"])
        }
        #expect(configuration.logLevel == .info)
    }
}
