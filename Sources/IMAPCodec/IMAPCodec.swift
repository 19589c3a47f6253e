/// IMAPCodec: the pure IMAP4rev1 codec behind `loft imap` (RFC 3501, with RFC 9051's
/// clarifications): the literal-aware framer, the command parser that follows §9's grammar,
/// the response encoder (atom, quoted string or literal, chosen per value), modified UTF-7
/// mailbox names (§5.1.3), and the session state that returns actions.
///
/// It imports only MailCore, SASL and NIOCore (for `ByteBuffer`): no channels, no sockets, no
/// RPC, no clock (DESIGN §6, STYLE §1). The gateway (`IMAPGateway`) owns I/O, TLS, timers and
/// the back-end.
