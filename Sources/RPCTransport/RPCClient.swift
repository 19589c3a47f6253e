public import Foundation
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
public import RPCProtocol

/// A connection to the back-end: pipelined calls matched by id, a deadline per call, `hello` on
/// connect, and lazy reconnection — if the back-end restarts, calls in flight fail with
/// `unavailable` and the next call connects again. Safe to share between tasks.
public final class RPCClient: Sendable {
    public let path: String
    let software: String
    let group: any EventLoopGroup
    let defaultTimeout: TimeAmount
    let onNotification: (@Sendable (_ method: String, _ line: ByteBuffer) -> Void)?
    let logger: Logger

    enum Connection {
        case idle
        case connecting(EventLoopFuture<Connected>)
        case connected(any Channel, NIOLoopBound<RPCClientHandler>)
        case closed
    }
    let connection = NIOLockedValueBox(Connection.idle)
    let nextID = NIOLockedValueBox<Int64>(0)
    let connectionObservers = NIOLockedValueBox<[@Sendable (_ connected: Bool) -> Void]>([])

    public init(
        path: String, software: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        timeout: TimeAmount = .seconds(60), logger: Logger = Logger(label: "loft.rpc.client"),
        onNotification: (@Sendable (_ method: String, _ line: ByteBuffer) -> Void)? = nil
    ) {
        self.path = path
        self.software = software
        self.group = group
        self.defaultTimeout = timeout
        self.logger = logger
        self.onNotification = onNotification
    }

    /// Calls `method` and waits for its result. Throws `RPCError` — the back-end's, or
    /// `unavailable` when it cannot be reached, or `timeout` (also when the calling task is
    /// cancelled first, so that a test's time limit ends a call that waits).
    public func call<P, R>(_ method: RPCMethod<P, R>, _ params: P, timeout: TimeAmount? = nil) async throws(RPCError) -> R {
        let future = callFuture(method, params, timeout: timeout)
        let answer = future.eventLoop.makePromise(of: R.self)
        future.cascade(to: answer)
        do {
            // A promise completed twice keeps its first result, so the answer and the
            // cancellation may race.
            return try await withTaskCancellationHandler {
                try await answer.futureResult.get()
            } onCancel: {
                answer.fail(RPCError(.timeout, "\(method.name) was cancelled before its answer", temporary: true))
            }
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError(.unavailable, "back-end call failed: \(error)", temporary: true)
        }
    }

    /// The same as `call`, as a future completed on the connection's event loop: for callers
    /// that live on an event loop themselves (and for the benchmark, which measures the
    /// transport without an executor hop).
    public func callFuture<P, R>(_ method: RPCMethod<P, R>, _ params: P, timeout: TimeAmount? = nil) -> EventLoopFuture<R> {
        callRaw(method: method.name, params: params, timeout: timeout).flatMapThrowing { line in
            do {
                return try JSONRPC.decodeResult(R.self, from: line)
            } catch {
                throw RPCError(.internalError, "could not decode the result of \(method.name): \(error)")
            }
        }
    }

    /// Calls a method by name with raw JSON params (for `loft rpc`): returns the response line.
    public func callRaw(method: String, paramsJSON: Data, timeout: TimeAmount? = nil) -> EventLoopFuture<ByteBuffer> {
        callRaw(method: method, params: RawJSON(data: paramsJSON), timeout: timeout)
    }

