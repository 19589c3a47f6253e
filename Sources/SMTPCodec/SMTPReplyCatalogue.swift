/// The replies the session sends, in one place (STYLE §8), each with its basic and enhanced
/// code (RFC 5321 §4.2.2–4.2.3, RFC 3463 / RFC 5248 enhanced codes).
extension SMTPReply {
    // MARK: Connection

    /// RFC 5321 §4.2: `220 <domain> <text>`; no enhanced code on the greeting (RFC 2034 §4).
    public static func greeting(_ hostname: String) -> SMTPReply { SMTPReply(220, nil, "\(hostname) ESMTP Loft") }
    /// RFC 5321 §3.1: 554 in place of the greeting (no enhanced code before EHLO, RFC 2034 §4),
    /// for a client that talked before it.
    public static func talkedBeforeGreeting(_ hostname: String) -> SMTPReply {
        SMTPReply(554, nil, "\(hostname) Error: you talked before the greeting; no SMTP service")
    }
    /// RFC 5321 §4.1.1.10.
    public static func closing(_ hostname: String) -> SMTPReply {
        SMTPReply(221, .init(2, 0, 0), "\(hostname) closing connection")
    }
    /// RFC 5321 §4.5.3.2: the server may close after a timeout with 421.
    public static func timeout(_ hostname: String) -> SMTPReply {
        SMTPReply(421, .init(4, 4, 2), "\(hostname) Error: timeout exceeded")
    }
    public static func tooManyErrors(_ hostname: String) -> SMTPReply {
        SMTPReply(421, .init(4, 7, 0), "\(hostname) Error: too many errors")
    }
    /// The gateway or codec went wrong; the client is told to come back later.
    public static func serviceUnavailable(_ hostname: String) -> SMTPReply {
        SMTPReply(421, .init(4, 3, 0), "\(hostname) Error: internal error, closing connection")
    }

    // MARK: Positive

    public static let ok = SMTPReply(250, .init(2, 0, 0), "OK")
    public static let senderOK = SMTPReply(250, .init(2, 1, 0), "Sender OK")
    public static let recipientOK = SMTPReply(250, .init(2, 1, 5), "Recipient OK")
    /// RFC 5321 §4.1.1.4 / §4.2.5: 354 has no enhanced code (RFC 2034 §4).
    public static let startMailInput = SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>")
    public static func queued(_ queueID: String?) -> SMTPReply {
        SMTPReply(250, .init(2, 0, 0), queueID.map { "OK: queued as \($0)" } ?? "OK: queued")
    }
    /// Every recipient that did not fail has the message in its mailbox already: nothing waits
    /// in a queue, so the reply does not say so (the id is the one the Received field names).
    public static func delivered(_ queueID: String?) -> SMTPReply {
        SMTPReply(250, .init(2, 0, 0), queueID.map { "OK: delivered as \($0)" } ?? "OK: delivered")
    }
    /// RFC 3030 §2: the reply to a BDAT chunk that is not the last.
    public static func chunkReceived(_ size: Int) -> SMTPReply {
        SMTPReply(250, .init(2, 0, 0), "\(size) octets received")
    }
    /// RFC 5321 §3.5.3: 252 when VRFY is not answered truthfully.
    public static let cannotVerify = SMTPReply(
        252, .init(2, 5, 2), "Cannot VRFY user, but will accept message and attempt delivery")
    public static let help = SMTPReply(214, .init(2, 0, 0), "See RFC 5321; commands: EHLO MAIL RCPT DATA BDAT RSET QUIT")
    /// RFC 3207 §4.
    public static let readyToStartTLS = SMTPReply(220, .init(2, 0, 0), "Ready to start TLS")
    /// RFC 4954 §6.
    public static let authenticationSucceeded = SMTPReply(235, .init(2, 7, 0), "Authentication successful")

    // MARK: Syntax and sequence (RFC 5321 §4.2.4, §4.3.2)

