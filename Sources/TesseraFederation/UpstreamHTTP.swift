import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import TesseraCore

/// Which upstream URLs Tessera may talk to.
public enum UpstreamURLPolicy {
    /// Whether `url` is an absolute `https` URL, or an `http` URL on a loopback host (`127.0.0.1`, `::1`,
    /// `localhost`: tests and local development), with a host and no fragment or user info.
    public static func isAcceptable(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty, components.fragment == nil, components.user == nil, components.password == nil
        else {
            return false
        }
        switch scheme {
        case "https": return true
        case "http": return isLoopback(host: host)
        default: return false
        }
    }

    /// Whether `host` (as in a URL, IPv6 with or without brackets) names the local machine.
    public static func isLoopback(host: String) -> Bool {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host == "127.0.0.1" || host == "::1" || host == "localhost"
    }
}

/// An answer from an upstream endpoint.
struct UpstreamResponse: Sendable {
    var status: Int
    var contentType: String?
    var body: Data

    /// The body as a JSON object, or `nil`.
    var jsonObject: [String: JSONValue]? { JSONValue.object(from: self.body) }
}

/// The one HTTP path to upstream providers: a per-request time limit over the whole exchange (head and body),
/// a body size cap, and every failure turned into ``FederationFailure/providerUnavailable(detail:)`` whose detail
/// names the endpoint but never a credential.
struct UpstreamHTTP: Sendable {
    let client: HTTPClient
    let timeout: Duration
    let maximumBodySize: Int

    init(client: HTTPClient, timeout: Duration, maximumBodySize: Int = 1 << 20) {
        self.client = client
        self.timeout = timeout
        self.maximumBodySize = maximumBodySize
    }

    /// GET `url` with `headers`.
    func get(_ url: String, headers: [(String, String)] = []) async throws(FederationFailure) -> UpstreamResponse {
        try await self.send(url, method: .GET, headers: headers, body: nil)
    }

    /// POST `fields` to `url` as `application/x-www-form-urlencoded`.
    func postForm(_ url: String, fields: [(String, String)], headers: [(String, String)] = []) async throws(FederationFailure) -> UpstreamResponse {
        let body = FormEncoding.encode(fields)
        return try await self.send(url, method: .POST, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers, body: Data(body.utf8))
    }

    private func send(_ url: String, method: HTTPMethod, headers: [(String, String)], body: Data?) async throws(FederationFailure) -> UpstreamResponse {
        let endpoint = Self.describe(url)
        guard UpstreamURLPolicy.isAcceptable(url) else {
            throw .providerUnavailable(detail: "\(endpoint) is not an https URL (http is allowed on loopback hosts only)")
        }
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let prepared = request
        let client = self.client
        let limit = self.maximumBodySize
        let timeout = self.timeout
        let deadline = TimeAmount.nanoseconds(Self.nanoseconds(timeout))

        let outcome: Result<UpstreamResponse, FederationFailure> = await withTaskGroup(of: Result<UpstreamResponse, FederationFailure>?.self) { group in
            group.addTask {
                do {
                    let response = try await client.execute(prepared, timeout: deadline)
                    let contentType = response.headers.first(name: "Content-Type")
                    let status = Int(response.status.code)
                    var buffer: ByteBuffer
                    do {
                        buffer = try await response.body.collect(upTo: limit)
                    } catch is NIOTooManyBytesError {
                        return .failure(.providerUnavailable(detail: "\(endpoint) answered more than \(limit) bytes"))
                    }
                    let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
                    return .success(UpstreamResponse(status: status, contentType: contentType, body: Data(bytes)))
                } catch {
                    if Task.isCancelled { return nil }
                    return .failure(.providerUnavailable(detail: "\(endpoint) could not be reached: \(Self.describe(error))"))
                }
            }
            group.addTask {
                do {
                    try await Task.sleep(for: timeout)
                } catch {
                    return nil
                }
                return .failure(.providerUnavailable(detail: "\(endpoint) did not answer within \(timeout)"))
            }
            var result: Result<UpstreamResponse, FederationFailure>?
            for await next in group {
                if let next {
                    result = next
                    break
                }
            }
            group.cancelAll()
            return result ?? .failure(.providerUnavailable(detail: "\(endpoint): the request was cancelled"))
        }
        return try outcome.get()
    }

    /// The endpoint as it may appear in a log: scheme, host, port and path, without query or user info.
    static func describe(_ url: String) -> String {
        guard var components = URLComponents(string: url) else { return "an invalid URL" }
        components.user = nil
        components.password = nil
        components.query = nil
        components.fragment = nil
        return components.string ?? "an invalid URL"
    }

    /// A transport error in words, without any request content.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as HTTPClientError: return String(describing: error)
        case let error as IOError: return String(describing: error)
        case let error as ChannelError: return String(describing: error)
        default: return String(describing: type(of: error))
        }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let components = duration.components
        let (scaled, overflow) = components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        return scaled &+ components.attoseconds / 1_000_000_000
    }
}

/// `application/x-www-form-urlencoded` (the WHATWG URL Standard's serializer, which RFC 6749 Appendix B uses).
enum FormEncoding {
    /// `name=value&…`, each part encoded with ``encodeComponent(_:)``.
    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { encodeComponent($0.0) + "=" + encodeComponent($0.1) }.joined(separator: "&")
    }

    /// Every byte but `A-Z a-z 0-9 - . _ *` percent-encoded, and a space as `+`.
    static func encodeComponent(_ value: String) -> String {
        var output = ""
        output.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                output.append("+")
            default:
                output.append(percentEncoded(byte))
            }
        }
        return output
    }

    /// Parses a form-encoded body (`+` is a space); `nil` when a part is not valid percent-encoding.
    static func decode(_ body: String) -> [String: String]? {
        var fields: [String: String] = [:]
        for part in body.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = pieces[0].replacingOccurrences(of: "+", with: " ").removingPercentEncoding else { return nil }
            let rawValue = pieces.count > 1 ? String(pieces[1]) : ""
            guard let value = rawValue.replacingOccurrences(of: "+", with: " ").removingPercentEncoding else { return nil }
            if fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    private static func percentEncoded(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return "%" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
    }

    /// `url` with `parameters` appended to its query (`&` when it already has one, else `?`).
    static func appendingQuery(_ parameters: [(String, String)], to url: String) -> String {
        let query = parameters.map { AuthorizationRedirect.percentEncode($0.0) + "=" + AuthorizationRedirect.percentEncode($0.1) }
            .joined(separator: "&")
        if url.contains("?") {
            return url.hasSuffix("?") || url.hasSuffix("&") ? url + query : url + "&" + query
        }
        return url + "?" + query
    }
}
