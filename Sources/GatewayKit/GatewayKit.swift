/// GatewayKit: what every protocol gateway (`loft smtp|pop3|imap|ldap|web`, the relay) needs
/// around its codec, written once —
/// - `ConnectionDriver`: a connection's I/O for any codec whose session is a value returning
///   actions (framing, writes, STARTTLS that discards buffered plaintext, back-pressure, close
///   after writes) with `ConnectionDeadlines` (idle, per-command progress, login, stress);
///   a gateway is a `ConnectionAdapter` that performs its session's back-end actions;
/// - `GatewayServer` and `Listener`: TCP listeners with a TLS mode, `ConnectionLimiter` (a cap
///   in all, per address, and stress), `ClientAddress`, `GatewayTLS`;
/// - `BackendClients`, `BackendSession` (every login mechanism, the SCRAM relay, one typed
///   `LoginFailure`), `MessageUpload` (a message streamed to the back-end in bounded chunks)
///   and `EventRouter` (event subscriptions as async sequences, made again after a back-end
///   restart);
/// - `NetworkRange` (trusted networks) and `TraceHeaders` (Received, Date, Message-ID).
///
/// It imports RPCTransport, RPCProtocol, MailCore, NIO, NIOSSL and Logging; never Storage,
/// Backend or GRDB, and no protocol codec (DESIGN §6).
