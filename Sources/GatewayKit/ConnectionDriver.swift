import Metrics
public import NIOCore
import NIOSSL

/// What the connection driver needs of a protocol's session: a value that frames its input
/// into events and answers each event with actions (STYLE §3). SMTP frames for itself (what a
/// unit is depends on its state: command, AUTH line, DATA, BDAT), so it takes whatever bytes
/// there are as one event; POP3 frames lines with the shared line framer first.
public protocol DrivenSession {
    associatedtype Event
    associatedtype Action

    /// The next event framed from `inbound`, consuming its bytes; nil when more are needed.
    mutating func nextEvent(from inbound: inout ByteBuffer) -> Event?
    mutating func receive(_ event: Event) -> [Action]
    /// The event for something that happened to the connection; nil when the session has none.
    func event(for signal: ConnectionSignal) -> Event?
    /// True while the session takes no input (it waits for the back-end or the TLS handshake):
    /// the driver frames nothing more and stops reading from the socket meanwhile.
    var isWaiting: Bool { get }
    /// True while part of a unit has arrived but not its end (in the session or in `inbound`).
    func hasPartialInput(_ inbound: ByteBuffer) -> Bool
    /// True once the client has logged in (deadlines relax, see `ConnectionTimeouts`).
    var isAuthenticated: Bool { get }
    /// Forgets whatever input the session holds (STARTTLS: RFC 3207 §5, RFC 2595 §4).
    mutating func discardBufferedInput()
}

/// Something that happened to a connection, told to the session as one of its events.
public enum ConnectionSignal: Sendable, Hashable {
    case timeout(ConnectionTimeout)
    case peerClosed
    case tlsEstablished
}

/// A session event type with one event for each signal (POP3's and SMTP's `.timeout`,
/// `.peerClosed`, `.tlsEstablished`): its `DrivenSession` needs no mapping of its own.
public protocol ConnectionSignalEvents {
    static var timeout: Self { get }
    static var peerClosed: Self { get }
    static var tlsEstablished: Self { get }
}

extension DrivenSession where Event: ConnectionSignalEvents {
    public func event(for signal: ConnectionSignal) -> Event? {
        signalEvent(signal)
    }

    /// The event named after `signal`, for a session that handles some signals itself.
    public func signalEvent(_ signal: ConnectionSignal) -> Event? {
        switch signal {
        case .timeout: .timeout
        case .peerClosed: .peerClosed
        case .tlsEstablished: .tlsEstablished
        }
    }
}

/// The protocol-specific half of a connection: performs the session's actions that are not
/// plain I/O (back-end calls, state such as a login token) and tells the driver what to write.
/// A protocol gateway is such an adapter plus its codec; everything else is the driver's.
public protocol ConnectionAdapter: AnyObject {
    associatedtype Session: DrivenSession

    /// The connection is up: feed the session its opening event (`driver.feed`), at once or
    /// after a back-end call (POP3 asks the back-end for its APOP challenge first).
    func connectionOpened(_ driver: ConnectionDriver<Self>)
    /// Performs one action. Writes, STARTTLS and close go through `driver`; a back-end answer
    /// comes back with `driver.feed(_:)` on the event loop, an immediate outcome with
    /// `driver.enqueue(_:)`.
    func perform(_ action: Session.Action, _ driver: ConnectionDriver<Self>)
    /// The connection has closed: give back what the adapter holds (locks, uploads).
    func connectionClosed(_ driver: ConnectionDriver<Self>)
    /// True while the adapter cannot take more input (an upload backed up).
    var holdsInput: Bool { get }
    /// The socket can take writes again after back-pressure.
    func becameWritable(_ driver: ConnectionDriver<Self>)
}

extension ConnectionAdapter {
    public func connectionClosed(_ driver: ConnectionDriver<Self>) {}
    public var holdsInput: Bool { false }
    public func becameWritable(_ driver: ConnectionDriver<Self>) {}
}

