import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOFoundationEssentialsCompat
import TesseraCore

/// `GET /openapi.json` (the OpenAPI 3.1 document) and `GET /docs` (self-hosted Swagger UI, no CDN).
///
/// Swagger UI's files are a SwiftPM resource (Resources/swagger-ui, from the swagger-ui-dist 5.x
/// distribution); the page and its initializer are generated here so no script is inline and the
/// "Authorize" button runs authorization code + PKCE with the public client `tessera-docs`.
struct DocsRoutes {
    /// The effective issuer (`TesseraConfiguration.effectiveIssuer`).
    let issuer: String
    /// The grant types the token endpoint's registry serves (the document's enum).
    let grantTypes: [String]
    let logger: Logger

    /// The public client Swagger UI authorizes as (provisioned by `tessera serve --demo`).
    static let clientID = "tessera-docs"
    /// Swagger UI's redirect URI for an issuer (register it for the docs client).
    static func redirectURI(issuer: String) -> String { issuer + "/docs/oauth2-redirect.html" }

    /// `/docs` pages need styles inline (swagger-ui sets `style` attributes) and `data:` images; scripts
    /// stay same-origin only.
    static func contentSecurityPolicy(issuer: String) -> String {
        var connect = "'self'"
        if let url = URL(string: issuer), let scheme = url.scheme, let host = url.host {
            connect += " \(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")"
        }
        return "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            + "font-src 'self' data:; connect-src \(connect); form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    }

    /// Registers the routes; call it last, so the document lists `/metrics` when that route exists.
    func register(on router: Router<TesseraRequestContext>) {
        let issuer = self.issuer
        let document = OpenAPIDocument(issuer: issuer, grantTypes: grantTypes,
                                       metrics: router.routes.contains { $0.method == .get && $0.path.description == "/metrics" })
        let json = document.json
        router.get("openapi.json") { _, _ in
            JSON.response(data: json, cacheControl: "no-cache")
        }
        let assets = SwaggerUIAssets.shared
        if assets == nil {
            logger.warning("Swagger UI files not found next to the tessera binary (tessera_TesseraServer.resources); /docs answers 404")
        }
        let csp = Self.contentSecurityPolicy(issuer: issuer)
        let prefix = URLComponents(string: issuer)?.path ?? ""
        let index = Data(Self.indexHTML(prefix: prefix).utf8)
        let initializer = Data(Self.initializerJS(prefix: prefix, issuer: issuer).utf8)
        router.get("docs") { _, _ in
            // Without the resource bundle next to the binary there is nothing to serve (logged at start-up).
            guard assets != nil else { throw HTTPError(.notFound) }
            return Self.file(index, type: "text/html; charset=utf-8", csp: csp, cache: "no-cache")
        }
        router.get("docs/swagger-initializer.js") { _, _ in
            Self.file(initializer, type: "text/javascript; charset=utf-8", csp: csp, cache: "no-cache")
        }
        router.get("docs/:file") { _, context in
            let name = try context.parameters.require("file")
            guard let asset = assets?.files[name] else {
                throw HTTPError(.notFound)
            }
            return Self.file(asset.data, type: asset.contentType, csp: csp, cache: "public, max-age=86400")
        }
    }

    static func file(_ data: Data, type: String, csp: String, cache: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = cache
        headers[.contentSecurityPolicy] = csp
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    static func indexHTML(prefix rawPrefix: String) -> String {
        // The issuer's path comes from configuration; it still goes through the pages' escaper.
        let prefix = HTMLEscaping.escape(rawPrefix)
        return """
        <!DOCTYPE html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>Tessera API documentation</title>
          <link rel="icon" type="image/png" href="\(prefix)/docs/favicon-32x32.png">
          <link rel="stylesheet" href="\(prefix)/docs/swagger-ui.css">
        </head>
        <body>
          <div id="swagger-ui"></div>
          <script src="\(prefix)/docs/swagger-ui-bundle.js"></script>
          <script src="\(prefix)/docs/swagger-initializer.js"></script>
        </body>
        </html>

        """
    }

    static func initializerJS(prefix: String, issuer: String) -> String {
        func literal(_ value: String) -> String { String(decoding: JSON.encode([value]), as: UTF8.self).dropFirst().dropLast().description }
        return """
        "use strict";
        // Generated by Tessera: Swagger UI for this server's OpenAPI document; Authorize = code + PKCE.
        window.addEventListener("load", function () {
          var ui = SwaggerUIBundle({
            url: \(literal(prefix + "/openapi.json")),
            dom_id: "#swagger-ui",
            deepLinking: true,
            validatorUrl: null,
            oauth2RedirectUrl: \(literal(redirectURI(issuer: issuer))),
            presets: [SwaggerUIBundle.presets.apis],
            layout: "BaseLayout"
          });
          ui.initOAuth({
            clientId: \(literal(clientID)),
            scopes: "openid profile",
            usePkceWithAuthorizationCodeGrant: true
          });
          window.ui = ui;
        });

        """
    }
}

/// Swagger UI's vendored files, read once from the TesseraServer resource bundle.
struct SwaggerUIAssets: Sendable {
    struct Asset: Sendable {
        let data: Data
        let contentType: String
    }

    let files: [String: Asset]

    /// The files, or `nil` when the resource bundle is not beside the binary.
    static let shared: SwaggerUIAssets? = load()

    static let served: [String: String] = [
        "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
        "swagger-ui.css": "text/css; charset=utf-8",
        "oauth2-redirect.html": "text/html; charset=utf-8",
        "oauth2-redirect.js": "text/javascript; charset=utf-8",
        "favicon-32x32.png": "image/png",
        "LICENSE": "text/plain; charset=utf-8",
        "NOTICE": "text/plain; charset=utf-8",
    ]

    static func load() -> SwaggerUIAssets? {
        // SwiftPM's resource bundle sits next to the executable (`tessera_TesseraServer.resources` on Linux,
        // `tessera_TesseraServer.bundle` on macOS). Looked up by hand: `Bundle.module` traps when it is missing.
        var directories: [URL] = [Bundle.main.bundleURL]
        if let executable = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent() { directories.append(executable) }
        if let argument = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: argument).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        let fileManager = FileManager.default
        for directory in directories {
            for bundle in ["tessera_TesseraServer.resources", "tessera_TesseraServer.bundle/Contents/Resources", "tessera_TesseraServer.bundle"] {
                let folder = directory.appendingPathComponent(bundle).appendingPathComponent("swagger-ui")
                guard fileManager.fileExists(atPath: folder.appendingPathComponent("swagger-ui-bundle.js").path) else { continue }
                var files: [String: Asset] = [:]
                for (name, type) in served {
                    if let data = fileManager.contents(atPath: folder.appendingPathComponent(name).path) {
                        files[name] = Asset(data: data, contentType: type)
                    }
                }
                return SwaggerUIAssets(files: files)
            }
        }
        return nil
    }
}
