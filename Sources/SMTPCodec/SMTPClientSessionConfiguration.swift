/// When the client uses STARTTLS (RFC 3207) on a connection.
public enum SMTPClientTLSPolicy: String, Sendable, Hashable {
    /// Never: plain text even when STARTTLS is offered.
    case none
    /// When offered, without verifying the certificate (RFC 7435 opportunistic security). If the
    /// server refuses STARTTLS the session goes on in plain text; if the handshake fails the
    /// connection is gone and the driver is asked to reconnect once without TLS.
    case opportunistic
    /// Always, with a verified certificate: no STARTTLS, a refusal or a failed handshake defers
    /// every recipient (4.7.0) so the next MX or a later attempt can do better.
    case required
}

/// RFC 5321 §4.5.3.2 timeouts, each overridable. The session says which applies
/// (`SMTPClientSession.currentTimeout`); the driver owns the clock.
public struct SMTPClientTimeouts: Sendable, Hashable {
    /// §4.5.3.2.1: waiting for the 220 greeting.
    public var greeting: Duration
    /// §4.5.3.2.2: MAIL.
    public var mail: Duration
    /// §4.5.3.2.3: each RCPT.
    public var rcpt: Duration
    /// §4.5.3.2.4: DATA initiation (waiting for 354).
    public var dataInitiation: Duration
    /// §4.5.3.2.5: each write of the body (a data block).
    public var dataBlock: Duration
    /// §4.5.3.2.6: waiting for the reply after the final dot (or the BDAT LAST chunk).
    public var dataTermination: Duration
    /// EHLO, HELO, STARTTLS and its handshake, RSET, QUIT, and BDAT chunks before the last: the
    /// RFC gives them no figure, so they get the five minutes of MAIL.
    public var command: Duration

    public init(
        greeting: Duration = .seconds(300), mail: Duration = .seconds(300), rcpt: Duration = .seconds(300),
        dataInitiation: Duration = .seconds(120), dataBlock: Duration = .seconds(180), dataTermination: Duration = .seconds(600),
        command: Duration = .seconds(300)
    ) {
        self.greeting = greeting
        self.mail = mail
        self.rcpt = rcpt
        self.dataInitiation = dataInitiation
        self.dataBlock = dataBlock
        self.dataTermination = dataTermination
        self.command = command
    }

    /// Every timeout set to `duration` (tests).
    public static func all(_ duration: Duration) -> SMTPClientTimeouts {
        SMTPClientTimeouts(
            greeting: duration, mail: duration, rcpt: duration, dataInitiation: duration, dataBlock: duration,
            dataTermination: duration, command: duration)
    }
}

/// Everything an `SMTPClientSession` needs to know before it connects.
public struct SMTPClientSessionConfiguration: Sendable, Hashable {
    /// The name given with EHLO/HELO (RFC 5321 §4.1.1.1: the client's fully qualified name).
    public var heloName: String
    public var tls: SMTPClientTLSPolicy
    public var timeouts: SMTPClientTimeouts
    public var replyLimits: SMTPReplyLimits
    /// How many BDAT chunks may await their replies at once when the server offers PIPELINING
    /// (RFC 3030 §4.2); without it, one.
    public var chunksInFlight: Int
    /// Log in with AUTH PLAIN (RFC 4954, RFC 4616) after EHLO, only under TLS: a provider's
    /// relay (a smarthost) wants it; MX hosts never get credentials.
    public var credentials: SMTPClientCredentials?

    public init(
        heloName: String, tls: SMTPClientTLSPolicy = .opportunistic, timeouts: SMTPClientTimeouts = SMTPClientTimeouts(),
        replyLimits: SMTPReplyLimits = SMTPReplyLimits(), chunksInFlight: Int = 4, credentials: SMTPClientCredentials? = nil
    ) {
        self.heloName = heloName
        self.tls = tls
        self.timeouts = timeouts
        self.replyLimits = replyLimits
        self.chunksInFlight = max(1, chunksInFlight)
        self.credentials = credentials
    }
}

/// A user name and password for AUTH PLAIN.
public struct SMTPClientCredentials: Sendable, Hashable {
    public var username: String
    public var password: String
    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}
