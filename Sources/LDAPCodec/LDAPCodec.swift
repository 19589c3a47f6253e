/// LDAPCodec: the pure LDAPv3 codec behind `loft ldap` (RFC 4511), for a read-only directory:
/// the BER framer that cuts the byte stream into whole LDAPMessages (`LDAPFramer`), the
/// messages themselves decoded from and encoded to BER with swift-asn1 (`LDAPMessage`,
/// `LDAPProtocolOp`), search filters in BER and in their RFC 4515 string form (`LDAPFilter`),
/// controls with simple paged results (RFC 2696, `LDAPRequestControls`), the extended
/// operations StartTLS and "Who am I?" (RFC 4532), the Notice of Disconnection, and
/// `LDAPSession`, the connection's state that returns actions.
///
/// It imports only SwiftASN1 (BER, kept out of the public API) and NIOCore (for `ByteBuffer`):
/// no channels, no sockets, no RPC, no clock (DESIGN §6, STYLE §1). The gateway owns I/O, TLS,
/// timers and the back-end. Every bound is in `LDAPLimits`.
///
/// How a gateway drives it, per connection:
///
///     var framer = LDAPFramer(limits: limits), session = LDAPSession(configuration: ...)
///     on bytes: try framer.append(bytes)
///               while let pdu = try framer.nextMessage() { perform(session.receive(.received(pdu))) }
///               a thrown LDAPCodecError: perform(session.receive(.framingFailed(error)))
///     perform:  .send → message.write(into: &buffer); .authenticate / .search / .cancel → the
///               back-end, whose answers come back as events; .startTLS → drop the buffered
///               octets and the framer, add TLS, then receive(.tlsEstablished); .close → flush, close.
///     on EOF:   receive(.peerClosed).
public enum LDAPCodec {}
