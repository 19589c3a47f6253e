/// SMTPCodec: the pure SMTP server codec (DESIGN §6, STYLE §1). It owns the command grammar
/// (RFC 5321 §4.1 and the ESMTP extensions SIZE, 8BITMIME, PIPELINING, ENHANCEDSTATUSCODES,
/// STARTTLS, AUTH, CHUNKING/BINARYMIME, DSN, SMTPUTF8), the reply encoder, the DATA and BDAT
/// receivers and the `SMTPSession` state machine that returns actions; command lines are framed
/// by LineFraming's `LineFramer`.
///
/// It imports only MailCore, SASL (the mechanisms behind AUTH, RFC 4954), LineFraming and
/// NIOCore, and that only for `ByteBuffer`: no channels, sockets, clocks or RPC.
/// The SMTP gateway feeds it bytes and back-end answers and performs the actions it returns.

/// Every limit the codec enforces, in one place (STYLE §7). Each is overridable through
/// `SMTPSessionConfiguration`.
public enum SMTPLimits {
    /// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets including the CRLF.
    public static let commandLine = 512
    /// RFC 4954 §4: the server must accept AUTH lines (command and continuations) of 12288 octets.
    public static let authenticationLine = 12288
    /// RFC 5321 §4.5.3.1.6: a text line is at most 1000 octets including the CRLF, so 998 without.
    public static let textLine = 998
    /// How many message bytes a receiver gathers before it hands a chunk to the gateway.
    public static let chunkFlushThreshold = 64 * 1024
    /// Default message size limit advertised with SIZE (RFC 1870).
    public static let messageSize = 50 * 1024 * 1024
    /// RFC 5321 §4.5.3.1.8: a server must accept at least 100 recipients.
    public static let recipients = 100
    /// Bad commands tolerated before the session answers 421 and closes.
    public static let errors = 20
    /// RFC 3461 §4.4: ENVID is at most 100 characters.
    public static let envelopeID = 100
    /// RFC 3461 §4.2: ORCPT is at most 500 characters.
    public static let originalRecipient = 500
    /// RFC 4954 §3 / RFC 4422: SASL mechanism names are 1 to 20 characters.
    public static let mechanismName = 20
}
