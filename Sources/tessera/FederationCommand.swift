import ArgumentParser
import Foundation
import TesseraCore
import TesseraServer

/// `tessera federation list`: the upstream identity providers of the configuration, with the redirect URI to
/// register at each.
struct FederationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "federation", abstract: "Upstream identity providers.",
                                                    subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the configured upstream identity providers.")
        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingErrors {
                let configuration = try common.configuration()
                do { try configuration.requireIdentityProviderSecrets() } catch { throw CLIError("\(error)") }
                for provider in configuration.identityProviders {
                    let source = switch provider.kind {
                    case .openIDConnect(let issuer): "type=oidc\tissuer=\(issuer)"
                    case .oauth2(let endpoints, let claims):
                        "type=oauth2\tauthorization=\(endpoints.authorization)\ttoken=\(endpoints.token)\tuserinfo=\(endpoints.userinfo)\tsubject=\(claims.subject)"
                    }
                    let redirect = FederationService.callbackURI(issuer: configuration.effectiveIssuer, providerID: provider.id)
                    print("\(provider.id)\t\(provider.displayName)\t\(source)\tclient_id=\(provider.clientID)\tscopes=\(provider.scopes.joined(separator: " "))"
                        + "\tprovision=\(provider.provisionUsers)\tlink_by_verified_email=\(provider.linkByVerifiedEmail)"
                        + "\ttrusted_for_mfa=\(provider.trustedForMFA)\tredirect_uri=\(redirect)")
                }
                if configuration.identityProviders.isEmpty { print("no identity providers") }
            }
        }
    }
}
