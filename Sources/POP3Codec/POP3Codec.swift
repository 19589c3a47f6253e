/// POP3Codec: the pure POP3 codec behind `loft pop3` — the command
/// parser (RFC 1939, RFC 2449, RFC 2595, RFC 5034), the response encoder with dot-stuffing, the
/// streaming RETR/TOP encoders, and `POP3Session`, the state machine that returns actions.
///
/// It imports only MailCore, SASL (the mechanisms behind AUTH), LineFraming (the command line
/// framer) and NIOCore (for `ByteBuffer`): no channels, no sockets, no RPC, no clock (DESIGN §6,
/// STYLE §1). The gateway owns I/O, timers, TLS and the back-end.
///
/// How a gateway drives it, per connection:
///
///     var session = POP3Session(), inbound = ByteBuffer()
///     var framer = LineFramer(maximumLineLength: POP3Command.maximumLineLength)
///     perform(session.receive(.opened(configuration)))
///     on bytes: inbound.writeBuffer(&bytes)
///               framer.maximumLineLength = session.maximumLineLength
///               while let outcome = framer.next(from: &inbound) {
///                   perform(session.receive(outcome == .lineTooLong ? .lineTooLong : .line(line)))
///                   framer.maximumLineLength = session.maximumLineLength
///               }
///     perform: .send / .write → write; .startTLS → framer.discardBuffered(&inbound), add the TLS
///              handler, then receive(.tlsEstablished); back-end actions → call the back-end
///              and feed its result back as an event; .close → flush and close.
///     timers:  reset on every line; on expiry receive(.timeout). On EOF receive(.peerClosed).
