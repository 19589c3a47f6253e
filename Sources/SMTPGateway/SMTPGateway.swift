/// SMTPGateway: `loft smtp`, the SMTP gateway (RFC 5321 with SIZE, 8BITMIME, PIPELINING,
/// ENHANCEDSTATUSCODES, STARTTLS, AUTH, CHUNKING, SMTPUTF8 — DSN not yet; submission per RFC 6409 and
/// RFC 8314). Per connection it drives `SMTPSession` from SMTPCodec in an
/// `SMTPConnection` on GatewayKit's `ConnectionDriver` and performs the session's actions
/// against the back-end: `auth.login`, `auth.cram_md5` and `auth.scram_begin`/`auth.scram_finish` for AUTH, `delivery.check` at RCPT, and
/// the message through `delivery.submit` (small) or `delivery.begin` / `upload.append` /
/// `upload.commit` (large), answering only after the back-end's durable commit.
///
/// It imports SMTPCodec, GatewayKit, RPCProtocol, RPCTransport, MailCore, NIO and NIOSSL; never
/// Storage or Backend (DESIGN §6).
public import GatewayKit
public import Logging
public import NIOCore
import NIOSSL
import SMTPCodec

/// A running SMTP gateway: one `GatewayServer` per listener (each knows whether it is an MX or
/// a submission port), one connection limiter and one set of back-end clients for all.
public final class SMTPGateway: Sendable {
    /// The listeners' TLS context, loaded again by `reloadTLS` (SIGHUP).
    let serverTLS: ServerTLS?

    /// Loads the certificate and key again for connections accepted from now on; open ones
    /// keep theirs. On failure the current certificate stays and the error says why.
    public func reloadTLS() throws {
        try serverTLS?.reload()
    }

    public let configuration: SMTPGatewayConfiguration
    let servers: [GatewayServer]
    let backend: BackendClients
    let logger: Logger
    let cramMD5Availability: ChallengeResponseAvailability?
    /// The server-wide limit each new session advertises with SIZE and enforces.
    let messageLimit: ServerMessageLimit

    public init(
        configuration: SMTPGatewayConfiguration, backend: BackendClients, tls: TLSFiles?,
        group: any EventLoopGroup, logger: Logger
    ) throws {
        let tlsContext = try GatewayTLS.serverContext(for: configuration.listeners.map(\.listener), files: tls)
        self.serverTLS = tlsContext
        self.configuration = configuration
        self.backend = backend
        self.logger = logger
        let limiter = ConnectionLimiter(
            perAddress: configuration.maxConnectionsPerAddress, total: configuration.maxConnections)
        cramMD5Availability = .watching(
            configuration.cramMD5Offer, offered: configuration.authMechanisms.contains(.cramMD5), backend: backend, group: group)
        let availability = cramMD5Availability
        let (limitClient, limitEvents) = backend.assignWithEvents()
        let messageLimit = ServerMessageLimit(
            client: limitClient, events: limitEvents, initial: Int64(configuration.maximumMessageSize ?? SMTPLimits.messageSize),
            on: group.next())
        self.messageLimit = messageLimit
        let greetingPasses = GreetingPasses()
        var refusal = ByteBuffer()
        SMTPReply(421, .init(4, 7, 0), "\(configuration.hostname) Error: too many connections from your address")
            .encode(into: &refusal)
        servers = try configuration.listeners.map { smtpListener in
            try GatewayServer(
                listeners: [smtpListener.listener], tls: tlsContext, limiter: limiter, group: group,
                logger: logger, refusal: refusal
            ) { [configuration, backend, logger, limiter] channel, info in
                var configuration = configuration
                if let availability, !availability.isUsable { configuration.authMechanisms.removeAll { $0 == .cramMD5 } }
                let server = Int(clamping: messageLimit.current)
                configuration.maximumMessageSize = min(configuration.maximumMessageSize ?? server, server)
                let session = BackendSession(
                    client: backend.assign(), service: SMTPBackend.service, clientAddress: info.clientAddress)
                let adapter = SMTPConnection(
                    configuration: configuration, listener: smtpListener, info: info, backend: SMTPBackend(session: session),
                    eventLoop: channel.eventLoop, logger: logger, greetingPasses: greetingPasses)
                let timeouts = ConnectionTimeouts(
                    idle: configuration.idleTimeout, command: configuration.commandTimeout,
                    authentication: smtpListener.mode == .submission ? configuration.loginTimeout : nil)
                let driver = ConnectionDriver(
                    session: SMTPDrivenSession(), adapter: adapter, info: info, timeouts: timeouts, limiter: limiter)
                try channel.pipeline.syncOperations.addHandler(driver)
            }
        }
    }

    /// Binds every listener; returns the bound addresses in listener order (tests listen on
    /// port 0).
    @discardableResult
    public func start() async throws -> [SocketAddress] {
        var bound: [SocketAddress] = []
        for server in servers {
            do {
                bound += try await server.start()
            } catch {
                await stop(grace: .zero)
                throw error
            }
        }
        return bound
    }

    /// Stops accepting and closes connections after `grace`. A message not yet committed is
    /// aborted with its connection: nothing half-delivered is stored.
    public func stop(grace: TimeAmount = .seconds(10)) async {
        cramMD5Availability?.stop()
        messageLimit.stop()
        await withTaskGroup(of: Void.self) { group in
            for server in servers { group.addTask { await server.stop(grace: grace) } }
        }
    }

    public var connectionCount: Int { servers.reduce(0) { $0 + $1.connectionCount } }
}
