public import GatewayKit
public import NIOCore
public import POP3Codec
public import SASL

/// Everything `loft pop3` is configured with (the `pop3` section of loft.yaml), with the
/// limits in one place (STYLE §7).
public struct POP3GatewayConfiguration: Sendable {
    public var listeners: [Listener]
    /// The host name in APOP greeting timestamps and CRAM-MD5 challenges.
    public var hostname: String
    /// RFC 1939 §3: "at least 10 minutes".
    public var idleTimeout: TimeAmount = .seconds(600)
    /// A command line begun must be complete within this (a client dripping bytes is cut).
    public var commandTimeout: TimeAmount = .seconds(60)
    /// From the connection's start to a successful login.
    public var loginTimeout: TimeAmount = .seconds(120)
    /// The deadlines the connection driver applies (`ConnectionTimeouts`; shorter ones, for
    /// connections not logged in, while the gateway is near `maxConnections`).
    public var timeouts: ConnectionTimeouts {
        ConnectionTimeouts(idle: idleTimeout, command: commandTimeout, authentication: loginTimeout)
    }
    /// USER/PASS, AUTH PLAIN and LOGIN without TLS from any address (DESIGN §5 says no).
    public var allowPlaintextWithoutTLS = false
    /// ... and from loopback clients (yes by default: nothing crosses a network).
    public var allowPlaintextOnLoopback = true
    /// The maildrop lock's lease; renewed every third of it while the session lives.
    public var lockLease: TimeAmount = .seconds(30)
    public var maxConnectionsPerAddress = 20
    public var maxConnections = 1000
    /// Bytes asked of `message.read` per call (at most the RPC's 1 MiB chunk).
    public var readChunkBytes = 256 << 10
    /// While a RETR or TOP is served, the first chunks of up to `prefetchMessages` following
    /// messages are read ahead (`message.read_batch`, topped up when half are used), with
    /// `prefetchBytes` in all: a client reading in order then gets each message without waiting
    /// for the back-end. The bytes bound what an idle connection holds; 0 turns read-ahead off.
    public var prefetchMessages = 8
    public var prefetchBytes = 64 << 10
    public var limits = POP3Limits.default
    /// SCRAM-SHA-256 is relayed to the back-end (`auth.scram_begin` / `auth.scram_finish`).
    public var saslMechanisms: [SASLMechanism] = [.plain, .login, .cramMD5, .scramSHA256]
    /// When CRAM-MD5, if in `saslMechanisms`, is offered (CAPA SASL, AUTH). `loft pop3` uses
    /// `pop3.offer_cram_md5`, `auto` by default.
    public var cramMD5Offer = CRAMMD5Offer.always

    public init(listeners: [Listener], hostname: String) {
        self.listeners = listeners
        self.hostname = hostname
    }
}
