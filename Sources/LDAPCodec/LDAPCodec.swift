/// LDAPCodec: the pure LDAPv3 codec behind `loft ldap` (RFC 4511), for a read-only directory:
/// the BER framer that cuts the byte stream into whole LDAPMessages (`LDAPFramer`), the
/// messages themselves decoded from and encoded to BER with swift-asn1 (`LDAPMessage`,
/// `LDAPProtocolOp`), search filters in BER and in their RFC 4515 string form (`LDAPFilter`),
/// controls with simple paged results (RFC 2696, `LDAPRequestControls`), the extended
/// operations StartTLS and "Who am I?" (RFC 4532), and the Notice of Disconnection.
///
/// It imports only SwiftASN1 (BER, kept out of the public API) and NIOCore (for `ByteBuffer`):
/// no channels, no sockets, no RPC, no clock (DESIGN §6, STYLE §1). The gateway owns I/O, TLS,
/// timers and the back-end. Every bound is in `LDAPLimits`.
///
/// How a gateway drives it, per connection:
///
///     var framer = LDAPFramer(limits: limits)
///     on bytes: try framer.append(bytes)             // throws only past limits.bufferedBytes
///               while let pdu = try framer.nextMessage() {
///                   do { handle(try LDAPMessage(decoding: pdu, limits: limits)) }
///                   catch { switch error.reply { ... } }  // respond, or notice and close
///               }
///     a framing error (thrown by append or nextMessage): send `error.reply`'s Notice of
///     Disconnection and close (RFC 4511 §4.1.1).
///     write:   message.encoded(), or message.write(into: &buffer).
public enum LDAPCodec {}
