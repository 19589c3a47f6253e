public import GatewayKit
public import NIOCore
public import SASL
import SMTPCodec

/// One listening socket of `loft smtp` and what it is for (DESIGN §8).
public struct SMTPListener: Sendable, Hashable, CustomStringConvertible {
    /// What a listener accepts mail for.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        /// Port 25 style: mail from other MTAs for local domains; AUTH not required, no relaying
        /// except for trusted networks.
        case mx
        /// Port 587/465 style (RFC 6409, RFC 8314): AUTH required before MAIL; the sender must
        /// belong to the authenticated account.
        case submission
    }

    public var listener: Listener
    public var mode: Mode

    public init(_ listener: Listener, mode: Mode) {
        self.listener = listener
        self.mode = mode
    }

    /// The codec's view: implicit TLS submission is RFC 8314's port 465.
    var portKind: SMTPSessionConfiguration.PortKind {
        switch mode {
        case .mx: .mx
        case .submission: listener.tls == .implicit ? .implicitTLS : .submission
        }
    }

    public var description: String { "\(listener) \(mode.rawValue)" }
}

/// Everything `loft smtp` is configured with (the `smtp` section of loft.yaml), with the limits
/// in one place (STYLE §7).
public struct SMTPGatewayConfiguration: Sendable {
    public var listeners: [SMTPListener]
    /// The name in the greeting, EHLO reply, Received headers and Message-IDs.
    public var hostname: String
    /// RFC 5321 §4.5.3.2.7: a server waits at least 5 minutes for the next command.
    public var idleTimeout: TimeAmount = .seconds(300)
    /// A command line begun must be complete within this, and message data must arrive at
    /// 4 KiB per this at least (RFC 5321 §4.5.3.2 times each read; a drip would reset those).
    public var commandTimeout: TimeAmount = .seconds(60)
    /// On submission ports, from the connection's start to a successful AUTH (MX has none).
    public var loginTimeout: TimeAmount = .seconds(120)
    /// The SIZE advertised and enforced (RFC 1870) is the server-wide limit, followed from the
    /// back-end (`ServerMessageLimit`); when set, this lowers it for this gateway. The back-end
    /// may refuse less per account, at RCPT.
    public var maximumMessageSize: Int?
    /// RFC 5321 §4.5.3.1.8: at least 100.
    public var maximumRecipientsPerMessage = SMTPLimits.recipients
    /// Recipients accepted over all transactions of one connection; beyond it RCPT gets 452.
    public var maximumRecipientsPerConnection = 1000
    /// Bad commands before 421 and close (Postfix smtpd_hard_error_limit).
    public var maximumErrors = SMTPLimits.errors
    public var maxConnectionsPerAddress = 20
    public var maxConnections = 1000
    /// Clients that may relay to remote domains without AUTH (DESIGN §4). Empty: nobody.
    public var trustedNetworks: [NetworkRange] = []
    /// AUTH PLAIN/LOGIN without TLS from any address (DESIGN §5 says no).
    public var allowPlaintextWithoutTLS = false
    /// ... and from loopback clients.
    public var allowPlaintextOnLoopback = true
    /// Offer AUTH on MX listeners too (Postfix offers it only on submission by default).
    public var authOnMX = false
    /// Name the account that logged in in the Received field (RFC 4954 §7).
    public var receivedNamesAuthenticatedUser = true
    /// The address a bare `<Postmaster>` recipient means; nil: postmaster@ the first local
    /// domain, asked of the back-end (the order `directory.list` gives, Protocol §16).
    public var postmaster: String?
    /// Messages up to this size go in one `delivery.submit`; larger ones stream in chunks of it.
    public var uploadChunkBytes = 1 << 20
    /// SASL mechanisms offered. CRAM-MD5 uses the account's separate challenge-response (APOP)
    /// secret; SCRAM-SHA-256 runs in the back-end (`auth.scram_begin` / `auth.scram_finish`).
    public var authMechanisms: [SASLMechanism] = [.plain, .login, .cramMD5, .scramSHA256]
    /// When CRAM-MD5, if in `authMechanisms`, is offered (EHLO AUTH, AUTH). `loft smtp` uses
    /// `smtp.offer_cram_md5`, `auto` by default.
    public var cramMD5Offer = CRAMMD5Offer.always

    public init(listeners: [SMTPListener], hostname: String) {
        self.listeners = listeners
        self.hostname = hostname
    }

    /// On MX listeners, how long the greeting waits (0: not at all); a client that sends
    /// anything first gets 554 and is disconnected (Postfix postscreen's pregreet test).
    /// Trusted networks and addresses that passed in the last day are greeted at once
    /// (`GreetingPasses`).
    public var mxGreetingDelay: TimeAmount = .zero

    /// Whether `address` is in a trusted network.
    func isTrusted(_ address: ClientAddress) -> Bool {
        trustedNetworks.contains { $0.contains(address.text) }
    }
}
