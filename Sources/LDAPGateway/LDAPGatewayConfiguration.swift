public import GatewayKit
public import LDAPCodec
public import NIOCore

/// Everything `loft ldap` is configured with (the `ldap` section of loft.yaml), with the limits
/// in one place (STYLE §7).
public struct LDAPGatewayConfiguration: Sendable {
    public var listeners: [Listener]
    /// The directory's suffix; nil: from the first local domain.
    public var baseDN: String?
    public var vendorVersion = "1"
    /// A connection with no request for this long is closed (slapd's `idletimeout`).
    public var idleTimeout: TimeAmount = .seconds(900)
    /// A request begun must be complete within this.
    public var commandTimeout: TimeAmount = .seconds(60)
    /// The driver's deadlines. LDAP has no login phase a client must pass (anonymous clients
    /// search at once), so there is no authentication deadline.
    public var timeouts: ConnectionTimeouts {
        ConnectionTimeouts(idle: idleTimeout, command: commandTimeout, authentication: nil)
    }
    /// A simple bind's password without TLS from any address (DESIGN §5 says no) ...
    public var allowPlaintextWithoutTLS = false
    /// ... and from loopback clients (yes by default: nothing crosses a network).
    public var allowPlaintextOnLoopback = true
    /// Networks from which anonymous clients may search.
    public var anonymousNetworks: [NetworkRange] = ["127.0.0.0/8", "::1/128"].compactMap(NetworkRange.init)
    /// Every search needs a bind first (the root DSE and cn=Subschema stay readable).
    public var requireBind = false
    /// What anonymous searches may ask, and the size limits (LDAPDirectory applies them).
    public var policy = LDAPAccessPolicy()
    /// Searches per minute an anonymous client address may make; 0: no limit.
    public var anonymousSearchesPerMinute = 300
    public var maxConnectionsPerAddress = 50
    public var maxConnections = 2000
    public var limits = LDAPLimits.default

    public init(listeners: [Listener]) {
        self.listeners = listeners
    }

    /// Whether an anonymous client at `address` may search at all.
    public func anonymousMaySearch(from address: ClientAddress) -> Bool {
        !requireBind && anonymousNetworks.contains { $0.contains(address.text) }
    }
}
