import Foundation
import GatewayKit
import IMAPCodec
import Logging
import MailCore
import NIOCore
import RPCProtocol
import RPCTransport

/// IMAPSession (its framer inside) as the connection driver runs it.
struct IMAPDrivenSession: DrivenSession {
    var session = IMAPSession()

    mutating func nextEvent(from inbound: inout ByteBuffer) -> IMAPEvent? { session.nextEvent(from: &inbound) }
    mutating func receive(_ event: IMAPEvent) -> [IMAPAction] {
        let actions = session.receive(event)
        for status in session.takeCompletions() { CommandMetrics.reply("imap", result: status.rawValue.lowercased()) }
        return actions
    }
    var isWaiting: Bool { session.isWaiting }
    func hasPartialInput(_ inbound: ByteBuffer) -> Bool { session.hasPartialInput(inbound) }
    var isAuthenticated: Bool { session.isAuthenticated }
    mutating func discardBufferedInput() { session.discardBufferedInput() }

    func event(for signal: ConnectionSignal) -> IMAPEvent? {
        switch signal {
        case .timeout: .timeout
        case .peerClosed: .peerClosed
        case .tlsEstablished: .tlsEstablished
        }
    }
}

/// One IMAP connection's protocol half. The session value decides what is valid and answers
/// what needs no back-end; this adapter performs its actions: logins through GatewayKit's
/// `BackendSession` (with the SCRAM relay), APPEND through `MessageUpload`, and every other
/// command in `IMAPCommandRunner`, an actor that owns the selected mailbox's view. Everything
/// here runs on the connection's event loop.
final class IMAPConnection: ConnectionAdapter {
    typealias Session = IMAPDrivenSession
    typealias Driver = ConnectionDriver<IMAPConnection>

    let configuration: IMAPGatewayConfiguration
    let info: ConnectionInfo
    let backend: BackendSession
    let runner: IMAPCommandRunner
    /// Modified UTF-7 or, once IMAP4rev2 is enabled, UTF-8 mailbox names.
    let naming = IMAPNaming()
    let eventLoop: any EventLoop
    var logger: Logger
    weak var driver: Driver?
    var scram = SCRAMRelay()
    var scramActive = false
    /// The login, also held by the runner.
    var login: SessionResult?
    var upload: Append?
    var writabilityWaiters: [EventLoopPromise<Void>] = []
    var idleStart: Task<Void, Never>?
    var closed = false

    /// An APPEND in progress.
    struct Append {
        var tag: IMAPTag
        var mailbox: String
        var upload: MessageUpload?
        var size: Int
        var received = 0
    }

    init(
        configuration: IMAPGatewayConfiguration, info: ConnectionInfo, session: BackendSession, events: EventRouter,
        eventLoop: any EventLoop, logger: Logger
    ) {
        self.configuration = configuration
        self.info = info
        self.backend = session
        self.eventLoop = eventLoop
        self.logger = logger
        self.logger[metadataKey: "client"] = "\(info.clientAddress)"
        self.runner = IMAPCommandRunner(
            client: session.client, events: events, configuration: configuration, naming: naming, logger: self.logger)
    }

    func feed(_ event: IMAPEvent) {
        driver?.feed(event)
    }

    // MARK: - Connection

    func connectionOpened(_ driver: Driver) {
        self.driver = driver
        let output = IMAPOutput(connection: self, eventLoop: eventLoop)
        let runner = runner
        Task { await runner.attach(output) }
        var session = IMAPSessionConfiguration()
        session.tlsActive = info.isImplicitTLS
        session.startTLSAvailable = info.startTLSContext != nil
        session.plaintextAllowed =
            configuration.allowPlaintextWithoutTLS || (configuration.allowPlaintextOnLoopback && info.clientAddress.isLoopback)
        session.saslMechanisms = configuration.saslMechanisms
        session.limits = configuration.limits
        session.extensions = IMAPCommandRunner.extensions(literalMinus: configuration.literalMinus)
        driver.feed(.opened(session))
    }

    func connectionClosed(_ driver: Driver) {
        closed = true
        upload?.upload?.abort()
        upload = nil
        for waiter in writabilityWaiters { waiter.succeed() }
        writabilityWaiters = []
        let runner = runner
        Task { await runner.close() }
    }

    var holdsInput: Bool { upload?.upload?.isBackedUp ?? false }

    func becameWritable(_ driver: Driver) {
        let waiters = writabilityWaiters
        writabilityWaiters = []
        for waiter in waiters { waiter.succeed() }
    }

    /// Completes once the socket takes writes again (at once when it does now, or is closed).
    /// A client that reads nothing of a response for `writeTimeout` is disconnected: it must
    /// not hold its slot, and the back-end work for it, for ever.
    func whenWritable() -> EventLoopFuture<Void> {
        guard let driver, !closed, !driver.isClosed, !driver.isWritable else { return eventLoop.makeSucceededVoidFuture() }
        let promise = eventLoop.makePromise(of: Void.self)
        writabilityWaiters.append(promise)
        let timeout = eventLoop.assumeIsolated().scheduleTask(in: configuration.writeTimeout) { [self] in
            guard writabilityWaiters.contains(where: { $0.futureResult === promise.futureResult }) else { return }
            logger.info("the client read nothing for \(configuration.writeTimeout); closing")
            self.driver?.close()
        }
        promise.futureResult.whenComplete { _ in timeout.cancel() }
        return promise.futureResult
    }

