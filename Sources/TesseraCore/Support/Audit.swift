public import Foundation
public import Logging

/// A security-relevant event. Never carries a token, code, password or secret.
public struct AuditEvent: Sendable, Hashable {
    /// The kind of event, e.g. `token.issued`.
    public struct Kind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let tokenIssued = Kind(rawValue: "token.issued")
        public static let tokenRefreshed = Kind(rawValue: "token.refreshed")
        public static let refreshReuseDetected = Kind(rawValue: "token.reuse_detected")
        public static let clientAuthenticationFailed = Kind(rawValue: "client.authentication_failed")
        public static let loginSucceeded = Kind(rawValue: "login.succeeded")
        public static let loginFailed = Kind(rawValue: "login.failed")
        public static let keyRotated = Kind(rawValue: "key.rotated")
        public static let tokenRevoked = Kind(rawValue: "token.revoked")
        public static let clientRegistered = Kind(rawValue: "client.registered")
        public static let clientUpdated = Kind(rawValue: "client.updated")
        public static let clientDeleted = Kind(rawValue: "client.deleted")
        /// A Client ID Metadata Document was fetched and accepted (detail `host`), or refused (detail `reason`).
        public static let clientMetadataDocumentFetched = Kind(rawValue: "client.metadata_document_fetched")
        public static let clientMetadataDocumentRefused = Kind(rawValue: "client.metadata_document_refused")
    }

    public var kind: Kind
    public var at: Date
    public var clientID: String?
    public var subject: String?
    /// Bounded, non-secret detail (grant type, scopes, error code).
    public var detail: [String: String]

    public init(_ kind: Kind, at: Date, clientID: String? = nil, subject: String? = nil, detail: [String: String] = [:]) {
        self.kind = kind
        self.at = at
        self.clientID = clientID
        self.subject = subject
        self.detail = detail
        if let address = AuditOrigin.clientAddress, detail["client_ip"] == nil { self.detail["client_ip"] = address }
    }
}

/// Where audit events go.
public protocol AuditSink: Sendable {
    func record(_ event: AuditEvent)
}

/// Emits audit events through swift-log under `oauth.audit`.
public struct LoggingAuditSink: AuditSink {
    public let logger: Logger
    public init(logger: Logger) { self.logger = logger }

    public func record(_ event: AuditEvent) {
        // Build the metadata only when it will be written: on the hot path the level is usually above info.
        guard logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = ["oauth.event": .string(event.kind.rawValue)]
        if let clientID = event.clientID { metadata["oauth.client_id"] = .string(clientID) }
        if let subject = event.subject { metadata["oauth.sub"] = .string(subject) }
        for (key, value) in event.detail { metadata["oauth.\(key)"] = .string(value) }
        logger.info("audit", metadata: metadata)
    }
}
