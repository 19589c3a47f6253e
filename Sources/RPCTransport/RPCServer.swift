import Foundation
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
public import RPCProtocol

/// One decoded request. `line` is the whole JSON line; `params(_:)` decodes its `params`
/// member to the type the method expects.
public struct RPCRequest: Sendable {
    public let method: String
    public let id: RPCID?
    public let line: ByteBuffer

    public func params<P: Decodable>(_ type: P.Type) throws(RPCError) -> P {
        do {
            return try JSONRPC.decodeParams(type, from: line)
        } catch {
            // The envelope may have come from the line's prefix alone (`JSONRPC.canonicalHead`):
            // a line that is not JSON at all is still a parse error (JSON-RPC 2.0 §5.1).
            if case DecodingError.dataCorrupted(let context) = error, context.codingPath.isEmpty, !JSONRPC.isJSON(line) {
                throw RPCError(.parseError, "not valid JSON")
            }
            throw JSONRPC.invalidParams(error)
        }
    }
}

/// What a method handler answers with, exactly once; from any thread. A request without an id
/// (a JSON-RPC notification) gets no answer on the wire.
public struct RPCResponder: Sendable {
    let id: RPCID?
    let wantsAnswer: Bool
    let connection: RPCConnection

    public func succeed(_ result: some Encodable & Sendable) {
        guard wantsAnswer else { return connection.finished(nil) }
        var buffer = connection.channel.allocator.buffer(capacity: 256)
        do {
            try JSONRPC.encodeResult(result, id: id, into: &buffer)
        } catch {
            buffer.clear()
            JSONRPC.encodeError(RPCError(.internalError, "could not encode the result"), id: id, into: &buffer)
        }
        if buffer.readableBytes > RPCLimits.maxLineBytes {
            // A line over the limit would make the client drop the connection, failing every
            // other call in flight on it (a gateway multiplexes many sessions on one): answer
            // with an error instead. Results that grow with a UID set are the ones that can.
            let size = buffer.readableBytes
            buffer.clear()
            JSONRPC.encodeError(
                RPCError(
                    .lineTooLong,
                    "the result (\(size) bytes) is over the \(RPCLimits.maxLineBytes)-byte line limit and was not sent; "
                        + "what the call changed is changed: ask about fewer UIDs"),
                id: id, into: &buffer)
        }
        connection.finished(buffer)
    }

    public func fail(_ error: RPCError) {
        guard wantsAnswer else { return connection.finished(nil) }
        var buffer = connection.channel.allocator.buffer(capacity: 128)
        JSONRPC.encodeError(error, id: id, into: &buffer)
        connection.finished(buffer)
    }

    public func complete<R: Encodable & Sendable>(_ result: Result<R, RPCError>) {
        switch result {
        case .success(let r): succeed(r)
        case .failure(let e): fail(e)
        }
    }
}

/// One client connection to the back-end. Handlers use it to push notifications and to clean
/// up (uploads, subscriptions, locks) when it closes.
public final class RPCConnection: Sendable, Hashable {
    public let id: Int64
    public let role: RPCRole
    public let channel: any Channel
    struct State {
        var helloDone = false
        var inFlight = 0
        /// The client half-closed (end of input): answer what was read, then close.
        var inputClosed = false
        var closed = false
        /// By registration number, so that one can be removed and the rest run in order.
        var onClose: [Int: @Sendable () -> Void] = [:]
        var nextCloseHook = 0
        var onWritable: [@Sendable () -> Void] = []
        var software: String?
        /// The protocol version `hello` agreed on.
        var version = RPCVersion.current
    }
    let state = NIOLockedValueBox(State())

    /// The protocol version the caller asked for in `hello` (`RPCVersion.supported`).
    public var version: Int { state.withLockedValue { $0.version } }

    init(id: Int64, role: RPCRole, channel: any Channel) {
        self.id = id
        self.role = role
        self.channel = channel
    }

    /// A hook registered with `onClose`, for `removeCloseHook`.
    public struct CloseHook: Sendable, Hashable {
        let number: Int
    }

    /// Runs `body` once when the connection closes (at once if it already has). What guards a
    /// resource that may end before the connection (an upload) removes its hook then, so a
    /// connection that lives for days does not gather one per call.
    @discardableResult
    public func onClose(_ body: @escaping @Sendable () -> Void) -> CloseHook {
        let hook = state.withLockedValue { s -> CloseHook? in
            if s.closed { return nil }
            s.nextCloseHook += 1
            s.onClose[s.nextCloseHook] = body
            return CloseHook(number: s.nextCloseHook)
        }
        guard let hook else {
            body()
            return CloseHook(number: 0)
        }
        return hook
    }

