public import GatewayKit
import LineFraming
import Logging
import NIOCore
import POP3Codec
import RPCProtocol

extension POP3Event: ConnectionSignalEvents {}

/// POP3Session with the line framer in front of it, as the connection driver runs it: lines
/// framed at the session's current limit (RFC 1939 §3 commands, RFC 5034 §4 SASL lines).
struct POP3DrivenSession: DrivenSession {
    var session = POP3Session()
    var framer = LineFramer(maximumLineLength: POP3Command.maximumLineLength)

    mutating func nextEvent(from inbound: inout ByteBuffer) -> POP3Event? {
        framer.maximumLineLength = session.maximumLineLength
        switch framer.next(from: &inbound) {
        case .line(let line)?: return .line(line)
        case .lineTooLong?: return .lineTooLong
        case nil: return nil
        }
    }

    mutating func receive(_ event: POP3Event) -> [POP3Action] {
        session.receive(event)
    }

    /// Before the greeting (which waits for the back-end's APOP timestamp) lines wait too.
    var isWaiting: Bool { session.isAwaitingBackend || session.state == .notOpened }

    /// A connection that closes before its greeting has nothing to end.
    func event(for signal: ConnectionSignal) -> POP3Event? {
        if case .peerClosed = signal, session.state == .notOpened { return nil }
        return signalEvent(signal)
    }

    /// A line begun, or an over-long one being skipped to its end.
    func hasPartialInput(_ inbound: ByteBuffer) -> Bool { inbound.readableBytes > 0 || framer.isDiscarding }

    var isAuthenticated: Bool {
        switch session.state {
        case .transaction, .update: true
        case .notOpened, .authorization, .closed: false
        }
    }

    mutating func discardBufferedInput() {
        var nothing = ByteBuffer()
        framer.discardBuffered(&nothing)
    }
}

/// One POP3 connection's protocol half: the session's actions against the back-end (login, the
/// maildrop lock, the snapshot, RETR/TOP streamed in chunks with read-ahead, UPDATE). The
/// connection's I/O — framing, writes, STLS, deadlines, back-pressure — is GatewayKit's
/// `ConnectionDriver`; everything here runs on the connection's event loop.
final class POP3Connection: ConnectionAdapter {
    typealias Session = POP3DrivenSession
    typealias Driver = ConnectionDriver<POP3Connection>

    let configuration: POP3GatewayConfiguration
    let info: ConnectionInfo
    let backend: POP3Backend
    var logger: Logger
    weak var driver: Driver?

    /// The back-end session token from a successful login.
    var sessionToken: String?
    var scram = SCRAMRelay()
    var scramActive = false
    /// The maildrop lock with its lease renewal, once held.
    var lock: MaildropLock?
    var snapshot = POP3Snapshot()
    var fetch: Fetch?
    var readAheads: POP3ReadAhead<Chunk>

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

    /// The connection's event loop, where every callback lands (it outlives the driver's
    /// channel context, which a back-end answer may arrive after).
    let eventLoop: any EventLoop
    /// The connection is gone: what arrives from the back-end now is only cleaned up.
    var closed = false

    /// False while no account can use APOP (`offer_cram_md5: auto` knows): the greeting then has
    /// no timestamp, and no challenge is taken from the back-end for nothing.
    let offersAPOP: Bool

    init(
        configuration: POP3GatewayConfiguration, info: ConnectionInfo, backend: POP3Backend, eventLoop: any EventLoop,
        offersAPOP: Bool = true, logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.offersAPOP = offersAPOP
        self.configuration = configuration
        self.info = info
        self.backend = backend
        self.logger = logger
        self.logger[metadataKey: "client"] = "\(info.clientAddress)"
        self.readAheads = POP3ReadAhead(
            maximumMessages: configuration.prefetchMessages, maximumBytes: configuration.prefetchBytes,
            chunkBytes: configuration.readChunkBytes)
    }

    func feed(_ event: POP3Event) {
        driver?.feed(event)
    }

