/// POP3Codec: the pure POP3 codec for Loft's `loft pop3` gateway — the command line framer, the
/// command parser (RFC 1939, RFC 2449, RFC 2595, RFC 5034), the response encoder with dot-stuffing,
/// the streaming message and TOP encoders, and the `POP3Session` state machine that returns
/// actions for the gateway to perform.
///
/// It imports only the standard library and NIOCore (for `ByteBuffer`): no channels, no sockets,
/// no RPC and no clock (DESIGN §6, STYLE §1). The gateway owns I/O, timers, TLS and the back-end.
enum POP3Codec {}
