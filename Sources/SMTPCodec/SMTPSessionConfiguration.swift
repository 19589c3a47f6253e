public import SASL

/// The ESMTP extensions a session may advertise in its EHLO reply (RFC 5321 §4.1.1.1).
/// ENHANCEDSTATUSCODES (RFC 2034) is always on: every reply carries its enhanced code.
public struct SMTPExtensions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// RFC 1870.
    public static let size = SMTPExtensions(rawValue: 1 << 0)
    /// RFC 1652.
    public static let eightBitMIME = SMTPExtensions(rawValue: 1 << 1)
    /// RFC 2920.
    public static let pipelining = SMTPExtensions(rawValue: 1 << 2)
    /// RFC 3030 §2 (BDAT).
    public static let chunking = SMTPExtensions(rawValue: 1 << 3)
    /// RFC 3030 §3; advertised only together with CHUNKING.
    public static let binaryMIME = SMTPExtensions(rawValue: 1 << 4)
    /// RFC 3461.
    public static let dsn = SMTPExtensions(rawValue: 1 << 5)
    /// RFC 6531.
    public static let smtpUTF8 = SMTPExtensions(rawValue: 1 << 6)

    /// What a listener offers. DSN (RFC 3461): NOTIFY, ORCPT, RET and ENVID go to the back-end,
    /// which keeps them with queued copies (the relay passes them on to servers that offer
    /// DSN), sends the notifications they ask for, and none when NOTIFY=NEVER.
    public static let standard: SMTPExtensions = [.size, .eightBitMIME, .pipelining, .chunking, .dsn, .smtpUTF8]
}

/// Everything a session needs to know about its listener, given with `SMTPEvent.opened`.
public struct SMTPSessionConfiguration: Sendable, Hashable {
    /// Which listener the connection came in on (DESIGN §8).
    public enum PortKind: Sendable, Hashable {
        /// Port 25: mail from other MTAs; AUTH optional.
        case mx
        /// Port 587 (RFC 6409): AUTH required before MAIL.
        case submission
        /// Port 465 (RFC 8314): TLS from the first byte; AUTH required before MAIL.
        case implicitTLS
    }

    public var hostname: String
    public var portKind: PortKind
    /// The connection is already encrypted (implicit TLS).
    public var tlsActive: Bool
    /// STARTTLS can be offered (a certificate is configured).
    public var tlsAvailable: Bool
    /// Empty means AUTH is not offered.
    public var authMechanisms: [SASLMechanism]
    /// Allow PLAIN and LOGIN without TLS (DESIGN §5: off except for loopback or by config).
    public var plaintextAuthAllowed: Bool
    public var extensions: SMTPExtensions
    public var maximumMessageSize: Int
    public var maximumRecipients: Int
    /// Bad commands tolerated; the reply to the last one is followed by 421 and close.
    public var maximumErrors: Int
    public var commandLineLimit: Int
    public var authenticationLineLimit: Int
    public var bareLineEndings: BareLineEndingPolicy
    public var longLines: LongLinePolicy
    public var flushThreshold: Int
    /// Ask the gateway about every MAIL FROM (`SMTPAction.checkSender`) before accepting it:
    /// submission listeners check that the sender belongs to the authenticated account.
    public var verifiesSender = false
    /// Hold the greeting back until the gateway says its pause is over (`.pauseGreeting`), and
    /// refuse with 554 a client that sends anything first: the MX port's pregreet test.
    public var pausesGreeting = false

    public init(
        hostname: String, portKind: PortKind = .mx, tlsActive: Bool? = nil, tlsAvailable: Bool = false,
        authMechanisms: [SASLMechanism] = [], plaintextAuthAllowed: Bool = false,
        extensions: SMTPExtensions = .standard, maximumMessageSize: Int = SMTPLimits.messageSize,
        maximumRecipients: Int = SMTPLimits.recipients, maximumErrors: Int = SMTPLimits.errors,
        commandLineLimit: Int = SMTPLimits.commandLine, authenticationLineLimit: Int = SMTPLimits.authenticationLine,
        bareLineEndings: BareLineEndingPolicy = .reject, longLines: LongLinePolicy = .accept,
        flushThreshold: Int = SMTPLimits.chunkFlushThreshold
    ) {
        self.hostname = hostname
        self.portKind = portKind
        self.tlsActive = tlsActive ?? (portKind == .implicitTLS)
        self.tlsAvailable = tlsAvailable
        self.authMechanisms = authMechanisms
        self.plaintextAuthAllowed = plaintextAuthAllowed
        self.extensions = extensions
        self.maximumMessageSize = maximumMessageSize
        self.maximumRecipients = maximumRecipients
        self.maximumErrors = maximumErrors
        self.commandLineLimit = commandLineLimit
        self.authenticationLineLimit = authenticationLineLimit
        self.bareLineEndings = bareLineEndings
        self.longLines = longLines
        self.flushThreshold = flushThreshold
    }

    /// RFC 6409 §4.3 / RFC 8314: submission listeners take mail only from authenticated users.
    public var requiresAuthentication: Bool { portKind != .mx }

    var dataConfiguration: DataReceiver.Configuration {
        DataReceiver.Configuration(
            maximumSize: maximumMessageSize, bareLineEndings: bareLineEndings, longLines: longLines,
            flushThreshold: flushThreshold)
    }

    /// The mechanisms usable on a connection in this TLS state (RFC 4954 §4: plaintext
    /// mechanisms only under TLS unless allowed).
    func usableMechanisms(tlsActive: Bool) -> [SASLMechanism] {
        authMechanisms.filter { !$0.isPlaintext || tlsActive || plaintextAuthAllowed }
    }

    /// RFC 5321 §4.1.1.1:
    ///   ehlo-ok-rsp = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
    ///               / ( "250-" Domain [ SP ehlo-greet ] CRLF
    ///                   *( "250-" ehlo-line CRLF ) "250" SP ehlo-line CRLF )
    /// No enhanced codes on EHLO replies (RFC 2034 §4).
    func ehloReply(tlsActive: Bool) -> SMTPReply {
        var lines = [hostname]
        if extensions.contains(.size) { lines.append("SIZE \(maximumMessageSize)") }
        if extensions.contains(.eightBitMIME) { lines.append("8BITMIME") }
        if extensions.contains(.pipelining) { lines.append("PIPELINING") }
        lines.append("ENHANCEDSTATUSCODES")
        if !tlsActive && tlsAvailable { lines.append("STARTTLS") }
        let mechanisms = usableMechanisms(tlsActive: tlsActive)
        if !mechanisms.isEmpty { lines.append("AUTH " + mechanisms.map(\.name).joined(separator: " ")) }
        if extensions.contains(.chunking) {
            lines.append("CHUNKING")
            if extensions.contains(.binaryMIME) { lines.append("BINARYMIME") }
        }
        if extensions.contains(.dsn) { lines.append("DSN") }
        if extensions.contains(.smtpUTF8) { lines.append("SMTPUTF8") }
        return SMTPReply(250, nil, lines)
    }

    /// The extensions MAIL and RCPT parameters may rely on.
    var offeredExtensions: SMTPExtensions {
        var offered = extensions
        if !offered.contains(.chunking) { offered.remove(.binaryMIME) }
        return offered
    }
}