    // MARK: - Connection

    func connectionOpened(_ driver: Driver) {
        self.driver = driver
        guard offersAPOP else { return greet(timestamp: nil, driver) }
        // RFC 1939 §7: the greeting's timestamp comes from the back-end, which accepts one APOP
        // over it; without the back-end there is no timestamp, and so no APOP.
        backend.session.challenge(hostname: configuration.hostname, on: eventLoop).assumeIsolated().whenComplete {
            [self] result in
            guard let driver = self.driver, !driver.isClosed else { return }
            greet(timestamp: try? result.get(), driver)
        }
    }

    func greet(timestamp: String?, _ driver: Driver) {
        var sessionConfiguration = POP3SessionConfiguration(
            greetingTimestamp: timestamp,
            tlsActive: info.isImplicitTLS,
            stlsAvailable: info.startTLSContext != nil,
            plaintextAllowed: configuration.allowPlaintextWithoutTLS
                || (configuration.allowPlaintextOnLoopback && info.clientAddress.isLoopback),
            saslMechanisms: configuration.saslMechanisms,
            limits: configuration.limits)
        sessionConfiguration.implementation = "Loft"
        driver.feed(.opened(sessionConfiguration))
    }

    func connectionClosed(_ driver: Driver) {
        closed = true
        fetch = nil
        readAheads.removeAll()
    }

    func becameWritable(_ driver: Driver) {
        if fetch?.waitingForWritability == true {
            fetch?.waitingForWritability = false
            readNextChunk()
        }
    }

    func perform(_ action: POP3Action, _ driver: Driver) {
        switch action {
        case .send(let response):
            CommandMetrics.reply("pop3", result: response.isOK ? "ok" : "err")
            driver.write(response.encoded)
        case .write(let bytes):
            driver.write(bytes)
        case .startTLS:
            driver.startTLS()
        case .authenticate(let credentials):
            authenticate(credentials)
        case .saslStart(let mechanism, _) where mechanism == .cramMD5:
            // RFC 2195 §2: a unique msg-id-like string, issued by the back-end for one use.
            backend.session.challenge(hostname: configuration.hostname, on: eventLoop).assumeIsolated().whenComplete {
                [self] result in
                switch result {
                case .success(let challenge): feed(.saslChallenge(ByteBuffer(string: challenge)))
                case .failure(let error):
                    logger.warning("no CRAM-MD5 challenge from the back-end: \(error)")
                    feed(.authFailed(.temporaryFailure))
                }
            }
        case .saslStart(let mechanism, let initialResponse) where mechanism == .scramSHA256:
            scram = SCRAMRelay()
            scramActive = true
            if let initialResponse, initialResponse.readableBytes > 0 {
                scramStep(initialResponse)
            } else {
                // RFC 5034 §4: an empty challenge asks for the client-first-message.
                driver.enqueue(.saslChallenge(ByteBuffer()))
            }
        case .saslContinue(let response) where scramActive:
            scramStep(response)
        case .saslStart, .saslContinue:
            driver.enqueue(.authFailed(.invalidCredentials))
        case .saslAbort:
            scramActive = false
        case .acquireMaildrop:
            openMaildrop()
        case .fetchMessage(let uid, let topLines):
            startFetch(uid: uid, topLines: topLines)
        case .commitDeletions(let deleted):
            readAheads.removeAll()
            commit(deleted)
        case .releaseMaildrop:
            readAheads.removeAll()
            releaseLock()
        case .reportError(let error):
            logger.warning("POP3 session error: \(error)")
        case .close:
            readAheads.removeAll()
            driver.closeAfterWrites()
        }
    }

    // MARK: - Authentication