/// Owns one connection's I/O for any `DrivenSession` (issue 7 §2): read → frame → session →
/// actions → write and flush; STARTTLS with buffered plaintext discarded; reads stopped while
/// the session waits, the adapter is backed up, the socket is not writable or too much input is
/// buffered (so neither a pipelining client nor one that never reads grows memory); small
/// writes of one round gathered into one; close after the writes; and the deadlines of
/// `ConnectionDeadlines`, on the event loop's clock (an `EmbeddedEventLoop` advances it in tests).
///
/// Everything runs on the channel's event loop. Not Sendable.
public final class ConnectionDriver<Adapter: ConnectionAdapter>: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer
    public typealias Event = Adapter.Session.Event

    public private(set) var session: Adapter.Session
    public let adapter: Adapter
    public let info: ConnectionInfo
    let limiter: ConnectionLimiter?
    public private(set) var deadlines: ConnectionDeadlines?
    let timeouts: ConnectionTimeouts

    public private(set) var context: ChannelHandlerContext?
    var inbound = ByteBuffer()
    var queuedEvents: [Event] = []
    var performing = false
    var wroteSinceFlush = false
    var pendingOutput: ByteBuffer?
    public private(set) var isClosed = false
    var readHeld = false
    var framing = false
    var timer: Scheduled<Void>?
    var timerDeadline: NIODeadline?

    /// Writes smaller than this within one round are gathered into one buffer.
    static var coalescedWriteLimit: Int { 16 << 10 }
    /// Input held unframed (pipelined while the session waits) before the driver stops reading.
    public static var maximumBufferedInput: Int { 64 << 10 }

    /// `limiter` tells whether the gateway is under stress; nil: never.
    public init(
        session: Adapter.Session, adapter: Adapter, info: ConnectionInfo, timeouts: ConnectionTimeouts,
        limiter: ConnectionLimiter?
    ) {
        self.session = session
        self.adapter = adapter
        self.info = info
        self.timeouts = timeouts
        self.limiter = limiter
    }

    public var eventLoop: any EventLoop { context!.eventLoop }
    public var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }
    public var isWritable: Bool { context?.channel.isWritable ?? false }

    // MARK: - Channel events

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        self.context = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        deadlines = ConnectionDeadlines(timeouts: timeouts, now: context.eventLoop.now)
        rearmTimer()
        adapter.connectionOpened(self)
        context.fireChannelActive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosed else { return }
        var bytes = unwrapInboundIn(data)
        let count = bytes.readableBytes
        if inbound.readableBytes == 0 {
            inbound = bytes
        } else {
            inbound.writeBuffer(&bytes)
        }
        processInput(received: count)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        isClosed = true
        cancelTimer()
        pendingOutput = nil
        if let event = session.event(for: .peerClosed) { feed(event) }
        adapter.connectionClosed(self)
        context.fireChannelInactive()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            adapter.becameWritable(self)
            resumeReadingIfPossible()
        }
        context.fireChannelWritabilityChanged()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if StartTLS.isHandshakeCompleted(event) {
            Self.countHandshake(context: context, protocolName: info.protocolName)
            if !info.isImplicitTLS, let signal = session.event(for: .tlsEstablished) { feed(signal) }
            processInput(received: 0)
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Demand-driven reads: the read is held while nothing more should come in.
    public func read(context: ChannelHandlerContext) {
        if mustHoldReads {
            readHeld = true
        } else {
            context.read()
        }
    }

    var mustHoldReads: Bool {
        session.isWaiting || adapter.holdsInput || inbound.readableBytes >= Self.maximumBufferedInput
            || !(context?.channel.isWritable ?? true)
    }

    /// Reads again if reads were held and nothing holds them any more; the adapter calls it
    /// when what made `holdsInput` true has cleared.
    public func resumeReadingIfPossible() {
        guard readHeld, !isClosed, !mustHoldReads, let context else { return }
        readHeld = false
        context.read()
    }

    // MARK: - Input

    /// Frames and feeds what has arrived, as far as the session takes input.
    func processInput(received count: Int) {
        if !framing {
            // `feed` comes back here when a round ends; the flag keeps that a loop, not a
            // recursion as deep as the number of pipelined commands.
            framing = true
            while !isClosed, !session.isWaiting, !performing, let event = session.nextEvent(from: &inbound) {
                handle(event, fromClient: true)
            }
            framing = false
        }
        if inbound.readableBytes > 0, inbound.readerIndex > 4096 { inbound.discardReadBytes() }
        if let now = context?.eventLoop.now, !isClosed {
            let partial = !session.isWaiting && session.hasPartialInput(inbound)
            deadlines?.received(count, partial: partial, now: now)
            rearmTimerIfEarlier()
        }
    }

    // MARK: - Session events and actions

    /// Hands an event from the server's side (a back-end answer, a chunk read) to the session
    /// and performs what it returns; an event that arrives while actions are being performed
    /// waits its turn. Call on the event loop.
    public func feed(_ event: Event) {
        handle(event, fromClient: false)
    }

    /// Client input counts for the deadlines when it is framed (`processInput`); the server's
    /// own events are activity that restarts them.
    func handle(_ event: Event, fromClient: Bool) {
        queuedEvents.append(event)
        guard !performing else { return }
        performing = true
        while !queuedEvents.isEmpty {
            let actions = session.receive(queuedEvents.removeFirst())
            for action in actions { adapter.perform(action, self) }
        }
        performing = false
        if session.isAuthenticated, deadlines?.isAuthenticated == false { deadlines?.authenticated() }
        if !fromClient, let now = context?.eventLoop.now { deadlines?.serverActivity(now: now) }
        flushIfNeeded()
        if !isClosed, !session.isWaiting, inbound.readableBytes > 0 { processInput(received: 0) }
        resumeReadingIfPossible()
    }

    /// Queues an event to be handled right after the current action (an outcome known at once,
    /// such as a challenge made locally). Only from within `perform`.
    public func enqueue(_ event: Event) {
        queuedEvents.append(event)
    }

    // MARK: - Output

    /// Writes `buffer`; it goes out at the end of the round (or at once when large).
    public func write(_ buffer: ByteBuffer) {
        guard let context, context.channel.isActive else { return }
        wroteSinceFlush = true
        var buffer = buffer
        if pendingOutput != nil, pendingOutput!.readableBytes + buffer.readableBytes <= Self.coalescedWriteLimit {
            pendingOutput!.writeBuffer(&buffer)
            return
        }
        writePendingOutput(context)
        if buffer.readableBytes < Self.coalescedWriteLimit {
            pendingOutput = buffer
        } else {
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    /// Sends what has been written so far (the driver also does at the end of every round).
    public func flushIfNeeded() {
        guard wroteSinceFlush, let context else { return }
        wroteSinceFlush = false
        writePendingOutput(context)
        context.flush()
    }

    func writePendingOutput(_ context: ChannelHandlerContext) {
        guard let output = pendingOutput else { return }
        pendingOutput = nil
        context.write(wrapOutboundOut(output), promise: nil)
    }

    /// Switches to TLS after the positive reply written so far: that reply goes out in the
    /// clear, every byte read from now on passes through TLS, and whatever plaintext the client
    /// pipelined after the command is dropped (RFC 3207 §5, RFC 2595 §4, CVE-2011-0411).
    public func startTLS() {
        guard let context, let tlsContext = info.startTLSContext else { return }
        flushIfNeeded()
        session.discardBufferedInput()
        do {
            try StartTLS.begin(on: context.channel, context: tlsContext, discarding: &inbound)
        } catch {
            context.close(promise: nil)
        }
    }

    /// Compresses both ways from the next byte on (IMAP COMPRESS=DEFLATE, RFC 4978 §3), after
    /// the positive reply written so far, which goes out uncompressed. Octets the client sent
    /// after the command are compressed ones: they are inflated, not dropped.
    public func startCompression() {
        guard let context else { return }
        flushIfNeeded()
        do {
            try StreamCompression.begin(on: context.channel, before: self, taking: &inbound)
        } catch {
            context.close(promise: nil)
        }
    }

    /// Closes once everything written has gone out, or after `closeGrace` at the latest: a
    /// client that has stopped reading would otherwise keep the flush, and its slot, for ever.
    public func closeAfterWrites() {
        guard let context, !isClosed else { return }
        isClosed = true
        cancelTimer()
        writePendingOutput(context)
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: promise)
        wroteSinceFlush = false
        promise.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        context.eventLoop.assumeIsolated().scheduleTask(in: Self.closeGrace) { context.close(promise: nil) }
    }

    /// How long a closing connection may take to deliver its last writes.
    public static var closeGrace: TimeAmount { .seconds(10) }

    /// Closes at once (a lost lock, a fatal error).
    public func close() {
        context?.close(promise: nil)
    }

    // MARK: - Deadlines

    var stressed: Bool { limiter?.isStressed ?? false }

    func rearmTimer() {
        guard let deadlines, let context, !isClosed else { return }
        cancelTimer()
        let at = nextWakeUp(deadlines)
        timerDeadline = at
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: at) { [self] in
            timer = nil
            timerDeadline = nil
            deadlineReached()
        }
    }

    func rearmTimerIfEarlier() {
        guard let deadlines else { return }
        if let armed = timerDeadline, nextWakeUp(deadlines) >= armed { return }
        rearmTimer()
    }

    /// The next time to look at the deadlines. Without a limiter there is no stress to watch
    /// for. A deadline already past when this is asked (a stressed one while stress has ended;
    /// any while the session waits for the back-end) is looked at again a second later, never
    /// at once, which would spin the event loop.
    func nextWakeUp(_ deadlines: ConnectionDeadlines) -> NIODeadline {
        let wake = limiter == nil ? deadlines.next(stressed: false).deadline : deadlines.wakeUp(stressed: stressed)
        guard let now = context?.eventLoop.now, wake <= now else { return wake }
        let current = deadlines.next(stressed: stressed).deadline
        return current > now ? min(current, now + Self.pollInterval) : now + Self.pollInterval
    }

    static var pollInterval: TimeAmount { .seconds(1) }

    func cancelTimer() {
        timer?.cancel()
        timer = nil
        timerDeadline = nil
    }

    func deadlineReached() {
        guard !isClosed, let now = context?.eventLoop.now, let deadlines else { return }
        // Time spent waiting for the back-end is not the client's.
        if session.isWaiting {
            self.deadlines?.serverActivity(now: now)
            return rearmTimer()
        }
        if let reason = deadlines.expired(now: now, stressed: stressed), let event = session.event(for: .timeout(reason)) {
            feed(event)
            if !isClosed { closeAfterWrites() }
        } else {
            rearmTimer()
        }
    }
}

extension ConnectionDriver {
    /// `loft_tls_handshakes_total{protocol, version}`: which TLS versions clients use, so an
    /// administrator can see when raising the minimum would shut someone out.
    static func countHandshake(context: ChannelHandlerContext, protocolName: String) {
        let version: String =
            switch try? context.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).tlsVersion {
            case .tlsv13: "1.3"
            case .tlsv12: "1.2"
            case .tlsv11: "1.1"
            case .tlsv1: "1.0"
            default: "unknown"
            }
        Counter(label: "loft_tls_handshakes_total", dimensions: [("protocol", protocolName), ("version", version)]).increment()
    }
}
