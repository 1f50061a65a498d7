public import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
public import TesseraCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which addresses a URL a *client* gave us (`jwks_uri`, later Client ID Metadata Documents) may reach: public
/// unicast only — never loopback, private (RFC 1918, RFC 4193), shared (RFC 6598), link-local (cloud metadata at
/// 169.254.169.254 and `fe80::/10`), multicast, documentation or reserved ranges, nor an IPv4 address hidden in
/// IPv6 (mapped, NAT64, 6to4) that is any of those (RFC 9700 §4.15 on SSRF; OWASP SSRF prevention).
public enum OutboundAddressPolicy {
    /// Whether `bytes` (4 for IPv4, 16 for IPv6, network order) is a public unicast address.
    public static func isPublic(_ bytes: [UInt8]) -> Bool {
        switch bytes.count {
        case 4: return isPublicIPv4(bytes)
        case 16: return isPublicIPv6(bytes)
        default: return false
        }
    }

    /// Whether `bytes` is a loopback address (`127.0.0.0/8`, `::1`, or IPv4 loopback mapped into IPv6).
    public static func isLoopback(_ bytes: [UInt8]) -> Bool {
        if bytes.count == 4 { return bytes[0] == 127 }
        guard bytes.count == 16 else { return false }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF { return bytes[12] == 127 }
        return false
    }

    private static func isPublicIPv4(_ b: [UInt8]) -> Bool {
        switch (b[0], b[1], b[2]) {
        case (0, _, _), (10, _, _), (127, _, _): return false                  // "this network", RFC 1918, loopback
        case (100, 64...127, _): return false                                 // shared address space (RFC 6598)
        case (169, 254, _): return false                                      // link-local, cloud metadata
        case (172, 16...31, _), (192, 168, _): return false                   // RFC 1918
        case (192, 0, 0), (192, 0, 2), (192, 88, 99): return false            // IETF assignments, TEST-NET-1, 6to4 relay
        case (198, 18...19, _), (198, 51, 100), (203, 0, 113): return false   // benchmarking, TEST-NET-2/3
        case (224...255, _, _): return false                                  // multicast, reserved, broadcast
        default: return true
        }
    }

    private static func isPublicIPv6(_ b: [UInt8]) -> Bool {
        // An IPv4 address carried in IPv6: judged as that IPv4 address.
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return isPublicIPv4(Array(b[12..<16])) }  // ::ffff:0:0/96
        if b[0] == 0x00, b[1] == 0x64, b[2] == 0xFF, b[3] == 0x9B { return isPublicIPv4(Array(b[12..<16])) }                // 64:ff9b::/96 (NAT64)
        if b[0] == 0x20, b[1] == 0x02 { return isPublicIPv4(Array(b[2..<6])) }                                            // 2002::/16 (6to4)
        // Only global unicast (2000::/3) remains: this excludes ::, ::1, fc00::/7, fe80::/10, fec0::/10, ff00::/8.
        guard b[0] & 0xE0 == 0x20 else { return false }
        if b[0] == 0x20, b[1] == 0x01, b[2] == 0x0D, b[3] == 0xB8 { return false }  // documentation 2001:db8::/32
        if b[0] == 0x20, b[1] == 0x01, b[2] == 0x00, b[3] == 0x00 { return false }  // Teredo 2001::/32 (tunnels to anywhere)
        return true
    }
}

/// The one way Tessera fetches a document at a URL a client chose (``ClientDocumentFetcher``): `https` only
/// (`http` only to loopback, and only with ``allowLoopback``), no user info or fragment, the host resolved once
/// and *every* address checked by ``OutboundAddressPolicy`` — then the connection pinned to the checked address
/// (AsyncHTTPClient's `dnsOverride`, TLS still verified for the name), so a second DNS answer cannot rebind it.
/// No redirects are followed (a 3xx is refused), the answer must be `200` JSON of at most ``maximumBytes``
/// within ``timeout``.
public struct OutboundDocumentFetcher: ClientDocumentFetcher {
    /// Development only: allows loopback addresses, and `http` to them (a test serving documents on 127.0.0.1).
    public var allowLoopback: Bool
    public var timeout: Duration
    public var maximumBytes: Int
    /// Resolves a host name to addresses (4 or 16 bytes each); `getaddrinfo` by default, replaceable in tests.
    public var resolve: @Sendable (String) async throws -> [[UInt8]]

    public init(allowLoopback: Bool = false, timeout: Duration = .seconds(5), maximumBytes: Int = 64 * 1024,
                resolve: (@Sendable (String) async throws -> [[UInt8]])? = nil) {
        self.allowLoopback = allowLoopback
        self.timeout = timeout
        self.maximumBytes = maximumBytes
        self.resolve = resolve ?? { host in try await NIOThreadPool.singleton.runIfActive { Self.addresses(of: host) } }
    }

