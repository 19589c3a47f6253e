public import NIOCore

/// The peer of a connection as the back-end's login throttle and the plaintext policy see it:
/// the IP address as text (no port), and whether it is this machine.
public struct ClientAddress: Sendable, Hashable, CustomStringConvertible {
    /// `192.0.2.7`, `2001:db8::1`; `local` for a Unix-domain peer; `unknown` when NIO had none.
    public let text: String
    /// True for 127.0.0.0/8, ::1, IPv4-mapped 127.0.0.0/8 and Unix-domain peers (DESIGN §5:
    /// plaintext logins are allowed here without TLS).
    public let isLoopback: Bool

    public init(text: String, isLoopback: Bool) {
        self.text = text
        self.isLoopback = isLoopback
    }

    public init(_ address: SocketAddress?) {
        switch address {
        case .v4?, .v6?:
            self.init(ip: address?.ipAddress ?? "unknown")
        case .unixDomainSocket?:
            self.init(text: "local", isLoopback: true)
        case nil:
            self.init(text: "unknown", isLoopback: false)
        }
    }

    /// From the textual form `inet_ntop` produces, which is what NIO's `ipAddress` gives.
    public init(ip: String) {
        var text = ip.lowercased()
        // ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket: count it as that address.
        if text.hasPrefix("::ffff:"), text.contains(".") { text.removeFirst("::ffff:".count) }
        let isLoopback: Bool
        if text.contains(":") {
            isLoopback = text == "::1"
        } else {
            isLoopback = text.hasPrefix("127.")
        }
        self.init(text: text, isLoopback: isLoopback)
    }

    public var description: String { text }
}
