/// Where the current request comes from, for audit events: the HTTP layer sets it around each request
/// (after trusted-proxy handling) and every `AuditEvent` created meanwhile records it as `client_ip`.
public enum AuditOrigin {
    /// The client's IP address (textual), if known.
    @TaskLocal public static var clientAddress: String?
}
