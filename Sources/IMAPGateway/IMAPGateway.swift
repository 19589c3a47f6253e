/// IMAPGateway: `loft imap`, the IMAP4rev1 gateway (RFC 3501). Per connection it drives
/// `IMAPSession` from IMAPCodec in an `IMAPConnection` on GatewayKit's `ConnectionDriver`, and
/// runs the authenticated and selected commands against the back-end in `IMAPCommandRunner`:
/// mailboxes through the `mailbox.*` methods, the selected mailbox's sequence numbers from
/// `mailbox.select`/`message.uids`, FETCH from `message.list` (flags, envelope, structure) and
/// `message.read`/`message.read_batch` (sections), SEARCH through `message.search`, APPEND
/// through `message.append` and GatewayKit's `MessageUpload`, and other sessions' changes from
/// the back-end's event subscription.
///
/// It imports IMAPCodec, GatewayKit, RPCProtocol, RPCTransport, MailMessage (to render ENVELOPE
/// and BODYSTRUCTURE), MailCore and NIO; never Storage or Backend (DESIGN §6).
public import GatewayKit
import IMAPCodec
public import Logging
public import NIOCore
import NIOSSL

/// A running IMAP gateway: its listeners and back-end clients.
public final class IMAPGateway: Sendable {
    /// The listeners' TLS context, loaded again by `reloadTLS` (SIGHUP).
    let serverTLS: ServerTLS?

    /// Loads the certificate and key again for connections accepted from now on; open ones
    /// keep theirs. On failure the current certificate stays and the error says why.
    public func reloadTLS() throws {
        try serverTLS?.reload()
    }

    public let configuration: IMAPGatewayConfiguration
    let server: GatewayServer
    let backend: BackendClients
    let logger: Logger
    let cramMD5Availability: ChallengeResponseAvailability?

    public init(
        configuration: IMAPGatewayConfiguration, backend: BackendClients, tls: TLSFiles?,
        group: any EventLoopGroup, logger: Logger
    ) throws {
        let tlsContext = try GatewayTLS.serverContext(for: configuration.listeners, files: tls)
        self.serverTLS = tlsContext
        self.configuration = configuration
        self.backend = backend
        self.logger = logger
        let limiter = ConnectionLimiter(perAddress: configuration.maxConnectionsPerAddress, total: configuration.maxConnections)
        cramMD5Availability = .watching(
            configuration.cramMD5Offer, offered: configuration.saslMechanisms.contains(.cramMD5), backend: backend, group: group)
        let availability = cramMD5Availability
        // RFC 3501 §7.1.5: BYE in place of a greeting.
        let refusal = ByteBuffer(string: "* BYE too many connections, try again later\r\n")
        server = try GatewayServer(
            listeners: configuration.listeners, tls: tlsContext, limiter: limiter, group: group,
            logger: logger, refusal: refusal
        ) { [configuration, backend, logger, limiter] channel, info in
            var configuration = configuration
            if let availability, !availability.isUsable { configuration.saslMechanisms.removeAll { $0 == .cramMD5 } }
            let (client, events) = backend.assignWithEvents()
            let adapter = IMAPConnection(
                configuration: configuration, info: info,
                session: BackendSession(client: client, service: "imap", clientAddress: info.clientAddress),
                events: events, eventLoop: channel.eventLoop, logger: logger)
            let driver = ConnectionDriver(
                session: IMAPDrivenSession(), adapter: adapter, info: info, timeouts: configuration.timeouts, limiter: limiter)
            try channel.pipeline.syncOperations.addHandler(driver)
        }
    }

    /// Binds every listener; returns the bound addresses (tests listen on port 0).
    @discardableResult
    public func start() async throws -> [SocketAddress] {
        try await server.start()
    }

    /// Stops accepting and closes connections after `grace`.
    public func stop(grace: TimeAmount = .seconds(10)) async {
        cramMD5Availability?.stop()
        await server.stop(grace: grace)
    }

    public var connectionCount: Int { server.connectionCount }
}
