import GatewayKit
import Logging
import NIOCore
import NIOSSL
import POP3Codec
import RPCProtocol

/// One POP3 connection: frames client lines, feeds them to `POP3Session`, and performs the
/// actions it returns (STYLE §3) — writes, STLS, back-end calls, timers, close. Everything runs
/// on the channel's event loop; back-end answers hop back to it and come in as session events.
final class POP3ConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let configuration: POP3GatewayConfiguration
    let info: ConnectionInfo
    let backend: POP3Backend
    var logger: Logger

    var session = POP3Session()
    var framer = POP3LineFramer()
    var inbound = ByteBuffer()
    var context: ChannelHandlerContext?
    var idleTimer: IdleTimer?

    /// Events produced while actions are being performed wait here, so actions run in order.
    var queuedEvents: [POP3Event] = []
    var performing = false
    var wroteSinceFlush = false
    /// Small writes of one round of actions (status line, short body, terminating dot) gathered
    /// into one buffer and written at the flush: one pipeline write and, under TLS, one record.
    var pendingOutput: ByteBuffer?
    static let coalescedWriteLimit = 16 << 10
    var closed = false
    /// Lines wait until the greeting, which waits for the back-end's APOP timestamp.
    var greeted = false

    /// The back-end session token from a successful login.
    var sessionToken: String?
    var scram: SCRAMState?
    /// The maildrop lock and its renewal timer.
    var lock: String?
    var lockRenewal: Scheduled<Void>?
    /// POP3 unique-id → back-end UID and message number in the snapshot.
    var messages: [String: SnapshotMessage] = [:]
    var fetch: Fetch?
    /// Read-aheads in maildrop order (see `ReadAhead`).
    var readAheads: [ReadAhead] = []
    var readAheadSerial = 0

    struct SnapshotMessage {
        var uid: UInt32
        var number: Int
        var size: Int
    }

    typealias Chunk = (bytes: ByteBuffer, total: Int64)

    /// A RETR or TOP being streamed.
    struct Fetch {
        var uid: UInt32
        var offset: Int64 = 0
        /// For TOP, a copy of the cut the session makes, to stop reading once it is complete.
        var topFilter: POP3TopFilter?
        var waitingForWritability = false
        /// The serial of the read-ahead this fetch took over while it was still in flight: its
        /// answer is this fetch's first chunk.
        var awaitingReadAhead: Int?
    }

    /// The first chunk of a message a client reading in order asks for soon, read while the
    /// current one is served, so that its RETR does not wait for a back-end round trip. A
    /// connection holds at most `prefetchMessages` of them and `prefetchBytes` in all; a fetch
    /// takes the one for its message and drops those before it, or drops them all. The
    /// snapshot's messages are immutable, so a read-ahead cannot be stale; if the message was
    /// expunged meanwhile its read fails, and the fetch reads again and reports that read's
    /// outcome, exactly as without read-ahead.
    struct ReadAhead {
        var uid: UInt32
        var number: Int
        var length: Int
        var serial: Int
        /// nil while the read is in flight.
        var result: Result<Chunk, any Error>?
    }

    init(configuration: POP3GatewayConfiguration, info: ConnectionInfo, backend: POP3Backend, logger: Logger) {
        self.configuration = configuration
        self.info = info
        self.backend = backend
        self.logger = logger
        self.logger[metadataKey: "client"] = "\(info.clientAddress)"
    }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        idleTimer = IdleTimer(eventLoop: context.eventLoop, timeout: configuration.idleTimeout) { [self] in
            logger.debug("idle timeout")
            feed(.timeout)
        }
        // RFC 1939 §7: the greeting's timestamp comes from the back-end, which accepts one APOP
        // over it; without the back-end there is no timestamp, and so no APOP.
        backend.challenge(hostname: configuration.hostname, on: context.eventLoop).assumeIsolated().whenComplete { [self] result in
            guard !closed else { return }
            greet(timestamp: try? result.get())
        }
        context.fireChannelActive()
    }

    func greet(timestamp: String?) {
        var sessionConfiguration = POP3SessionConfiguration(
            greetingTimestamp: timestamp,
            tlsActive: info.isImplicitTLS,
            stlsAvailable: info.startTLSContext != nil,
            plaintextAllowed: configuration.allowPlaintextWithoutTLS
                || (configuration.allowPlaintextOnLoopback && info.clientAddress.isLoopback),
            saslMechanisms: configuration.saslMechanisms,
            limits: configuration.limits)
        sessionConfiguration.implementation = "Loft"
        feed(.opened(sessionConfiguration))
        greeted = true
        frameLines()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard !closed else { return }
        idleTimer?.touch()
        inbound.writeBuffer(&bytes)
        frameLines()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        fetch = nil
        readAheads = []
        pendingOutput = nil
        idleTimer?.cancel()
        if greeted { feed(.peerClosed) }
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, fetch?.waitingForWritability == true {
            fetch?.waitingForWritability = false
            readNextChunk()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if StartTLS.isHandshakeCompleted(event) {
            if !info.isImplicitTLS { feed(.tlsEstablished) }
            frameLines()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }

    /// Feeds every complete line to the session (POP3Codec's driving loop).
    func frameLines() {
        guard greeted else { return }
        framer.maximumLineLength = session.maximumLineLength
        while !closed, let outcome = framer.next(from: &inbound) {
            switch outcome {
            case .line(let line): feed(.line(line))
            case .lineTooLong: feed(.lineTooLong)
            }
            framer.maximumLineLength = session.maximumLineLength
        }
        if inbound.readerIndex > 4096 { inbound.discardReadBytes() }
    }

    // MARK: - Session events and actions

    /// Hands an event to the session and performs what it returns; an event that arrives while
    /// actions are being performed waits its turn.
    func feed(_ event: POP3Event) {
        queuedEvents.append(event)
        guard !performing else { return }
        performing = true
        while !queuedEvents.isEmpty {
            let actions = session.receive(queuedEvents.removeFirst())
            for action in actions { perform(action) }
        }
        performing = false
        flushIfNeeded()
    }

    func flushIfNeeded() {
        guard wroteSinceFlush, let context else { return }
        wroteSinceFlush = false
        writePendingOutput(context)
        context.flush()
    }

    func write(_ buffer: ByteBuffer) {
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

    func writePendingOutput(_ context: ChannelHandlerContext) {
        guard let output = pendingOutput else { return }
        pendingOutput = nil
        context.write(wrapOutboundOut(output), promise: nil)
    }

    func perform(_ action: POP3Action) {
        switch action {
        case .send(let response):
            write(response.encoded)
        case .write(let bytes):
            write(bytes)
        case .startTLS:
            beginTLS()
        case .authenticate(let credentials):
            authenticate(credentials)
        case .saslStart(let mechanism, _) where mechanism == .cramMD5:
            // RFC 2195 §2: a unique msg-id-like string, issued by the back-end for one use.
            backend.challenge(hostname: configuration.hostname, on: eventLoop).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let challenge): feed(.saslChallenge(ByteBuffer(string: challenge)))
                case .failure(let error):
                    logger.warning("no CRAM-MD5 challenge from the back-end: \(error)")
                    feed(.authFailed(.temporaryFailure))
                }
            }
        case .saslStart(let mechanism, let initialResponse) where mechanism == .scramSHA256:
            scram = SCRAMState()
            if let initialResponse, initialResponse.readableBytes > 0 {
                scramStep(initialResponse)
            } else {
                // RFC 5034 §4: an empty challenge asks for the client-first-message.
                queuedEvents.append(.saslChallenge(ByteBuffer()))
            }
        case .saslContinue(let response) where scram != nil:
            scramStep(response)
        case .saslStart, .saslContinue:
            queuedEvents.append(.authFailed(.invalidCredentials))
        case .saslAbort:
            scram = nil
        case .acquireMaildrop:
            openMaildrop()
        case .fetchMessage(let uid, let topLines):
            startFetch(uid: uid, topLines: topLines)
        case .commitDeletions(let deleted):
            readAheads = []
            commit(deleted)
        case .releaseMaildrop:
            readAheads = []
            releaseLock()
        case .reportError(let error):
            logger.warning("POP3 session error: \(error)")
        case .close:
            closeAfterWrites()
        }
    }

    func beginTLS() {
        guard let context, let tlsContext = info.startTLSContext else { return }
        flushIfNeeded()
        do {
            framer.discardBuffered(&inbound)
            try StartTLS.begin(on: context.channel, context: tlsContext, discarding: &inbound)
        } catch {
            logger.error("cannot start TLS: \(error)")
            context.close(promise: nil)
        }
    }

    func closeAfterWrites() {
        guard let context, !closed else { return }
        closed = true
        idleTimer?.cancel()
        readAheads = []
        writePendingOutput(context)
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: promise)
        wroteSinceFlush = false
        promise.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    var eventLoop: any EventLoop { context!.eventLoop }

    // MARK: - Authentication

    func authenticate(_ credentials: POP3Credentials) {
        backend.authenticate(credentials, clientAddress: info.clientAddress.text, on: eventLoop)
            .assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let token):
                    sessionToken = token
                    feed(.authSucceeded(user: Self.user(of: credentials), saslFinal: nil))
                case .failure(let error):
                    let failure = POP3Backend.authFailure(error)
                    if case .temporaryFailure = failure { logger.warning("login failed on the server side: \(error)") }
                    feed(.authFailed(failure))
                }
            }
    }

    /// A SCRAM-SHA-256 exchange relayed to the back-end (RFC 5802, RFC 7677): the first client
    /// message goes to `auth.scram_begin`, the second to `auth.scram_finish`.
    struct SCRAMState {
        var exchange: String?
    }

    func scramStep(_ response: ByteBuffer) {
        let message = String(decoding: response.readableBytesView, as: UTF8.self)
        guard let state = scram else { return feed(.authFailed(.invalidCredentials)) }
        if let exchange = state.exchange {
            scram = nil
            backend.scramFinish(exchange: exchange, clientFinal: message, on: eventLoop)
                .assumeIsolated().whenComplete { [self] result in
                    switch result {
                    case .success(let done):
                        sessionToken = done.session.session
                        feed(.authSucceeded(user: done.session.account, saslFinal: ByteBuffer(string: done.serverFinal)))
                    case .failure(let error):
                        feed(.authFailed(POP3Backend.authFailure(error)))
                    }
                }
        } else {
            backend.scramBegin(clientFirst: message, clientAddress: info.clientAddress.text, on: eventLoop)
                .assumeIsolated().whenComplete { [self] result in
                    switch result {
                    case .success(let challenge):
                        scram = SCRAMState(exchange: challenge.exchange)
                        feed(.saslChallenge(ByteBuffer(string: challenge.serverFirst)))
                    case .failure(let error):
                        scram = nil
                        feed(.authFailed(POP3Backend.authFailure(error)))
                    }
                }
        }
    }

    static func user(of credentials: POP3Credentials) -> String {
        switch credentials {
        case .password(let user, _, _), .apop(let user, _, _), .cramMD5(let user, _, _): user
        }
    }

    // MARK: - Maildrop: lock and snapshot (RFC 1939 §8)

    func openMaildrop() {
        guard let token = sessionToken else {
            feed(.maildropFailed)
            return
        }
        backend.acquireLock(session: token, lease: configuration.lockLease, on: eventLoop)
            .assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let held):
                    lock = held.lock
                    scheduleRenewal(leaseMs: held.leaseMs)
                    listMaildrop(token: token, afterUid: nil, entries: [])
                case .failure(let error) where POP3Backend.isInUse(error):
                    feed(.maildropInUse)
                case .failure(let error):
                    logger.warning("cannot lock the maildrop: \(error)")
                    feed(.maildropFailed)
                }
            }
    }

    func listMaildrop(token: String, afterUid: UInt32?, entries: [POP3MaildropEntry]) {
        backend.listPage(session: token, afterUid: afterUid, on: eventLoop)
            .assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let page):
                    var entries = entries
                    for message in page.messages {
                        // RFC 1939 §7: unique and stable across sessions; UIDs never repeat within
                        // a UIDVALIDITY, so the pair does.
                        let id = "\(page.uidValidity).\(message.uid)"
                        messages[id] = SnapshotMessage(uid: message.uid, number: entries.count + 1, size: Int(message.size))
                        entries.append(POP3MaildropEntry(uid: id, size: Int(message.size)))
                    }
                    if let next = page.nextAfterUid {
                        listMaildrop(token: token, afterUid: next, entries: entries)
                    } else {
                        feed(.maildropLoaded(entries))
                    }
                case .failure(let error):
                    logger.warning("cannot list the maildrop: \(error)")
                    releaseLock()
                    feed(.maildropFailed)
                }
            }
    }

    /// Renews the lease every third of it while the session holds the lock. A renewal that
    /// fails means the lock is gone (the back-end restarted, or the lease ran out): the
    /// session can no longer claim exclusive access and ends without UPDATE.
    func scheduleRenewal(leaseMs: Int) {
        let interval = TimeAmount.milliseconds(Int64(max(leaseMs / 3, 300)))
        lockRenewal = eventLoop.assumeIsolated().scheduleTask(in: interval) { [self] in
            guard let held = lock else { return }
            backend.renewLock(held, on: eventLoop).assumeIsolated().whenComplete { [self] result in
                guard lock == held else { return }
                switch result {
                case .success(let info):
                    scheduleRenewal(leaseMs: info.leaseMs)
                case .failure(let error):
                    logger.warning("lost the maildrop lock: \(error); closing the session")
                    lock = nil
                    context?.close(promise: nil)
                }
            }
        }
    }

    /// Releases the lock and completes once the back-end has (a failure is logged and ignored:
    /// the lease runs out by itself).
    func releaseLockAndWait(on loop: any EventLoop) -> EventLoopFuture<Void> {
        lockRenewal?.cancel()
        lockRenewal = nil
        guard let held = lock else { return loop.makeSucceededVoidFuture() }
        lock = nil
        return backend.releaseLockAndWait(held, on: loop)
    }

    func releaseLock() {
        lockRenewal?.cancel()
        lockRenewal = nil
        if let held = lock {
            lock = nil
            backend.releaseLock(held)
        }
    }

    // MARK: - RETR and TOP: streamed in chunks

    func startFetch(uid: String, topLines: Int?) {
        guard let message = messages[uid] else {
            queuedEvents.append(.messageFailed)
            return
        }
        fetch = Fetch(uid: message.uid, topFilter: topLines.map { POP3TopFilter(bodyLines: $0) })
        var ahead: ReadAhead?
        if let index = readAheads.firstIndex(where: { $0.uid == message.uid }) {
            ahead = readAheads[index]
            readAheads.removeFirst(index + 1)
        } else {
            readAheads.removeAll()
        }
        if let ahead {
            switch ahead.result {
            case .success(let chunk): received(.success(chunk))
            case .failure: readNextChunk()
            case nil: fetch?.awaitingReadAhead = ahead.serial
            }
        } else {
            readNextChunk()
        }
        // After this message's own read, so the back-end answers that one first.
        readAhead(after: message.number)
    }

    /// Tops up the read-aheads with the messages that follow `number` in the snapshot, once
    /// half of them are used up, all in one `message.read_batch`: one call per few messages
    /// instead of one each is what keeps the back-end's and this process's work per RETR low.
    func readAhead(after number: Int) {
        guard let token = sessionToken, readAheads.count <= configuration.prefetchMessages / 2 else { return }
        var budget = configuration.prefetchBytes - readAheads.reduce(0) { $0 + $1.length }
        var last = readAheads.last?.number ?? number
        var batch: [ReadAhead] = []
        while readAheads.count + batch.count < configuration.prefetchMessages, let next = session.message(following: last),
            let target = messages[next.uid]
        {
            let length = min(target.size, configuration.readChunkBytes, configuration.prefetchBytes)
            guard length <= budget, length > 0 else { break }
            budget -= length
            last = next.number
            readAheadSerial += 1
            batch.append(ReadAhead(uid: target.uid, number: next.number, length: length, serial: readAheadSerial))
        }
        guard !batch.isEmpty else { return }
        readAheads += batch
        let length = batch.map(\.length).max() ?? 0
        backend.readFirst(session: token, uids: batch.map(\.uid), length: length, on: eventLoop)
            .assumeIsolated().whenComplete { [self] result in
                for ahead in batch {
                    // A message left out of the answer is read again when its RETR comes.
                    let own = result.flatMap { chunks -> Result<Chunk, any Error> in
                        guard let chunk = chunks[ahead.uid] else {
                            return .failure(RPCError(.noSuchMessage, "not in the read-ahead answer"))
                        }
                        return .success(chunk)
                    }
                    readAheadCompleted(serial: ahead.serial, own)
                }
            }
    }

    func readAheadCompleted(serial: Int, _ result: Result<Chunk, any Error>) {
        if case .failure(let error) = result {
            logger.debug("read-ahead failed: \(error)")
        }
        if fetch?.awaitingReadAhead == serial {
            fetch?.awaitingReadAhead = nil
            switch result {
            case .success: received(result)
            case .failure: readNextChunk()
            }
        } else if let index = readAheads.firstIndex(where: { $0.serial == serial }) {
            readAheads[index].result = result
        }
    }

    func readNextChunk() {
        guard let current = fetch, let token = sessionToken else { return }
        backend.read(
            session: token, uid: current.uid, offset: current.offset, length: configuration.readChunkBytes, on: eventLoop
        ).assumeIsolated().whenComplete { [self] result in
            received(result)
        }
    }

    /// Passes a chunk of the current fetch to the session and reads on, or ends the fetch.
    func received(_ result: Result<Chunk, any Error>) {
        guard fetch != nil else { return }
        switch result {
        case .success(let (bytes, total)):
            idleTimer?.touch()
            fetch!.offset += Int64(bytes.readableBytes)
            let done: Bool
            if var filter = fetch!.topFilter {
                _ = filter.admit(bytes)
                fetch!.topFilter = filter
                done = filter.isComplete || fetch!.offset >= total || bytes.readableBytes == 0
            } else {
                done = fetch!.offset >= total || bytes.readableBytes == 0
            }
            if done { fetch = nil }
            feed(.messageChunk(bytes))
            if done {
                feed(.messageEnd)
            } else if context?.channel.isWritable ?? false {
                readNextChunk()
            } else {
                fetch?.waitingForWritability = true
            }
        case .failure(let error):
            logger.warning("cannot read message \(fetch!.uid): \(error)")
            fetch = nil
            feed(.messageFailed)
        }
    }

    // MARK: - UPDATE (RFC 1939 §6)

    func commit(_ deleted: [String]) {
        guard let token = sessionToken else {
            queuedEvents.append(.updateFailed)
            return
        }
        let backendUIDs = deleted.compactMap { messages[$0]?.uid }
        let work: EventLoopFuture<Void> =
            backendUIDs.isEmpty
            ? eventLoop.makeSucceededVoidFuture()
            : backend.expunge(session: token, uids: backendUIDs, on: eventLoop)
        // RFC 1939 §6: the lock goes before +OK, so a client that reconnects at once finds it free.
        work.assumeIsolated().whenComplete { [self] result in
            releaseLockAndWait(on: eventLoop).assumeIsolated().whenComplete { [self] _ in
                switch result {
                case .success:
                    feed(.updateCommitted)
                case .failure(let error):
                    logger.warning("cannot delete \(backendUIDs.count) messages at QUIT: \(error)")
                    feed(.updateFailed)
                }
            }
        }
    }
}