    func perform(_ action: IMAPAction, _ driver: Driver) {
        switch action {
        case .send(let bytes):
            driver.write(bytes)
        case .startTLS:
            driver.startTLS()
        case .startCompression:
            driver.startCompression()
        case .authenticate(let credentials):
            authenticate(credentials)
        case .saslStart(let mechanism, _) where mechanism == .cramMD5:
            backend.challenge(hostname: configuration.hostname, on: eventLoop).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let challenge): feed(.saslChallenge(Array(challenge.utf8)))
                case .failure(let error):
                    logger.warning("no CRAM-MD5 challenge from the back-end: \(error)")
                    feed(.authFailed(.temporaryFailure))
                }
            }
        case .saslStart(let mechanism, let initialResponse) where mechanism == .scramSHA256:
            scram = SCRAMRelay()
            scramActive = true
            if let initialResponse, !initialResponse.isEmpty {
                scramStep(initialResponse)
            } else {
                driver.enqueue(.saslChallenge([]))
            }
        case .saslContinue(let response) where scramActive:
            scramStep(response)
        case .saslStart, .saslContinue:
            driver.enqueue(.authFailed(.invalidCredentials))
        case .saslAbort:
            scramActive = false
        case .execute(let command):
            let runner = runner
            let loop = eventLoop
            let bound = NIOLoopBound(self, eventLoop: loop)
            Task {
                let completion = await runner.run(command)
                loop.execute { bound.value.feed(.executed(command.tag, completion)) }
            }
        case .appendBegin(let tag, let mailbox, let flags, let date, let size):
            beginAppend(tag: tag, mailbox: mailbox, flags: flags, date: date, size: size)
        case .appendData(let bytes):
            guard upload != nil else { return }
            upload!.received += bytes.readableBytes
            upload!.upload?.append(bytes)
        case .appendEnd(let tag):
            commitAppend(tag)
        case .appendAbort:
            upload?.upload?.abort()
            upload = nil
        case .idleStart:
            let runner = runner
            idleStart = Task { await runner.startIdle() }
        case .idleDone(let tag):
            let runner = runner
            let loop = eventLoop
            let bound = NIOLoopBound(self, eventLoop: loop)
            let started = idleStart
            idleStart = nil
            Task {
                // A DONE right after IDLE must not overtake the start.
                await started?.value
                let stopped = await runner.stopIdle()
                let completion = await runner.finish(stopped, after: .idle)
                loop.execute { bound.value.feed(.executed(tag, completion)) }
            }
        case .close:
            driver.closeAfterWrites()
        }
    }

    // MARK: - Authentication

    func authenticate(_ credentials: IMAPCredentials) {
        let backendCredentials: BackendSession.Credentials =
            switch credentials {
            case .password(let user, let password, let authorization):
                .password(user: user, password: password, authorizationIdentity: authorization)
            case .cramMD5(let user, let challenge, let digest):
                .cramMD5(user: user, challenge: challenge, digest: digest)
            }
        backend.login(backendCredentials, on: eventLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let session):
                loggedIn(session, saslFinal: nil)
            case .failure(let error):
                feed(.authFailed(Self.authFailure(error)))
            }
        }
    }

    func loggedIn(_ session: SessionResult, saslFinal: [UInt8]?) {
        login = session
        let runner = runner
        let loop = eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        Task {
            await runner.loggedIn(session)
            loop.execute { bound.value.feed(.authSucceeded(user: session.account, saslFinal: saslFinal)) }
        }
    }

    static func authFailure(_ error: any Error) -> IMAPAuthFailure {
        switch BackendSession.loginFailure(error) {
        case .rejected: .invalidCredentials
        case .throttled(let seconds): .throttled(retryAfterSeconds: seconds)
        case .temporary: .temporaryFailure
        }
    }

    /// SCRAM-SHA-256 relayed to the back-end (RFC 5802, RFC 7677), as POP3 and SMTP do.
    func scramStep(_ response: [UInt8]) {
        let message = String(decoding: response, as: UTF8.self)
        switch scram.step(message) {
        case .finish(let exchange, let clientFinal):
            scramActive = false
            backend.scramFinish(exchange: exchange, clientFinal: clientFinal, on: eventLoop).assumeIsolated().whenComplete {
                [self] result in
                switch result {
                case .success(let done):
                    login = done.session
                    let runner = runner
                    let loop = eventLoop
                    let bound = NIOLoopBound(self, eventLoop: loop)
                    Task {
                        await runner.loggedIn(done.session)
                        loop.execute {
                            bound.value.feed(.authSucceeded(user: done.session.account, saslFinal: Array(done.serverFinal.utf8)))
                        }
                    }
                case .failure(let error):
                    feed(.authFailed(Self.authFailure(error)))
                }
            }
        case .begin(let clientFirst):
            backend.scramBegin(clientFirst: clientFirst, on: eventLoop).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let challenge):
                    scram.began(challenge)
                    feed(.saslChallenge(Array(challenge.serverFirst.utf8)))
                case .failure(let error):
                    scramActive = false
                    feed(.authFailed(Self.authFailure(error)))
                }
            }
        }
    }

    // MARK: - APPEND (RFC 3501 §6.3.11)

    /// Checks what can be checked before the client sends a byte: the mailbox, the size limit
    /// (RFC 7889 `TOOBIG`), the quota (RFC 9208 `OVERQUOTA`); then streams the message.
    func beginAppend(tag: IMAPTag, mailbox raw: IMAPMailbox, flags: [String], date: IMAPDateTime?, size: Int) {
        guard let login else { return feed(.appendRefused(IMAPCompletion(.no, "log in first"))) }
        guard let mailbox = naming.mailboxName(raw) else {
            return feed(.appendRefused(IMAPCompletion(.no, code: "CANNOT", "invalid mailbox name")))
        }
        guard size <= login.maxMessageBytes else {
            return feed(.appendRefused(IMAPCompletion(.no, code: "TOOBIG", "the message is larger than \(login.maxMessageBytes) bytes")))
        }
        let names = flags.filter { $0.caseInsensitiveCompare("\\Recent") != .orderedSame }
        guard let parsedFlags = MessageFlags(names: names) else {
            return feed(.appendRefused(IMAPCompletion(.bad, "invalid flag")))
        }
        let client = backend.client
        let status = client.callFuture(Methods.mailboxStatus, MailboxStatusParams(session: login.session, mailbox: mailbox))
        let quota = client.callFuture(Methods.quotaGet, SessionParams(session: login.session))
        status.and(quota).hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
            guard !closed else { return }
            switch result {
            case .success(let (_, quota)):
                if quota.limitBytes > 0, quota.usedBytes + Int64(size) > quota.limitBytes {
                    return feed(.appendRefused(IMAPCompletion(.no, code: "OVERQUOTA", "the mailbox is full")))
                }
                let params = MessageAppendParams(
                    session: login.session, mailbox: mailbox, flags: parsedFlags, internalDate: date?.secondsSince1970,
                    size: Int64(size))
                let upload = MessageUpload(
                    client: client, eventLoop: eventLoop, chunkBytes: configuration.readChunkBytes, target: .mailbox(params))
                upload.onProgress = { [weak self] in self?.driver?.resumeReadingIfPossible() }
                self.upload = Append(tag: tag, mailbox: mailbox, upload: upload, size: size)
                feed(.appendAccepted)
            case .failure(let error):
                feed(.appendRefused(IMAPCommandRunner.completion(for: error, trycreate: true)))
            }
        }
    }

    func commitAppend(_ tag: IMAPTag) {
        guard let append = upload, let upload = append.upload else {
            return feed(.executed(tag, IMAPCompletion(.no, "no APPEND in progress")))
        }
        self.upload = nil
        upload.commit { [self] result in
            switch result {
            case .success(let stored):
                let code = stored.uid.flatMap { uid in stored.uidValidity.map { "APPENDUID \($0) \(uid)" } }
                let runner = runner
                let loop = eventLoop
                let bound = NIOLoopBound(self, eventLoop: loop)
                let mailbox = append.mailbox
                Task {
                    // RFC 3501 §6.3.11: a message appended to the selected mailbox is reported.
                    await runner.appended(stored.uid, to: mailbox)
                    let completion = await runner.finish(IMAPCompletion(.ok, code: code, "APPEND completed"), after: .append)
                    loop.execute { bound.value.feed(.executed(tag, completion)) }
                }
            case .failure(let error):
                feed(.executed(tag, IMAPCommandRunner.completion(for: error, trycreate: true)))
            }
        }
    }
}

/// How the runner writes to its connection from outside the event loop, in batches, waiting
/// while the client does not read (so a FETCH of a whole mailbox holds a bounded amount).
struct IMAPOutput: Sendable {
    let bound: NIOLoopBound<IMAPConnection>
    let eventLoop: any EventLoop

    init(connection: IMAPConnection, eventLoop: any EventLoop) {
        self.bound = NIOLoopBound(connection, eventLoop: eventLoop)
        self.eventLoop = eventLoop
    }

    /// Writes `bytes` and flushes; returns once the socket can take more.
    func write(_ bytes: ByteBuffer) async {
        let bound = bound
        let writable = eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            let connection = bound.value
            guard let driver = connection.driver, !driver.isClosed else { return connection.eventLoop.makeSucceededVoidFuture() }
            driver.write(bytes)
            driver.flushIfNeeded()
            return connection.whenWritable()
        }
        try? await writable.get()
    }

    var isClosed: Bool {
        get async {
            let bound = bound
            return (try? await eventLoop.submit { bound.value.closed || (bound.value.driver?.isClosed ?? true) }.get()) ?? true
        }
    }
}