    /// Forgets a hook that has not run yet; nothing if it has.
    public func removeCloseHook(_ hook: CloseHook) {
        _ = state.withLockedValue { $0.onClose.removeValue(forKey: hook.number) }
    }

    public var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// Hooks registered with `onClose` and not yet run: a connection that lives for days
    /// (a gateway's) must not gather one per call.
    var closeHookCount: Int { state.withLockedValue { $0.onClose.count } }

    /// Runs `body` each time the connection becomes writable again after its write buffer
    /// went over the high water mark (`RPCServer.writeBufferWaterMark`), on its event loop.
    public func onWritable(_ body: @escaping @Sendable () -> Void) {
        state.withLockedValue { s in
            if !s.closed { s.onWritable.append(body) }
        }
    }

    func becameWritable() {
        for hook in state.withLockedValue({ $0.onWritable }) { hook() }
    }

    /// Sends notifications (no id) to this client unless it is not reading: a notification
    /// that finds the write buffer over its high water mark is dropped, not queued, and
    /// `dropped` hears the indices of those lost (on the event loop), so the sender can tell
    /// the client to re-read instead. Memory stays bounded however slow the reader.
    @discardableResult
    public func notify<P: Encodable & Sendable>(
        method: String, params: [P], dropped: @escaping @Sendable (_ indices: [Int]) -> Void
    ) -> EventLoopFuture<Void> {
        let allocator = channel.allocator
        let lines = params.map { p in
            var buffer = allocator.buffer(capacity: 256)
            if (try? JSONRPC.encodeRequest(method: method, params: p, id: nil, into: &buffer)) == nil { buffer.clear() }
            return buffer
        }
        let channel = self.channel
        let send: @Sendable () -> Void = {
            var lost: [Int] = []
            for (i, line) in lines.enumerated() where line.readableBytes > 0 {
                if channel.isWritable { channel.writeAndFlush(line, promise: nil) } else { lost.append(i) }
            }
            if !lost.isEmpty { dropped(lost) }
        }
        // The future completes once the lines are handed to the socket (or dropped), so a
        // sender can make sure a notification goes out before something else it answers.
        guard !channel.eventLoop.inEventLoop else {
            send()
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        return channel.eventLoop.submit(send)
    }

    /// Sends a JSON-RPC notification (no id) to this client.
    public func notify(method: String, params: some Encodable & Sendable) {
        var buffer = channel.allocator.buffer(capacity: 256)
        guard (try? JSONRPC.encodeRequest(method: method, params: params, id: nil, into: &buffer)) != nil else { return }
        channel.writeAndFlush(buffer, promise: nil)
    }

    func finished(_ answer: ByteBuffer?) {
        let channel = self.channel
        let state = self.state
        let write: @Sendable () -> Void = {
            let last = state.withLockedValue { s -> Bool in
                s.inFlight -= 1
                return s.inputClosed && s.inFlight == 0
            }
            if let answer { channel.writeAndFlush(answer, promise: nil) }
            if last { Self.closeAfterWrites(channel) }
        }
        if channel.eventLoop.inEventLoop { write() } else { channel.eventLoop.execute(write) }
    }

    /// The client sent its last byte (`printf … | socat`): the requests already read are still
    /// answered, and the connection closes once the last answer is written. On the event loop.
    func inputEnded() {
        let idle = state.withLockedValue { s -> Bool in
            s.inputClosed = true
            return s.inFlight == 0
        }
        if idle { Self.closeAfterWrites(channel) }
    }

    /// Writes complete in order, so once an empty write is done every answer before it is on
    /// the wire; closing at once would throw away answers still queued.
    static func closeAfterWrites(_ channel: any Channel) {
        channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in channel.close(promise: nil) }
    }

    func markClosed() {
        let hooks = state.withLockedValue { s -> [@Sendable () -> Void] in
            s.closed = true
            s.onWritable = []
            defer { s.onClose = [:] }
            return s.onClose.sorted { $0.key < $1.key }.map(\.value)
        }
        for hook in hooks { hook() }
    }

    public static func == (a: RPCConnection, b: RPCConnection) -> Bool { a === b }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

/// The back-end side of the RPC: turns requests into answers. Called on the connection's event
/// loop; must not block it (hand blocking work to a thread pool and answer from there).
public protocol RPCDispatcher: Sendable {
    func dispatch(_ request: RPCRequest, connection: RPCConnection, responder: RPCResponder)
}

/// Describes the server to `hello` callers.
public struct RPCServerIdentity: Sendable {
    public var server: String
    public var capabilities: [String]
    public init(server: String, capabilities: [String]) {
        self.server = server
        self.capabilities = capabilities
    }
}

/// Reads frames from one connection, enforces the envelope rules (JSON-RPC 2.0, `hello` first,
/// the method's roles, the in-flight cap) and hands valid requests to the dispatcher.
final class RPCServerHandler: ChannelInboundHandler {
    typealias InboundIn = LineFrame
    typealias OutboundOut = ByteBuffer

