import Foundation
#if canImport(Glibc)
import Glibc
// Glibc's module map lets `in_addr()`/`in6_addr()` be attributed to NIO's CNIOLinux (swiftlang/swift#85427).
import CNIOLinux
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One IP address or CIDR range (IPv4 or IPv6), e.g. `10.0.0.0/8`, `127.0.0.1`, `fd00::/8`.
public struct IPRange: Sendable, Hashable, CustomStringConvertible {
    /// The network's address bytes (4 or 16), host bits cleared.
    public let network: [UInt8]
    /// Prefix length in bits.
    public let prefixLength: Int

    /// Parses `ADDR` or `ADDR/BITS`; `nil` if it is neither.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, let bytes = IPRange.parseAddress(first) else { return nil }
        let bits = bytes.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...bits).contains(value) else { return nil }
            prefix = value
        }
        self.prefixLength = prefix
        self.network = IPRange.mask(bytes, prefix)
    }

    public var description: String { "\(IPRange.format(network))/\(prefixLength)" }

    /// Whether `address` (bytes as from `parseAddress`) lies in this range. IPv4-mapped IPv6 addresses
    /// (`::ffff:a.b.c.d`) count as their IPv4 address.
    public func contains(_ address: [UInt8]) -> Bool {
        let address = IPRange.unmapped(address)
        guard address.count == network.count else { return false }
        return IPRange.mask(address, prefixLength) == network
    }

    /// The 4 or 16 bytes of a textual IPv4 or IPv6 address (brackets allowed around IPv6); `nil` otherwise.
    public static func parseAddress(_ text: some StringProtocol) -> [UInt8]? {
        var string = String(text)
        if string.hasPrefix("["), string.hasSuffix("]") { string = String(string.dropFirst().dropLast()) }
        guard !string.isEmpty, string.utf8.count <= 64 else { return nil }
        if string.contains(":") {
            var storage = in6_addr()
            guard inet_pton(AF_INET6, string, &storage) == 1 else { return nil }
            return withUnsafeBytes(of: &storage) { Array($0) }
        }
        var storage = in_addr()
        guard inet_pton(AF_INET, string, &storage) == 1 else { return nil }
        return withUnsafeBytes(of: &storage) { Array($0) }
    }

    static func unmapped(_ bytes: [UInt8]) -> [UInt8] {
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            return Array(bytes[12..<16])
        }
        return bytes
    }

    static func mask(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        var result = bytes
        for index in result.indices {
            let keep = min(max(prefix - index * 8, 0), 8)
            result[index] &= keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
        return result
    }

    static func format(_ bytes: [UInt8]) -> String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for index in stride(from: 0, to: bytes.count, by: 2) {
            groups.append(String(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]), radix: 16))
        }
        return groups.joined(separator: ":")
    }
}

/// The proxies whose `X-Forwarded-*` headers Tessera believes (`--trusted-proxy`).
public struct TrustedProxies: Sendable, Hashable {
    public let ranges: [IPRange]

    /// Parses entries, each an address or CIDR range, or several separated by commas or spaces.
    public init(parsing entries: [String]) throws(TesseraConfiguration.Invalid) {
        var ranges: [IPRange] = []
        for entry in entries.flatMap(TrustedProxies.split) {
            guard let range = IPRange(entry) else {
                throw TesseraConfiguration.Invalid("trustedProxies: '\(entry)' is not an IP address or CIDR range")
            }
            ranges.append(range)
        }
        self.ranges = ranges
    }

    public init(_ ranges: [IPRange]) { self.ranges = ranges }

    /// Splits a list on commas and whitespace.
    public static func split(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init)
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Whether the address (textual) is one of the trusted proxies.
    public func contains(_ address: String) -> Bool {
        guard let bytes = IPRange.parseAddress(address) else { return false }
        return contains(bytes: bytes)
    }

    func contains(bytes: [UInt8]) -> Bool { ranges.contains { $0.contains(bytes) } }
}

/// Who the client is and which scheme it used, once proxies are accounted for.
public struct ForwardedOrigin: Sendable, Equatable {
    /// The client's IP address (textual), or `nil` when unknown (e.g. in router tests).
    public var clientIP: String?
    /// `https` or `http`.
    public var scheme: String

    public init(clientIP: String?, scheme: String) {
        self.clientIP = clientIP
        self.scheme = scheme
    }

    /// Resolves the client behind trusted proxies. `X-Forwarded-For` and `X-Forwarded-Proto` count only when
    /// the TCP peer is a trusted proxy; then the client is the rightmost `X-Forwarded-For` hop that is not
    /// itself trusted (hops left of it could be forged by the client). A malformed hop ends the walk: the
    /// client is then the trusted hop that reported it. The scheme is the last `X-Forwarded-Proto` value
    /// (the one the trusted peer set) when it is `http` or `https`.
    ///
    /// - Parameters:
    ///   - peer: the TCP peer address, textual.
    ///   - forwardedFor: every `X-Forwarded-For` header value, in order.
    ///   - forwardedProto: every `X-Forwarded-Proto` header value, in order.
    ///   - directScheme: the scheme of this listener (`https` when Tessera terminates TLS).
    ///   - trusted: the trusted proxies.
    public static func resolve(peer: String?, forwardedFor: [String], forwardedProto: [String], directScheme: String,
                               trusted: TrustedProxies) -> ForwardedOrigin {
        let direct = ForwardedOrigin(clientIP: peer, scheme: directScheme)
        guard !trusted.isEmpty, let peer, trusted.contains(peer) else { return direct }
        var result = direct
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard let bytes = IPRange.parseAddress(hop) else { break }
            result.clientIP = hop.hasPrefix("[") ? String(hop.dropFirst().dropLast()) : hop
            if !trusted.contains(bytes: bytes) { break }
        }
        if let proto = forwardedProto.flatMap({ $0.split(separator: ",") }).last?.trimmingCharacters(in: .whitespaces).lowercased(),
           proto == "http" || proto == "https" {
            result.scheme = proto
        }
        return result
    }
}
