public import Logging
import Metrics
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
public import NIOSSL

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a protocol handler is told about a new connection.
public struct ConnectionInfo: Sendable {
    public let clientAddress: ClientAddress
    public let listener: Listener
    /// The context for STARTTLS on a `.startTLS` listener; nil on the others.
    public let startTLSContext: NIOSSLContext?
    /// True when TLS is on from the first byte (`.implicit`).
    public var isImplicitTLS: Bool { listener.tls == .implicit }
    /// `smtp`, `pop3`, `imap`, `ldap`: the `protocol` label of its metrics.
    public var protocolName = "unknown"
}

/// Accepts TCP connections on a gateway's listeners and hands each to the protocol's channel
/// handler: TLS for implicit listeners, the per-address limit, and a tracked set of live
/// connections for a graceful stop. One per gateway process.
public final class GatewayServer: Sendable {
    /// Adds the protocol's handlers to a new child channel; runs on the channel's event loop.
    public typealias ChannelSetup = @Sendable (_ channel: any Channel, _ info: ConnectionInfo) throws -> Void

    public let listeners: [Listener]
    let tls: ServerTLS?
    let limiter: ConnectionLimiter
    let group: any EventLoopGroup
    let logger: Logger
    let refusal: ByteBuffer
    let setup: ChannelSetup
    let serverChannels = NIOLockedValueBox<[any Channel]>([])
    let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    /// The `protocol` label of the metrics: the logger's label without `loft.`.
    let protocolName: String
    let accepted: Counter
    let refused: Counter
    let open: Meter

    /// `refusal` is the line sent (in the clear, on plain listeners) to a client over its
    /// address's connection limit before closing, e.g. `-ERR [SYS/TEMP] too many connections`.
    public init(
        listeners: [Listener], tls: ServerTLS?, limiter: ConnectionLimiter,
        group: any EventLoopGroup, logger: Logger, refusal: ByteBuffer, setup: @escaping ChannelSetup
    ) throws {
        if tls == nil, let needy = listeners.first(where: { $0.tls != .none }) {
            throw GatewayError("the listener \(needy) needs a TLS certificate and key")
        }
        self.listeners = listeners
        self.tls = tls
        self.limiter = limiter
        self.group = group
        self.logger = logger
        self.refusal = refusal
        self.setup = setup
        protocolName = logger.label.hasPrefix("loft.") ? String(logger.label.dropFirst(5)) : logger.label
        accepted = Counter(label: "loft_connections_total", dimensions: [("protocol", protocolName)])
        refused = Counter(label: "loft_connections_refused_total", dimensions: [("protocol", protocolName)])
        open = Meter(label: "loft_connections_open", dimensions: [("protocol", protocolName)])
    }

    /// Binds every listener; returns the bound addresses in listener order (port 0 picks a
    /// free port, for tests). Throws if any address cannot be bound.
    @discardableResult
    public func start() async throws -> [SocketAddress] {
        var bound: [SocketAddress] = []
        for listener in listeners {
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(.socketOption(.so_keepalive), value: 1)
                .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
                // Room for a 256 KiB chunk of a RETR while the next one is read from the back-end.
                .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 << 10, high: 1 << 20))
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try self.initialize(channel, listener: listener)
                    }
                }
            let channel: any Channel
            do {
                channel = try await bootstrap.bind(host: listener.host, port: listener.port).get()
            } catch {
                await stop(grace: .zero)
                throw Self.cannotListen(listener, error)
            }
            serverChannels.withLockedValue { $0.append(channel) }
            if let address = channel.localAddress { bound.append(address) }
            logger.info("listening on \(listener)")
        }
        return bound
    }

    /// What an administrator needs to hear when `listener` cannot be opened: the system's
    /// reason in words (NIO's own text names its internal call), and what to do about it.
    static func cannotListen(_ listener: Listener, _ error: any Error) -> GatewayError {
        guard let io = error as? IOError else { return GatewayError("cannot listen on \(listener): \(error)") }
        let reason = String(cString: strerror(io.errnoCode))
        let advice =
            switch io.errnoCode {
            case EADDRINUSE:
                ": another program (another mail server, or another loft serve) listens there; stop it or choose another port in loft.yaml"
            case EACCES: ": ports below 1024 need CAP_NET_BIND_SERVICE (deploy/ has systemd units that grant it) or root"
            case EADDRNOTAVAIL: ": no interface of this machine has that address; correct it in loft.yaml"
            default: ""
            }
        // A port in use or one this user may not bind stays so until someone acts; an address
        // not yet configured (at boot) may come, so that one is retried with back-off.
        return GatewayError(
            "cannot listen on \(listener): \(reason)\(advice)", isListenFailure: io.errnoCode == EADDRINUSE || io.errnoCode == EACCES)
    }

    func initialize(_ channel: any Channel, listener: Listener) throws {
        let address = ClientAddress(channel.remoteAddress)
        guard limiter.admit(address.text) else {
            refused.increment()
            logger.notice("refused a connection from \(address): connection limit reached")
            if listener.tls != .implicit {
                channel.writeAndFlush(refusal).whenComplete { _ in channel.close(promise: nil) }
            } else {
                channel.close(promise: nil)
            }
            return
        }
        let id = ObjectIdentifier(channel)
        connections.withLockedValue { $0[id] = channel }
        accepted.increment()
        open.increment()
        channel.closeFuture.whenComplete { [limiter, connections, open] _ in
            open.decrement()
            limiter.release(address.text)
            _ = connections.withLockedValue { $0.removeValue(forKey: id) }
        }
        // The context current now: a reload after this changes only later connections.
        let tlsContext = tls?.current
        if listener.tls == .implicit, let tlsContext {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext))
        }
        var info = ConnectionInfo(
            clientAddress: address, listener: listener, startTLSContext: listener.tls == .startTLS ? tlsContext : nil)
        info.protocolName = protocolName
        try setup(channel, info)
    }

    /// Connections open now.
    public var connectionCount: Int { connections.withLockedValue { $0.count } }

    /// Stops accepting, lets open connections finish for up to `grace`, then closes the rest
    /// (for POP3 a closed connection deletes nothing and gives its lock back).
    public func stop(grace: TimeAmount) async {
        let servers = serverChannels.withLockedValue { channels in
            defer { channels = [] }
            return channels
        }
        for channel in servers { try? await channel.close() }
        let deadline = NIODeadline.now() + grace
        while connectionCount > 0, NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        let left = connections.withLockedValue { Array($0.values) }
        if !left.isEmpty { logger.info("closing \(left.count) connections") }
        for channel in left { try? await channel.close() }
    }
}