    /// Why a URL may not be fetched, or `nil` together with the address to connect to.
    public func check(_ url: String) async -> (refusal: String?, host: String, address: [UInt8]?) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            var host = components.host?.lowercased(), !host.isEmpty
        else {
            return ("is not an absolute URL with a host", "", nil)
        }
        guard components.user == nil, components.password == nil, components.fragment == nil else {
            return ("must not have user information or a fragment", host, nil)
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard scheme == "https" || (scheme == "http" && allowLoopback) else {
            return (allowLoopback ? "must be https (or http to a loopback address)" : "must be https", host, nil)
        }
        let addresses: [[UInt8]]
        if let literal = Self.parseAddress(host) {
            addresses = [literal]
        } else {
            guard let resolved = try? await resolve(host), !resolved.isEmpty else { return ("names a host that does not resolve", host, nil) }
            addresses = resolved
        }
        for address in addresses {
            if OutboundAddressPolicy.isPublic(address) {
                if scheme == "http" { return ("must be https (http is allowed to loopback addresses only)", host, nil) }
                continue
            }
            if allowLoopback && OutboundAddressPolicy.isLoopback(address) { continue }
            return ("resolves to a loopback, private, link-local or reserved address", host, nil)
        }
        return (nil, host, addresses[0])
    }

    public func fetchDocument(_ url: String) async throws(OAuthError) -> FetchedDocument {
        let shown = Self.describe(url)
        let checked = await check(url)
        if let refusal = checked.refusal {
            throw OAuthError.invalidClient("The URL \(shown) \(refusal).")
        }
        guard let address = checked.address else { throw OAuthError.invalidClient("The URL \(shown) cannot be fetched.") }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(3), read: .seconds(3))
        if Self.parseAddress(checked.host) == nil {
            configuration.dnsOverride = [checked.host: Self.format(address)]
        }
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let limit = maximumBytes
        let outcome: Result<FetchedDocument, OAuthError>
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Self.nanoseconds(timeout)))
            let status = Int(response.status.code)
            let type = response.headers.first(name: "Content-Type")?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if (300..<400).contains(status) {
                outcome = .failure(.invalidClient("\(shown) answered a redirect, which is not followed."))
            } else if status != 200 {
                outcome = .failure(.invalidClient("\(shown) answered HTTP \(status)."))
            } else if let type, type == "application/json" || (type.hasPrefix("application/") && type.hasSuffix("+json")) {
                do {
                    var body = try await response.body.collect(upTo: limit)
                    outcome = .success(FetchedDocument(body: Data(body.readBytes(length: body.readableBytes) ?? []),
                                                       maxAge: Self.maxAge(response.headers.first(name: "Cache-Control"))))
                } catch is NIOTooManyBytesError {
                    outcome = .failure(.invalidClient("\(shown) answered more than \(limit) bytes."))
                }
            } else {
                outcome = .failure(.invalidClient("\(shown) did not answer JSON (Content-Type \(type ?? "missing"))."))
            }
        } catch let error as OAuthError {
            outcome = .failure(error)
        } catch {
            outcome = .failure(.invalidClient("\(shown) could not be fetched within \(timeout)."))
        }
        try? await client.shutdown()
        return try outcome.get()
    }

    /// `max-age` of a `Cache-Control` value; `no-store`/`no-cache` count as 0 (RFC 9111 §5.2.2).
    static func maxAge(_ value: String?) -> TimeInterval? {
        guard let value else { return nil }
        var age: TimeInterval?
        for directive in value.lowercased().split(separator: ",") {
            let parts = directive.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            switch parts.first {
            case "no-store", "no-cache": return 0
            case "max-age": if parts.count == 2, let seconds = Int(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\" "))), seconds >= 0 { age = TimeInterval(seconds) }
            default: break
            }
        }
        return age
    }

    /// The URL as it may appear in an error: scheme, host, port and path.
    static func describe(_ url: String) -> String { UpstreamHTTP.describe(url) }

    static func nanoseconds(_ duration: Duration) -> Int64 { UpstreamHTTP.nanoseconds(duration) }

    /// An IP address literal's bytes, or `nil` for a host name.
    static func parseAddress(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// An address in its textual form.
    static func format(_ bytes: [UInt8]) -> String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil }
        return ok ? String(cString: buffer) : ""
    }

    /// Every address `host` resolves to (`getaddrinfo`, blocking: run on a thread pool); empty when it does not resolve.
    static func addresses(of host: String) -> [[UInt8]] {
        var hints = addrinfo()
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var addresses: [[UInt8]] = []
        var next = list
        while let entry = next {
            if let socketAddress = entry.pointee.ai_addr {
                switch entry.pointee.ai_family {
                case AF_INET:
                    var address = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                    addresses.append(withUnsafeBytes(of: &address) { Array($0) })
                case AF_INET6:
                    var address = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                    addresses.append(withUnsafeBytes(of: &address) { Array($0) })
                default:
                    break
                }
            }
            next = entry.pointee.ai_next
        }
        return addresses
    }
}