    /// RFC 5321 §4.5.3.1.10 "500 Line too long".
    public static let lineTooLong = SMTPReply(500, .init(5, 5, 6), "Line too long")
    public static let badSequence = SMTPReply(503, .init(5, 5, 1), "Bad sequence of commands")
    public static let sendHelloFirst = SMTPReply(503, .init(5, 5, 1), "Send EHLO/HELO first")
    public static let needMail = SMTPReply(503, .init(5, 5, 1), "Need MAIL command")
    public static let nestedMail = SMTPReply(503, .init(5, 5, 1), "Nested MAIL command")
    public static let notDuringTransaction = SMTPReply(503, .init(5, 5, 1), "Not allowed during a mail transaction")
    /// RFC 5321 §3.3: DATA (or BDAT) with no accepted recipient.
    public static let noValidRecipients = SMTPReply(554, .init(5, 5, 1), "No valid recipients")
    /// RFC 3030 §2: DATA and BDAT cannot be mixed in one transaction.
    public static let dataAfterBDAT = SMTPReply(503, .init(5, 5, 1), "DATA not allowed after BDAT")
    /// RFC 3030 §3: BINARYMIME needs BDAT.
    public static let binaryMIMERequiresBDAT = SMTPReply(503, .init(5, 5, 1), "BODY=BINARYMIME requires BDAT")
    public static let notImplemented = SMTPReply(502, .init(5, 5, 1), "Command not implemented")
    public static let expandNotAvailable = SMTPReply(502, .init(5, 5, 1), "EXPN not available")
    public static let unsupportedParameter = SMTPReply(555, .init(5, 5, 4), "Unsupported parameter")

    // MARK: TLS (RFC 3207 §4)

    public static let tlsAlreadyActive = SMTPReply(503, .init(5, 5, 1), "TLS already active")
    public static let tlsNotAvailable = SMTPReply(454, .init(4, 7, 0), "TLS not available")

    // MARK: Authentication (RFC 4954 §4, §6)

    public static let alreadyAuthenticated = SMTPReply(503, .init(5, 5, 1), "Already authenticated")
    public static let authenticationNotAvailable = SMTPReply(502, .init(5, 5, 1), "AUTH not available")
    public static let authenticationRequired = SMTPReply(530, .init(5, 7, 0), "Authentication required")
    public static let unrecognizedMechanism = SMTPReply(504, .init(5, 5, 4), "Unrecognized authentication type")
    public static let encryptionRequired = SMTPReply(
        538, .init(5, 7, 11), "Encryption required for requested authentication mechanism")
    public static let authenticationAborted = SMTPReply(501, .init(5, 7, 0), "Authentication aborted")
    public static let malformedSASLResponse = SMTPReply(501, .init(5, 5, 2), "Malformed authentication response")
    public static let authenticationFailed = SMTPReply(535, .init(5, 7, 8), "Authentication credentials invalid")
    public static let authenticationLineTooLong = SMTPReply(
        500, .init(5, 5, 6), "Authentication exchange line is too long")
    public static let temporaryAuthenticationFailure = SMTPReply(
        454, .init(4, 7, 0), "Temporary authentication failure")

    // MARK: Envelope and message

    /// RFC 1870 §6.1 / RFC 3463 X.3.4.
    public static let messageTooBig = SMTPReply(552, .init(5, 3, 4), "Message size exceeds fixed limit")
    /// RFC 5321 §4.5.3.1.10: 452 for too many recipients.
    public static let tooManyRecipients = SMTPReply(452, .init(4, 5, 3), "Too many recipients")
    /// RFC 6531 §3.5: MAIL with a non-ASCII address needs SMTPUTF8.
    public static let nonASCIISender = SMTPReply(550, .init(5, 6, 7), "Non-ASCII address requires SMTPUTF8")
    public static let nonASCIIRecipient = SMTPReply(553, .init(5, 6, 7), "Non-ASCII address requires SMTPUTF8")
    public static let unknownRecipient = SMTPReply(550, .init(5, 1, 1), "No such user")
    /// Bare CR or LF in DATA (the SMTP smuggling defence; Postfix smtpd_forbid_bare_newline).
    public static let bareLineEndingRejected = SMTPReply(550, .init(5, 6, 0), "Bare LF/CR not allowed")
    /// RFC 5321 §4.5.3.1.6: a text line over 1000 octets.
    public static let lineTooLongInData = SMTPReply(500, .init(5, 5, 2), "Message line too long")
    /// The back-end could not be reached or failed: try again later.
    public static let localError = SMTPReply(451, .init(4, 3, 0), "Local error in processing")
    /// RFC 5321 §4.2.2 "452 Requested action not taken: insufficient system storage", RFC 3463
    /// X.3.1 "Mail system full": the server's disk, not the recipient's quota (that is X.2.2).
    /// Always temporary: the client keeps the message and tries again (RFC 5321 §4.5.4.1).
    public static let insufficientStorage = SMTPReply(452, .init(4, 3, 1), "Insufficient system storage")
}