    let connection: RPCConnection
    let dispatcher: any RPCDispatcher
    let identity: RPCServerIdentity
    let roles: [String: Set<RPCRole>]
    let logger: Logger

    init(
        connection: RPCConnection, dispatcher: any RPCDispatcher, identity: RPCServerIdentity, roles: [String: Set<RPCRole>], logger: Logger
    ) {
        self.connection = connection
        self.dispatcher = dispatcher
        self.identity = identity
        self.roles = roles
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .oversize:
            reply(context, error: RPCError(.lineTooLong, "request line longer than \(RPCLimits.maxLineBytes) bytes"), id: nil)
        case .line(let line):
            handle(line, context: context)
        }
    }

    func handle(_ line: ByteBuffer, context: ChannelHandlerContext) {
        if line.readableBytes == 0 { return }  // blank lines are ignored, as a courtesy to typists
        let head: JSONRPC.Head
        let fromPrefix = JSONRPC.canonicalHead(line)
        do {
            head = try fromPrefix ?? JSONDecoder().decode(JSONRPC.Head.self, from: line)
        } catch {
            // Valid JSON that is not a request object (an array, a batch, a bare value) is an
            // invalid request; anything else a parse error (JSON-RPC 2.0 §5.1).
            let isJSON = JSONRPC.isJSON(line)
            return reply(
                context,
                error: isJSON
                    ? RPCError(.invalidRequest, "not a JSON-RPC 2.0 request object (batches are not supported)")
                    : RPCError(.parseError, "not valid JSON"),
                id: nil)
        }
        guard head.jsonrpc == "2.0", let method = head.method else {
            return reply(
                context, error: RPCError(.invalidRequest, "not a JSON-RPC 2.0 request: needs \"jsonrpc\":\"2.0\" and a \"method\""),
                id: head.id)
        }
        let wantsAnswer = head.hasID
        guard let allowed = roles[method] else {
            return replyEarly(
                wantsAnswer, fromPrefix != nil, line, context, error: RPCError(.methodNotFound, "no such method: \(method)"), id: head.id)
        }
        guard allowed.contains(connection.role) else {
            return replyEarly(
                wantsAnswer, fromPrefix != nil, line, context,
                error: RPCError(.permissionDenied, "\(method) is not available on the \(connection.role.rawValue) socket"),
                id: head.id)
        }
        let request = RPCRequest(method: method, id: head.id, line: line)
        if method == Methods.hello.name {
            return hello(request, wantsAnswer: wantsAnswer, context: context)
        }
        let (ready, overloaded) = connection.state.withLockedValue { s -> (Bool, Bool) in
            guard s.helloDone else { return (false, false) }
            guard s.inFlight < RPCLimits.maxInFlight else { return (true, true) }
            s.inFlight += 1
            return (true, false)
        }
        guard ready else {
            return replyEarly(
                wantsAnswer, fromPrefix != nil, line, context, error: RPCError(.helloRequired, "call hello first"), id: head.id)
        }
        guard !overloaded else {
            return replyEarly(
                wantsAnswer, fromPrefix != nil, line, context,
                error: RPCError(.overloaded, "more than \(RPCLimits.maxInFlight) requests in flight", temporary: true), id: head.id)
        }
        dispatcher.dispatch(
            request, connection: connection, responder: RPCResponder(id: head.id, wantsAnswer: wantsAnswer, connection: connection))
    }

