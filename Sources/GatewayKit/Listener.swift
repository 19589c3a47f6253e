/// How a listener protects its connections (DESIGN §5: every listener offers TLS one way or
/// the other).
public enum TLSMode: String, Sendable, Hashable, CaseIterable {
    /// Plain TCP, no TLS offered (tests, or a port behind a TLS-terminating proxy).
    case none
    /// Plain TCP with an upgrade command: POP3 STLS (RFC 2595), SMTP/IMAP STARTTLS.
    case startTLS = "starttls"
    /// TLS from the first byte (POP3S 995, IMAPS 993, SMTPS 465; RFC 8314).
    case implicit
}

/// One address and port to accept connections on.
public struct Listener: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var tls: TLSMode

    public init(host: String, port: Int, tls: TLSMode) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(hostPart):\(port) (\(tls.rawValue))"
    }
}