    func authenticate(_ credentials: POP3Credentials) {
        backend.authenticate(credentials, on: eventLoop)
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
    func scramStep(_ response: ByteBuffer) {
        let message = String(decoding: response.readableBytesView, as: UTF8.self)
        switch scram.step(message) {
        case .finish(let exchange, let clientFinal):
            scramActive = false
            backend.session.scramFinish(exchange: exchange, clientFinal: clientFinal, on: eventLoop)
                .assumeIsolated().whenComplete { [self] result in
                    switch result {
                    case .success(let done):
                        sessionToken = done.session.session
                        feed(.authSucceeded(user: done.session.account, saslFinal: ByteBuffer(string: done.serverFinal)))
                    case .failure(let error):
                        feed(.authFailed(POP3Backend.authFailure(error)))
                    }
                }
        case .begin(let clientFirst):
            backend.session.scramBegin(clientFirst: clientFirst, on: eventLoop)
                .assumeIsolated().whenComplete { [self] result in
                    switch result {
                    case .success(let challenge):
                        scram.began(challenge)
                        feed(.saslChallenge(ByteBuffer(string: challenge.serverFirst)))
                    case .failure(let error):
                        scramActive = false
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
                case .success(let held) where closed:
                    // The client left while the lock was being taken: give it back at once.
                    backend.releaseLock(held.lock)
                case .success(let held):
                    let lock = MaildropLock(
                        eventLoop: eventLoop, renew: { [backend] in backend.renewLock($0, timeout: $1) },
                        onLost: { [weak self] error in
                            self?.logger.warning("lost the maildrop lock: \(error); closing the session")
                            self?.driver?.close()
                        })
                    lock.acquired(held)
                    self.lock = lock
                    listMaildrop(token: token, afterUid: nil)
                case .failure(let error) where POP3Backend.isInUse(error):
                    feed(.maildropInUse)
                case .failure(let error):
                    logger.warning("cannot lock the maildrop: \(error)")
                    feed(.maildropFailed)
                }
            }
    }

    func listMaildrop(token: String, afterUid: UInt32?) {
        backend.listPage(session: token, afterUid: afterUid, on: eventLoop)
            .assumeIsolated().whenComplete { [self] result in
                switch result {
                case _ where closed:
                    releaseLock()
                case .success(let page):
                    snapshot.add(page)
                    if let next = page.nextAfterUid {
                        listMaildrop(token: token, afterUid: next)
                    } else {
                        feed(.maildropLoaded(snapshot.entries))
                    }
                case .failure(let error):
                    logger.warning("cannot list the maildrop: \(error)")
                    releaseLock()
                    feed(.maildropFailed)
                }
            }
    }

    /// Releases the lock and completes once the back-end has (a failure is logged and ignored:
    /// the lease runs out by itself).
    func releaseLockAndWait(on loop: any EventLoop) -> EventLoopFuture<Void> {
        guard let held = lock?.relinquish() else { return loop.makeSucceededVoidFuture() }
        return backend.releaseLockAndWait(held, on: loop)
    }

    func releaseLock() {
        if let held = lock?.relinquish() { backend.releaseLock(held) }
    }

    // MARK: - RETR and TOP: streamed in chunks

    func startFetch(uid: String, topLines: Int?) {
        guard let message = snapshot[uid] else {
            driver?.enqueue(.messageFailed)
            return
        }
        fetch = Fetch(uid: message.uid, topFilter: topLines.map { POP3TopFilter(bodyLines: $0) })
        if let ahead = readAheads.take(message.uid) {
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

    /// Tops up the read-aheads with the messages that follow `number` in the snapshot, all in
    /// one `message.read_batch`: one call per few messages instead of one each is what keeps
    /// the back-end's and this process's work per RETR low.
    func readAhead(after number: Int) {
        guard let token = sessionToken, let session = driver?.session.session else { return }
        let batch = readAheads.plan(after: number, following: { session.message(following: $0) }, snapshot: snapshot)
        guard !batch.isEmpty else { return }
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
        } else {
            _ = readAheads.complete(serial: serial, result)
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
            } else if driver?.isWritable ?? false {
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
            driver?.enqueue(.updateFailed)
            return
        }
        let backendUIDs = snapshot.uids(of: deleted)
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
