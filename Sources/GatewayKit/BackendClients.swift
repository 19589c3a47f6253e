import Logging
import NIOConcurrencyHelpers
public import NIOCore
public import RPCTransport

/// A gateway's connections to the back-end on `<data>/gateway.sock`. A few `RPCClient`s share
/// the load, because one back-end connection allows 256 calls in flight (Protocol §1); each
/// client connection of the gateway sticks to one of them, so what the back-end ties to a
/// connection (locks, uploads, subscriptions) stays with it. Each reconnects on its own when
/// the back-end restarts, and its `EventRouter` makes its event subscriptions again.
public final class BackendClients: Sendable {
    public let clients: [RPCClient]
    /// `routers[i]` receives the notifications of `clients[i]`.
    public let routers: [EventRouter]
    private let next = NIOLockedValueBox(0)

    /// `software` is what `hello` tells the back-end (it shows in its logs), e.g. `loft-pop3`.
    public init(
        socketPath: String, software: String, connections: Int = 4,
        group: any EventLoopGroup, timeout: TimeAmount = .seconds(30)
    ) {
        var logger = Logger(label: "loft.\(software).rpc")
        logger.logLevel = .warning
        var clients: [RPCClient] = []
        var routers: [EventRouter] = []
        for _ in 0..<max(1, connections) {
            let router = EventRouter(logger: logger)
            let client = RPCClient(
                path: socketPath, software: software, group: group, timeout: timeout, logger: logger,
                onNotification: { method, line in router.received(method: method, line: line) })
            router.attach(client)
            clients.append(client)
            routers.append(router)
        }
        self.clients = clients
        self.routers = routers
    }

    /// The client for a new connection, round robin.
    public func assign() -> RPCClient {
        assignWithEvents().client
    }

    /// The client for a new connection and the router of its events, round robin.
    public func assignWithEvents() -> (client: RPCClient, events: EventRouter) {
        let index = next.withLockedValue { value in
            defer { value = (value + 1) % clients.count }
            return value
        }
        return (clients[index], routers[index])
    }

    public func close() async {
        for router in routers { router.close() }
        for client in clients { await client.close() }
    }
}
