public import SASL

/// Limits for one POP3 session, in one place (STYLE §7). Every value is overridable by config.
public struct POP3Limits: Hashable, Sendable {
    /// The longest command line, CRLF included (RFC 2449 §4 requires at least 255).
    public var commandLineLength = 255
    /// The longest SASL client response line, CRLF included. RFC 5034 §4 lets these exceed
    /// the command limit; 12 KiB holds a Kerberos ticket and any SCRAM message.
    public var saslLineLength = 12_288
    /// Failed authentications before the session closes.
    public var authenticationFailures = 3
    /// Commands accepted in AUTHORIZATION before the session closes.
    public var commandsBeforeAuthentication = 50
    /// Unknown or malformed commands before the session closes.
    public var invalidCommands = 10
    /// Lines held while a back-end call is outstanding (RFC 2449 §6.6 PIPELINING); more closes.
    public var pipelinedCommands = 64

    public init() {}

    public static let `default` = POP3Limits()
}

/// RFC 2449 §6.7: how long messages stay on the server once retrieved.
public struct POP3Expire: Hashable, Sendable {
    public enum Period: Hashable, Sendable {
        case days(Int)
        case never
    }

    public var period: Period
    /// Announced as `EXPIRE n USER` before authentication when users differ.
    public var variesPerUser: Bool

    public init(_ period: Period, variesPerUser: Bool = false) {
        self.period = period
        self.variesPerUser = variesPerUser
    }
}

/// RFC 2449 §6.5: the minimum seconds between logins.
public struct POP3LoginDelay: Hashable, Sendable {
    public var seconds: Int
    /// Announced as `LOGIN-DELAY n USER` before authentication when users differ.
    public var variesPerUser: Bool

    public init(seconds: Int, variesPerUser: Bool = false) {
        self.seconds = seconds
        self.variesPerUser = variesPerUser
    }
}

/// What the gateway knows about a connection when it opens.
public struct POP3SessionConfiguration: Hashable, Sendable {
    /// The APOP timestamp for the greeting, e.g. `<1896.697170952@host>` (RFC 1939 §7), unique
    /// per connection. Nil disables APOP.
    public var greetingTimestamp: String?
    /// Greeting text before the timestamp.
    public var greetingText: String
    /// True on implicit-TLS connections (port 995).
    public var tlsActive: Bool
    /// True when the gateway can start TLS on this connection (RFC 2595 §4).
    public var stlsAvailable: Bool
    /// True when USER/PASS, AUTH PLAIN and AUTH LOGIN are allowed without TLS (DESIGN §5:
    /// loopback, or the config says so).
    public var plaintextAllowed: Bool
    /// SASL mechanisms offered, in order of preference.
    public var saslMechanisms: [SASLMechanism]
    /// RFC 2449 §6.9 IMPLEMENTATION argument; nil leaves it out of CAPA.
    public var implementation: String?
    public var expire: POP3Expire?
    public var loginDelay: POP3LoginDelay?
    public var limits: POP3Limits

    public init(
        greetingTimestamp: String? = nil,
        greetingText: String = "Loft POP3 server ready",
        tlsActive: Bool = false,
        stlsAvailable: Bool = false,
        plaintextAllowed: Bool = false,
        saslMechanisms: [SASLMechanism] = [.plain, .login],
        implementation: String? = "Loft",
        expire: POP3Expire? = nil,
        loginDelay: POP3LoginDelay? = nil,
        limits: POP3Limits = .default
    ) {
        self.greetingTimestamp = greetingTimestamp
        self.greetingText = greetingText
        self.tlsActive = tlsActive
        self.stlsAvailable = stlsAvailable
        self.plaintextAllowed = plaintextAllowed
        self.saslMechanisms = saslMechanisms
        self.implementation = implementation
        self.expire = expire
        self.loginDelay = loginDelay
        self.limits = limits
    }
}