    func callRaw(method: String, params: some Encodable & Sendable, timeout: TimeAmount?) -> EventLoopFuture<ByteBuffer> {
        let id = nextID.withLockedValue {
            $0 += 1; return $0
        }
        let deadline = timeout ?? defaultTimeout
        return channel().flatMap { (channel, handler) in
            var buffer = channel.allocator.buffer(capacity: 256)
            do {
                try JSONRPC.encodeRequest(method: method, params: params, id: .number(id), into: &buffer)
            } catch {
                return channel.eventLoop.makeFailedFuture(RPCError(.invalidParams, "could not encode params: \(error)"))
            }
            if buffer.readableBytes > RPCLimits.maxLineBytes {
                return channel.eventLoop.makeFailedFuture(RPCError(.lineTooLong, "request longer than \(RPCLimits.maxLineBytes) bytes"))
            }
            let request = buffer
            // Made only now: a promise dropped unfulfilled (params that failed to encode) traps.
            let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
            let register: @Sendable () -> Void = {
                handler.value.register(id: id, promise: promise, deadline: deadline, method: method)
                channel.writeAndFlush(request, promise: nil)
            }
            if channel.eventLoop.inEventLoop { register() } else { channel.eventLoop.execute(register) }
            return promise.futureResult
        }
    }

    typealias Connected = (any Channel, NIOLoopBound<RPCClientHandler>)

    /// The connected channel and its handler, connecting (and saying `hello`) first when needed.
    func channel() -> EventLoopFuture<Connected> {
        let (future, start) = connection.withLockedValue { state -> (EventLoopFuture<Connected>?, EventLoopPromise<Connected>?) in
            switch state {
            case .connected(let channel, let handler) where channel.isActive:
                return (channel.eventLoop.makeSucceededFuture((channel, handler)), nil)
            case .connecting(let future):
                return (future, nil)
            case .closed:
                return (nil, nil)
            case .idle, .connected:
                let promise = group.next().makePromise(of: Connected.self)
                state = .connecting(promise.futureResult)
                return (promise.futureResult, promise)
            }
        }
        guard let future else {
            return group.next().makeFailedFuture(RPCError(.unavailable, "client closed"))
        }
        if let start { connect(start) }
        return future
    }

    func connect(_ promise: EventLoopPromise<Connected>) {
        let onNotification = self.onNotification
        let logger = self.logger
        let bootstrap = ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFramer(maxLineBytes: RPCLimits.maxLineBytes)))
                    try channel.pipeline.syncOperations.addHandler(RPCClientHandler(onNotification: onNotification, logger: logger))
                }
            }
        let path = self.path
        bootstrap.connect(unixDomainSocketPath: path)
            .flatMapErrorThrowing { error in
                throw RPCError(
                    .unavailable,
                    "cannot reach the Loft back-end at \(path) (\(error)); is it running? Start it with `loft serve` or `loft backend`",
                    temporary: true)
            }
            .flatMap { channel -> EventLoopFuture<Connected> in
                // hello goes first; other calls wait for the connection future, so they follow it.
                let hello = channel.eventLoop.makePromise(of: ByteBuffer.self)
                var buffer = channel.allocator.buffer(capacity: 128)
                try? JSONRPC.encodeRequest(
                    method: Methods.hello.name, params: HelloParams(software: self.software), id: .number(0), into: &buffer)
                guard let handler = try? channel.pipeline.syncOperations.handler(type: RPCClientHandler.self) else {
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(RPCError(.unavailable, "back-end connection closed", temporary: true))
                }
                handler.register(id: 0, promise: hello, deadline: .seconds(10), method: "hello")
                let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
                channel.writeAndFlush(buffer, promise: nil)
                return hello.futureResult.flatMapThrowing { line in
                    _ = try JSONRPC.decodeResult(HelloResult.self, from: line)
                    return (channel, bound)
                }.flatMapError { error in
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .whenComplete { result in
                self.connection.withLockedValue { state in
                    if case .closed = state {
                        if case .success(let (channel, _)) = result { channel.close(promise: nil) }
                        return
                    }
                    switch result {
                    case .success(let (channel, handler)): state = .connected(channel, handler)
                    case .failure: state = .idle
                    }
                }
                promise.completeWith(result)
                if case .success(let (channel, _)) = result {
                    self.connectionChanged(true)
                    channel.closeFuture.whenComplete { _ in self.connectionChanged(false) }
                }
            }
    }

    /// Calls `observer` with true each time a connection (and its `hello`) succeeds and with
    /// false each time one that had succeeded closes: what holds state on the connection (event
    /// subscriptions) knows to make it again.
    public func observeConnection(_ observer: @escaping @Sendable (_ connected: Bool) -> Void) {
        connectionObservers.withLockedValue { $0.append(observer) }
    }

    func connectionChanged(_ connected: Bool) {
        for observer in connectionObservers.withLockedValue({ $0 }) { observer(connected) }
    }

    public func close() async {
        let channel = connection.withLockedValue { state -> (any Channel)? in
            defer { state = .closed }
            if case .connected(let channel, _) = state { return channel }
            return nil
        }
        try? await channel?.close()
    }
}