    func hello(_ request: RPCRequest, wantsAnswer: Bool, context: ChannelHandlerContext) {
        let params: HelloParams
        do {
            params = try request.params(HelloParams.self)
        } catch {
            return replyIf(wantsAnswer, context, error: error, id: request.id)
        }
        guard RPCVersion.supported.contains(params.version) else {
            return replyIf(
                wantsAnswer, context,
                error: RPCError(
                    .versionMismatch, "protocol version \(params.version) is not supported; this back-end speaks \(RPCVersion.supported)"),
                id: request.id)
        }
        connection.state.withLockedValue {
            $0.helloDone = true
            $0.software = params.software
            $0.version = params.version
        }
        let result = HelloResult(
            version: params.version, server: identity.server, role: connection.role,
            maxLineBytes: RPCLimits.maxLineBytes, maxChunkBytes: RPCLimits.maxChunkBytes, capabilities: identity.capabilities)
        guard wantsAnswer else { return }
        var buffer = context.channel.allocator.buffer(capacity: 256)
        try? JSONRPC.encodeResult(result, id: request.id, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    /// An error answered before the line's params are decoded. When the envelope was read from
    /// the line's prefix alone, the line is checked first: one that is not JSON gets the parse
    /// error it always got (JSON-RPC 2.0 §5), not an answer about its method.
    func replyEarly(
        _ wantsAnswer: Bool, _ fromPrefix: Bool, _ line: ByteBuffer, _ context: ChannelHandlerContext, error: RPCError, id: RPCID?
    ) {
        if fromPrefix, !JSONRPC.isJSON(line) {
            return reply(context, error: RPCError(.parseError, "not valid JSON"), id: nil)
        }
        replyIf(wantsAnswer, context, error: error, id: id)
    }

    func replyIf(_ wantsAnswer: Bool, _ context: ChannelHandlerContext, error: RPCError, id: RPCID?) {
        if wantsAnswer { reply(context, error: error, id: id) }
    }

    func reply(_ context: ChannelHandlerContext, error: RPCError, id: RPCID?) {
        var buffer = context.channel.allocator.buffer(capacity: 128)
        JSONRPC.encodeError(error, id: id, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.markClosed()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { connection.becameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Remote half-closure is allowed (`allowRemoteHalfClosure`), so end of input arrives
        // here, after the framer has handed up every complete line before it.
        if let event = event as? ChannelEvent, event == .inputClosed {
            connection.inputEnded()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("RPC connection \(connection.id) error: \(error)")
        context.close(promise: nil)
    }
}

/// Listens on one Unix-domain socket with one role (DESIGN §2).
public final class RPCServer: Sendable {
    /// Past `high` bytes waiting to be written a connection is not writable, and change events
    /// for it are dropped (Protocol/README §9) until it drains below `low`.
    public static let writeBufferWaterMark = ChannelOptions.Types.WriteBufferWaterMark(low: 256 << 10, high: 1 << 20)

    public let path: String
    public let role: RPCRole
    let channel: any Channel

    /// Binds `path` (replacing a stale socket file) and sets its mode: 0660 for the gateway
    /// socket, 0600 for the admin socket. The mode is applied through the umask at bind time,
    /// so there is no moment when the socket is more open than intended.
    public static func bind(
        path: String, role: RPCRole, group: any EventLoopGroup, dispatcher: any RPCDispatcher,
        identity: RPCServerIdentity, logger: Logger
    ) async throws -> RPCServer {
        let roles = Dictionary(uniqueKeysWithValues: Methods.all.map { ($0.name, $0.roles) })
        let nextID = NIOLockedValueBox<Int64>(0)
        let open = NIOLockedValueBox<[Int64: any Channel]>([:])
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: writeBufferWaterMark)
            .childChannelInitializer { channel in
                let id = nextID.withLockedValue {
                    $0 += 1; return $0
                }
                let connection = RPCConnection(id: id, role: role, channel: channel)
                open.withLockedValue { $0[id] = channel }
                channel.closeFuture.whenComplete { _ in _ = open.withLockedValue { $0.removeValue(forKey: id) } }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFramer(maxLineBytes: RPCLimits.maxLineBytes)))
                    try channel.pipeline.syncOperations.addHandler(
                        RPCServerHandler(connection: connection, dispatcher: dispatcher, identity: identity, roles: roles, logger: logger))
                }
            }
        // admin.sock and relay.sock: the owner only (`loft serve` runs the relay as itself);
        // gateway.sock: the group too, for gateways run as another user.
        let ownerOnly = role == .admin || role == .relay
        let mask: mode_t = ownerOnly ? 0o177 : 0o117
        let old = umask(mask)
        defer { umask(old) }
        // Bound under a temporary name and renamed into place once listening, so the socket file
        // appearing means the server accepts connections (no window of ECONNREFUSED).
        let temporary = path + ".binding"
        let channel = try await bootstrap.bind(unixDomainSocketPath: temporary, cleanupExistingSocketFile: true).get()
        chmod(temporary, ownerOnly ? 0o600 : 0o660)
        guard rename(temporary, path) == 0 else {
            try? await channel.close()
            throw RPCError(.internalError, "cannot move the socket into place at \(path)")
        }
        return RPCServer(path: path, role: role, channel: channel, open: open)
    }

    let open: NIOLockedValueBox<[Int64: any Channel]>

    init(path: String, role: RPCRole, channel: any Channel, open: NIOLockedValueBox<[Int64: any Channel]>) {
        self.path = path
        self.role = role
        self.channel = channel
        self.open = open
    }

    /// Stops listening and closes every connection: clients see the back-end go away and fail
    /// their calls in flight, rather than talking to a back-end that no longer works.
    public func close() async {
        try? await channel.close()
        unlink(path)
        for connection in open.withLockedValue({ Array($0.values) }) {
            try? await connection.close()
        }
    }
}
