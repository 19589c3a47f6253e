/// GatewayKit: what every protocol gateway (`loft smtp|pop3|imap|…`) needs around its codec —
/// TCP listeners with a TLS mode (none, STARTTLS-capable, implicit), the STARTTLS switch that
/// discards buffered plaintext, per-address connection limits, idle timers on the event loop,
/// the client address and loopback test, the back-end clients on `gateway.sock`, and a graceful
/// stop on SIGTERM.
///
/// It imports RPCTransport, RPCProtocol, MailCore, NIO, NIOSSL and Logging; never Storage,
/// Backend or GRDB, and no protocol codec (DESIGN §6). Protocol gateways drive their own
/// session state machines in a `ChannelHandler` that GatewayKit installs per connection.