/// Params given as raw JSON text (what `loft rpc` passes through).
struct RawJSON: Encodable, Sendable {
    let data: Data
    func encode(to encoder: any Encoder) throws {
        let value = try JSONDecoder().decode(JSONValue.self, from: data)
        try value.encode(to: encoder)
    }
}

/// Matches answers to pending calls; passes notifications on; fails everything pending when the
/// connection goes away. Lives on the channel's event loop.
final class RPCClientHandler: ChannelInboundHandler {
    typealias InboundIn = LineFrame

    struct Pending {
        var promise: EventLoopPromise<ByteBuffer>
        var deadline: NIODeadline
        var method: String
    }
    var pending: [Int64: Pending] = [:]
    /// One sweep timer for all deadlines instead of a scheduled task per call: scheduling and
    /// cancelling a task on every call cost more than the call itself on the hot path.
    var sweeper: RepeatedTask?
    static let sweepInterval = TimeAmount.milliseconds(100)
    let onNotification: (@Sendable (String, ByteBuffer) -> Void)?
    let logger: Logger
    var context: ChannelHandlerContext?
    /// Set by `channelInactive`. The handler stays in the pipeline a little longer (it is
    /// removed on a later tick), and a call that reaches `register` in between must fail at
    /// once: `channelInactive` has already failed everything pending, and `handlerRemoved`
    /// cancels the deadline sweeper, so nothing else would ever complete it.
    var inactive = false

    init(onNotification: (@Sendable (String, ByteBuffer) -> Void)?, logger: Logger) {
        self.onNotification = onNotification
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        sweeper = context.eventLoop.scheduleRepeatedTask(initialDelay: Self.sweepInterval, delay: Self.sweepInterval) { _ in
            loopBound.value.failExpired(now: .now())
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        sweeper?.cancel()
        sweeper = nil
        // Without the sweeper no deadline would fire for a call still pending here.
        failAll(RPCError(.unavailable, "the back-end connection closed", temporary: true))
    }

    func failAll(_ error: RPCError) {
        let all = pending
        pending = [:]
        for p in all.values { p.promise.fail(error) }
    }

    func failExpired(now: NIODeadline) {
        for (id, p) in pending where p.deadline <= now {
            pending[id] = nil
            p.promise.fail(RPCError(.timeout, "\(p.method) got no answer in time", temporary: true))
        }
    }

    func register(id: Int64, promise: EventLoopPromise<ByteBuffer>, deadline: TimeAmount, method: String) {
        guard context != nil, !inactive else {
            promise.fail(RPCError(.unavailable, "back-end connection closed", temporary: true))
            return
        }
        pending[id] = Pending(promise: promise, deadline: .now() + deadline, method: method)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .line(let line) = unwrapInboundIn(data) else {
            logger.warning("back-end sent a line longer than the limit; closing")
            context.close(promise: nil)
            return
        }
        guard let head = try? JSONRPC.decodeHead(line) else {
            logger.warning("back-end sent a line that is not JSON-RPC")
            return
        }
        if head.id == nil, let method = head.method {
            onNotification?(method, line)
            return
        }
        guard case .number(let id) = head.id, let p = pending.removeValue(forKey: id) else {
            if let error = head.error { logger.debug("back-end error without a pending call: \(error)") }
            return
        }
        if let error = head.error {
            p.promise.fail(error)
        } else {
            p.promise.succeed(line)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        inactive = true
        failAll(RPCError(.unavailable, "the back-end closed the connection", temporary: true))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
