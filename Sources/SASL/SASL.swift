/// SASL: the server side of SASL (RFC 4422) for every protocol that offers it (DESIGN §6). It owns
/// the mechanism state machines (PLAIN, LOGIN, CRAM-MD5, the relayed SCRAM-SHA-256 steps), the
/// initial response and `*` cancel of the protocol profiles (SMTP RFC 4954, POP3 RFC 5034, IMAP
/// RFC 4959), base64 decoding of client responses and their length limits.
///
/// It imports only MailCore: no NIO, no I/O, no secrets. A codec frames the lines and turns
/// `SASLAction`s into its own replies; the gateway and the back-end check the credentials.

/// Every limit this module enforces, in one place (STYLE §7).
public enum SASLLimits {
    /// Base64 octets in one client response line, without its line ending. RFC 4954 §4 requires
    /// servers to accept AUTH lines of 12288 octets; POP3 (RFC 5034 §4) and IMAP use the same.
    public static let responseLine = 12 * 1024
    /// RFC 4616 §2: authzid, authcid and passwd "MUST accept up to 255 octets"; Loft accepts no
    /// more, and applies the same bound to LOGIN's and CRAM-MD5's user names and LOGIN's password.
    public static let field = 255
    /// RFC 4422 §3.1: `sasl-mech = 1*20mech-char`.
    public static let mechanismName = 20
}
