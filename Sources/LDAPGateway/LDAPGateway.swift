/// LDAPGateway: `loft ldap`, the read-only directory (issue 12). Per connection it drives
/// `LDAPSession` from LDAPCodec on GatewayKit's `ConnectionDriver`; binds are checked by the
/// back-end (`auth.login`, with its throttling); searches run against `LDAPDirectory`, an
/// in-memory view of the back-end's `directory.list`, read again whenever the back-end says it
/// changed (`directory.watch`, Protocol/README §16).
///
/// It imports LDAPCodec, GatewayKit, RPCProtocol, RPCTransport, MailCore and NIO; never Storage
/// or Backend (DESIGN §6).
public import GatewayKit
import LDAPCodec
public import Logging
public import NIOCore
import NIOSSL
import Synchronization

/// A running LDAP gateway: its listeners, the shared directory copy and the anonymous rate.
public final class LDAPGateway: Sendable {
    /// The listeners' TLS context, loaded again by `reloadTLS` (SIGHUP).
    let serverTLS: ServerTLS?

    /// Loads the certificate and key again for connections accepted from now on; open ones
    /// keep theirs. On failure the current certificate stays and the error says why.
    public func reloadTLS() throws {
        try serverTLS?.reload()
    }

    public let configuration: LDAPGatewayConfiguration
    let server: GatewayServer
    let directory: DirectoryCache

    public init(
        configuration: LDAPGatewayConfiguration, backend: BackendClients, tls: TLSFiles?, group: any EventLoopGroup, logger: Logger
    ) throws {
        let tlsContext = try GatewayTLS.serverContext(for: configuration.listeners, files: tls)
        self.serverTLS = tlsContext
        self.configuration = configuration
        let directoryConfiguration = LDAPDirectoryConfiguration(
            baseDN: configuration.baseDN, vendorVersion: configuration.vendorVersion,
            startTLSAvailable: tlsContext != nil && configuration.listeners.contains { $0.tls == .startTLS },
            policy: configuration.policy)
        let (client, events) = backend.assignWithEvents()
        let directory = DirectoryCache(
            client: client, events: events, configuration: directoryConfiguration, loop: group.next(), logger: logger)
        self.directory = directory
        let rateLimit = AnonymousSearchRate(perMinute: configuration.anonymousSearchesPerMinute)
        let limiter = ConnectionLimiter(perAddress: configuration.maxConnectionsPerAddress, total: configuration.maxConnections)
        // RFC 4511 §4.4.1: a Notice of Disconnection in place of any answer.
        var refusal = ByteBuffer()
        LDAPMessage.noticeOfDisconnection(.busy, diagnosticMessage: "too many connections, try again later").write(into: &refusal)
        server = try GatewayServer(
            listeners: configuration.listeners, tls: tlsContext, limiter: limiter, group: group, logger: logger,
            refusal: refusal
        ) { [configuration, backend, logger, limiter] channel, info in
            let sessionConfiguration = LDAPSessionConfiguration(
                limits: configuration.limits, startTLSAvailable: info.startTLSContext != nil, implicitTLS: info.isImplicitTLS,
                allowsPlaintextBind: configuration.allowPlaintextWithoutTLS
                    || (configuration.allowPlaintextOnLoopback && info.clientAddress.isLoopback))
            let adapter = LDAPConnection(
                configuration: configuration, info: info,
                backend: BackendSession(client: backend.assign(), service: "ldap", clientAddress: info.clientAddress),
                directory: directory, rateLimit: rateLimit, eventLoop: channel.eventLoop, logger: logger)
            let driver = ConnectionDriver(
                session: LDAPDrivenSession(configuration: sessionConfiguration), adapter: adapter, info: info,
                timeouts: configuration.timeouts, limiter: limiter)
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
        await server.stop(grace: grace)
    }

    public var connectionCount: Int { server.connectionCount }
}

/// Anonymous searches per client address per minute (a fixed window), shared by every
/// connection of the gateway, so that opening more connections does not buy more searches.
/// At most `maximumAddresses` windows are kept; past that, expired ones are dropped, and if
/// none has expired the table starts afresh (a flood of addresses resets the counts rather
/// than growing memory).
final class AnonymousSearchRate: Sendable {
    let perMinute: Int
    static let maximumAddresses = 100_000
    private let windows = Mutex<[String: (start: NIODeadline, count: Int)]>([:])

    init(perMinute: Int) { self.perMinute = perMinute }

    func allow(_ address: String, now: NIODeadline = .now()) -> Bool {
        guard perMinute > 0 else { return true }
        return windows.withLock { windows in
            if var window = windows[address], now - window.start < .minutes(1) {
                guard window.count < perMinute else { return false }
                window.count += 1
                windows[address] = window
                return true
            }
            if windows.count >= Self.maximumAddresses {
                windows = windows.filter { now - $0.value.start < .minutes(1) }
                if windows.count >= Self.maximumAddresses { windows = [:] }
            }
            windows[address] = (now, 1)
            return true
        }
    }
}
