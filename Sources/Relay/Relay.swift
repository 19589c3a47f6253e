/// Relay: `loft relay`, the stateless outbound worker (DESIGN §1, Protocol/README §15). It
/// leases recipients from the back-end's queue over `relay.sock`, resolves their domains' MX
/// hosts, delivers with the SMTP client (`SMTPCodec.SMTPClientSession`), and reports each
/// recipient's outcome; the back-end decides retries and bounces.
public enum Relay {}
