import Foundation
import Hummingbird
public import HummingbirdCore
import HummingbirdTLS
import NIOCore
public import NIOSSL

/// The HTTP server for a configuration: plain HTTP/1.1, or HTTPS with the PEM certificate chain and key of
/// `tlsCert` / `tlsKey` (swift-nio-ssl). Both files are read and checked here, at start-up, so a wrong path
/// or a key that does not match the certificate is one clear error instead of failed handshakes later.
/// Either way every connection runs ``ConnectionGuardHandler``: the head, body and idle timeouts and the
/// `maxConnections` bound of the configuration.
public func httpServer(for configuration: TesseraConfiguration) throws(TesseraConfiguration.Invalid) -> HTTPServerBuilder {
    let http1 = HTTPServerBuilder.http1(configuration: .guarded(timeouts: configuration.connectionTimeouts,
                                                                limit: ConnectionLimit(maximum: configuration.maxConnections)))
    guard let certPath = configuration.tlsCert, let keyPath = configuration.tlsKey else { return http1 }
    let tls = try tlsConfiguration(certificate: certPath, key: keyPath)
    do {
        return try .tls(http1, tlsConfiguration: tls)
    } catch {
        throw TesseraConfiguration.Invalid("cannot set up TLS: \(error)")
    }
}

/// A TLS server configuration from PEM files, validated by building an SSL context.
public func tlsConfiguration(certificate certPath: String, key keyPath: String) throws(TesseraConfiguration.Invalid) -> TLSConfiguration {
    guard FileManager.default.isReadableFile(atPath: certPath) else { throw TesseraConfiguration.Invalid("cannot read TLS certificate \(certPath)") }
    guard FileManager.default.isReadableFile(atPath: keyPath) else { throw TesseraConfiguration.Invalid("cannot read TLS key \(keyPath)") }
    let chain: [NIOSSLCertificate]
    do {
        chain = try NIOSSLCertificate.fromPEMFile(certPath)
    } catch {
        throw TesseraConfiguration.Invalid("TLS certificate \(certPath) is not a PEM certificate chain")
    }
    guard !chain.isEmpty else { throw TesseraConfiguration.Invalid("TLS certificate \(certPath) holds no certificate") }
    let key: NIOSSLPrivateKey
    do {
        key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
    } catch {
        throw TesseraConfiguration.Invalid("TLS key \(keyPath) is not a PEM private key")
    }
    var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    configuration.minimumTLSVersion = .tlsv12
    do {
        _ = try NIOSSLContext(configuration: configuration)
    } catch {
        throw TesseraConfiguration.Invalid("TLS key \(keyPath) does not match certificate \(certPath)")
    }
    return configuration
}

extension TesseraConfiguration {
    /// `headerTimeout`, `bodyTimeout` and `idleTimeout` as the connection guard uses them.
    public var connectionTimeouts: ConnectionTimeouts {
        ConnectionTimeouts(head: .seconds(Int64(headerTimeout)), body: .seconds(Int64(bodyTimeout)), idle: .seconds(Int64(idleTimeout)))
    }
}
