/// POP3Gateway: `loft pop3`, the POP3 gateway (RFC 1939 with CAPA, STLS, AUTH and response
/// codes: RFC 2449, 2595, 5034, 2195, 3206). Per connection it drives `POP3Session` from
/// POP3Codec in a `POP3Connection` on GatewayKit's `ConnectionDriver`, and performs the
/// session's actions against the back-end: `auth.login`/`auth.apop`/`auth.cram_md5`, the `pop3`
/// maildrop lock with a renewed lease, `message.list` of INBOX at login, `message.read` in
/// chunks for RETR/TOP (reading the next messages' first chunks ahead), and one
/// `message.expunge` at QUIT.
///
/// It imports POP3Codec, GatewayKit, RPCProtocol, RPCTransport, MailCore and NIO; never Storage
/// or Backend (DESIGN §6).
public import GatewayKit
public import Logging
public import NIOCore
import NIOSSL
import POP3Codec

/// A running POP3 gateway: its listeners and back-end clients.
public final class POP3Gateway: Sendable {
    /// The listeners' TLS context, loaded again by `reloadTLS` (SIGHUP).
    let serverTLS: ServerTLS?

    /// Loads the certificate and key again for connections accepted from now on; open ones
    /// keep theirs. On failure the current certificate stays and the error says why.
    public func reloadTLS() throws {
        try serverTLS?.reload()
    }

    public let configuration: POP3GatewayConfiguration
    let server: GatewayServer
    let backend: BackendClients
    let logger: Logger
    let cramMD5Availability: ChallengeResponseAvailability?

    public init(
        configuration: POP3GatewayConfiguration, backend: BackendClients, tls: TLSFiles?,
        group: any EventLoopGroup, logger: Logger
    ) throws {
        let tlsContext = try GatewayTLS.serverContext(for: configuration.listeners, files: tls)
        self.serverTLS = tlsContext
        self.configuration = configuration
        self.backend = backend
        self.logger = logger
        let limiter = ConnectionLimiter(
            perAddress: configuration.maxConnectionsPerAddress, total: configuration.maxConnections)
        cramMD5Availability = .watching(
            configuration.cramMD5Offer, offered: configuration.saslMechanisms.contains(.cramMD5), backend: backend, group: group)
        let availability = cramMD5Availability
        let refusal = POP3Response.err("too many connections, try again later", code: .systemTemporary).encoded
        server = try GatewayServer(
            listeners: configuration.listeners, tls: tlsContext, limiter: limiter, group: group,
            logger: logger, refusal: refusal
        ) { [configuration, backend, logger, limiter] channel, info in
            var configuration = configuration
            if let availability, !availability.isUsable { configuration.saslMechanisms.removeAll { $0 == .cramMD5 } }
            let session = BackendSession(client: backend.assign(), service: POP3Backend.service, clientAddress: info.clientAddress)
            let adapter = POP3Connection(
                configuration: configuration, info: info, backend: POP3Backend(session: session),
                eventLoop: channel.eventLoop, offersAPOP: availability?.isUsable ?? true, logger: logger)
            let driver = ConnectionDriver(
                session: POP3DrivenSession(), adapter: adapter, info: info, timeouts: configuration.timeouts, limiter: limiter)
            try channel.pipeline.syncOperations.addHandler(driver)
        }
    }

    /// Binds every listener; returns the bound addresses (tests listen on port 0).
    @discardableResult
    public func start() async throws -> [SocketAddress] {
        try await server.start()
    }

    /// Stops accepting and closes connections after `grace`; a closed connection deletes nothing.
    public func stop(grace: TimeAmount = .seconds(10)) async {
        cramMD5Availability?.stop()
        await server.stop(grace: grace)
    }

    public var connectionCount: Int { server.connectionCount }
}
