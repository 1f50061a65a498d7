// tessera-example-api: a resource server protected by Tessera access tokens.
//
//   swift run tessera-example-api --issuer http://127.0.0.1:8080 --port 8081
//   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/users/me
//
// Environment: TESSERA_ISSUER, EXAMPLE_API_AUDIENCE, EXAMPLE_API_HOST, EXAMPLE_API_PORT.
// Arguments (override the environment): --issuer, --audience, --host, --port.

import Foundation
import Hummingbird
import TesseraResourceServer

let configuration: ExampleAPIConfiguration
do {
    configuration = try ExampleAPIConfiguration(
        environment: ProcessInfo.processInfo.environment,
        arguments: Array(CommandLine.arguments.dropFirst())
    )
} catch {
    FileHandle.standardError.write(Data("tessera-example-api: \(error)\n\n\(ExampleAPIConfiguration.usage)\n".utf8))
    exit(64)
}

do {
    let app = try await buildApplication(configuration)
    try await app.runService()
} catch let error as ProtectedResourceMetadata.InvalidValue {
    FileHandle.standardError.write(Data("tessera-example-api: \(error)\n".utf8))
    exit(64)
}
