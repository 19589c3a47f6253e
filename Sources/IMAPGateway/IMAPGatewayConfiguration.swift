public import GatewayKit
public import IMAPCodec
public import NIOCore
public import SASL

/// Everything `loft imap` is configured with (the `imap` section of loft.yaml), with the limits
/// in one place (STYLE §7).
public struct IMAPGatewayConfiguration: Sendable {
    public var listeners: [Listener]
    /// The host name in CRAM-MD5 challenges.
    public var hostname: String
    /// RFC 3501 §5.4: at least 30 minutes.
    public var idleTimeout: TimeAmount = .seconds(1800)
    public var commandTimeout: TimeAmount = .seconds(60)
    public var loginTimeout: TimeAmount = .seconds(120)
    public var timeouts: ConnectionTimeouts {
        ConnectionTimeouts(idle: idleTimeout, command: commandTimeout, authentication: loginTimeout)
    }
    public var allowPlaintextWithoutTLS = false
    public var allowPlaintextOnLoopback = true
    public var maxConnectionsPerAddress = 50
    public var maxConnections = 5000
    public var limits = IMAPLimits()
    /// RFC 7888 §5: LITERAL- instead of LITERAL+ (non-synchronizing literals of at most 4096
    /// octets; larger ones are refused with `BAD [TOOBIG]`).
    public var literalMinus = false {
        didSet { limits.nonSynchronizingLiteralSize = literalMinus ? IMAPLimits.literalMinusSize : nil }
    }
    public var saslMechanisms: [SASLMechanism] = [.plain, .login, .cramMD5, .scramSHA256]
    public var cramMD5Offer = CRAMMD5Offer.always
    /// Bytes asked of `message.read` per call (at most the RPC's 1 MiB chunk).
    public var readChunkBytes = 256 << 10
    /// Summaries asked of `message.list` per call (at most its 5,000; `maxBytes` may cut a page
    /// short). Small enough that the first page comes soon and the back-end reads the next
    /// while the gateway writes this one; large enough that calls are few.
    public var listPageSize = 1000
    /// A client that takes none of a response's bytes for this long is disconnected.
    public var writeTimeout: TimeAmount = .seconds(120)
    /// How often a session in IDLE checks whether its token needs refreshing.
    public var idleRefreshInterval: Duration = .seconds(600)
    /// Output gathered before it is handed to the connection (and back-pressure is checked).
    public var writeBatchBytes = 64 << 10

    public init(listeners: [Listener], hostname: String) {
        self.listeners = listeners
        self.hostname = hostname
    }
}
