import Foundation
import GatewayKit
import Logging
import MailCore
import NIOCore
import NIOSSL
import RPCProtocol
import SMTPCodec

/// One SMTP connection: feeds what the client sends to `SMTPSession` and performs the actions
/// it returns (STYLE §3) — writes, STARTTLS, back-end calls, the message transfer, close.
/// Everything runs on the channel's event loop; back-end answers hop back to it and come in as
/// session events.
///
/// Reads are demand-driven: while the session waits for the back-end or the message transfer
/// is backed up, the handler holds the channel's `read()`, so neither pipelined commands nor a
/// large message pile up in memory (RFC 2920 §3 lets the server stop reading).
final class SMTPConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let configuration: SMTPGatewayConfiguration
    let listener: SMTPListener
    let info: ConnectionInfo
    let backend: SMTPBackend
    var logger: Logger

    var session = SMTPSession()
    var context: ChannelHandlerContext?
    var idleTimer: IdleTimer?
    var queuedEvents: [SMTPEvent] = []
    var performing = false
    var wroteSinceFlush = false
    var closed = false
    var readHeld = false

    /// The back-end session from a successful AUTH.
    var login: SessionResult?
    /// The back-end's id of a SCRAM exchange between its two steps.
    var scramExchange: String?
    var recipientsThisConnection = 0
    var transfer: MessageTransfer?
    var messageID = ""

    init(
        configuration: SMTPGatewayConfiguration, listener: SMTPListener, info: ConnectionInfo, backend: SMTPBackend,
        logger: Logger
    ) {
        self.configuration = configuration
        self.listener = listener
        self.info = info
        self.backend = backend
        self.logger = logger
        self.logger[metadataKey: "client"] = "\(info.clientAddress)"
    }

    var sessionConfiguration: SMTPSessionConfiguration {
        let offersAuth = listener.mode == .submission || configuration.authOnMX
        var session = SMTPSessionConfiguration(
            hostname: configuration.hostname, portKind: listener.portKind, tlsActive: info.isImplicitTLS,
            tlsAvailable: info.startTLSContext != nil, authMechanisms: offersAuth ? configuration.authMechanisms : [],
            plaintextAuthAllowed: configuration.allowPlaintextWithoutTLS
                || (configuration.allowPlaintextOnLoopback && info.clientAddress.isLoopback),
            maximumMessageSize: configuration.maximumMessageSize,
            maximumRecipients: configuration.maximumRecipientsPerMessage, maximumErrors: configuration.maximumErrors)
        session.verifiesSender = listener.mode == .submission
        return session
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
        feed(.opened(sessionConfiguration))
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        idleTimer?.touch()
        feed(.received(unwrapInboundIn(data)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        feed(.peerClosed)
        closed = true
        transfer?.abort()
        transfer = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if StartTLS.isHandshakeCompleted(event), !info.isImplicitTLS {
            feed(.tlsEstablished)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error: \(error)")
        context.close(promise: nil)
    }

    /// Holds the read while the session or the transfer cannot take more bytes.
    func read(context: ChannelHandlerContext) {
        if mustHoldReads {
            readHeld = true
        } else {
            context.read()
        }
    }

    var mustHoldReads: Bool {
        session.isWaiting || (transfer?.isBackedUp ?? false)
    }

    func resumeReadingIfPossible() {
        guard readHeld, !closed, !mustHoldReads, let context else { return }
        readHeld = false
        context.read()
    }

    // MARK: - Session events and actions

    /// Hands an event to the session and performs what it returns; an event that arrives while
    /// actions are being performed waits its turn.
    func feed(_ event: SMTPEvent) {
        queuedEvents.append(event)
        guard !performing else { return }
        performing = true
        while !queuedEvents.isEmpty {
            let actions = session.receive(queuedEvents.removeFirst())
            for action in actions { perform(action) }
        }
        performing = false
        flushIfNeeded()
        resumeReadingIfPossible()
    }

    func flushIfNeeded() {
        guard wroteSinceFlush, let context else { return }
        wroteSinceFlush = false
        context.flush()
    }

    func write(_ reply: SMTPReply) {
        guard let context, context.channel.isActive else { return }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        reply.encode(into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: nil)
        wroteSinceFlush = true
    }

    func perform(_ action: SMTPAction) {
        switch action {
        case .send(let reply):
            write(reply)
        case .startTLS:
            beginTLS()
        case .checkSender(let reversePath, _):
            checkSender(reversePath)
        case .checkRecipient(let recipient, let envelope):
            checkRecipient(recipient, envelope: envelope)
        case .issueChallenge:
            // RFC 2195 §2: a unique msg-id-like string, issued by the back-end for one use.
            backend.challenge(hostname: configuration.hostname, on: eventLoop).assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let challenge): feed(.challengeIssued(challenge))
                case .failure(let error):
                    logger.warning("no CRAM-MD5 challenge from the back-end: \(error)")
                    feed(.authenticationFinished(.failed(SMTPBackend.authenticationReply(for: error))))
                }
            }
        case .authenticate(let credentials):
            authenticate(credentials)
        case .relaySASL(_, let message, let first):
            relaySCRAM(String(decoding: message, as: UTF8.self), first: first)
        case .beginMessage(let envelope):
            beginMessage(envelope)
        case .appendMessage(let bytes):
            transfer?.append(bytes)
        case .commitMessage(let envelope, _):
            commitMessage(envelope)
        case .abortMessage:
            transfer?.abort()
            transfer = nil
        case .close(let reason):
            if case .unexpectedEvent(let what) = reason { logger.error("SMTP session error: \(what)") }
            closeAfterWrites()
        }
    }

    func beginTLS() {
        guard let context, let tlsContext = info.startTLSContext else { return }
        flushIfNeeded()
        do {
            var nothing = ByteBuffer()
            try StartTLS.begin(on: context.channel, context: tlsContext, discarding: &nothing)
        } catch {
            logger.error("cannot start TLS: \(error)")
            context.close(promise: nil)
        }
    }

    func closeAfterWrites() {
        guard let context, !closed else { return }
        closed = true
        idleTimer?.cancel()
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: promise)
        wroteSinceFlush = false
        promise.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    var eventLoop: any EventLoop { context!.eventLoop }

    // MARK: - Envelope

    var trustedRelay: Bool? { configuration.isTrusted(info.clientAddress) ? true : nil }

    static func sender(_ path: ReversePath) -> String {
        switch path {
        case .null: ""
        case .mailbox(let mailbox): mailbox.description
        }
    }

    func recipientAddress(_ path: ForwardPath) -> String {
        switch path {
        // RFC 5321 §4.1.1.3: the bare <Postmaster> is the postmaster of this host.
        case .postmaster: "postmaster@\(configuration.hostname)"
        case .mailbox(let mailbox): mailbox.description
        }
    }

    /// RFC 6409 §6.1: the sender must be the authenticated account, a sub-address of it
    /// (`user+tag@domain`) or one of its aliases — the back-end decides (`auth.may_send_as`);
    /// `<>` is allowed for notifications.
    func checkSender(_ path: ReversePath) {
        guard let login, case .mailbox(let mailbox) = path else {
            queuedEvents.append(.senderChecked(.accepted))
            return
        }
        if EmailAddress(mailbox.description)?.canonical == EmailAddress(login.account)?.canonical {
            queuedEvents.append(.senderChecked(.accepted))
            return
        }
        backend.maySendAs(session: login.session, address: mailbox.description, on: eventLoop).assumeIsolated().whenComplete {
            [self] result in
            switch result {
            case .success(true): feed(.senderChecked(.accepted))
            case .success(false): feed(.senderChecked(.rejected(SMTPBackend.senderNotOwned(login.account))))
            case .failure(let error): feed(.senderChecked(.rejected(SMTPBackend.reply(for: error))))
            }
        }
    }

    func checkRecipient(_ recipient: SMTPRecipient, envelope: SMTPEnvelope) {
        guard recipientsThisConnection < configuration.maximumRecipientsPerConnection else {
            queuedEvents.append(.recipientChecked(.rejected(SMTPBackend.tooManyRecipientsForConnection)))
            return
        }
        let params = DeliveryCheckParams(
            sender: Self.sender(envelope.reversePath), recipient: recipientAddress(recipient.forwardPath),
            size: envelope.mailParameters.size.map { Int64($0) }, clientAddress: info.clientAddress.text,
            session: login?.session, trustedRelay: trustedRelay)
        backend.checkRecipient(params, on: eventLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let outcome):
                if let reply = SMTPBackend.reply(for: outcome) {
                    feed(.recipientChecked(.rejected(reply)))
                } else {
                    recipientsThisConnection += 1
                    feed(.recipientChecked(.accepted))
                }
            case .failure(let error):
                if !((error as? RPCError)?.is(.invalidAddress) ?? false) {
                    logger.warning("delivery.check failed: \(error)")
                }
                feed(.recipientChecked(.rejected(SMTPBackend.reply(for: error))))
            }
        }
    }

    // MARK: - AUTH

    func authenticate(_ credentials: SASLCredentials) {
        backend.authenticate(credentials, clientAddress: info.clientAddress.text, on: eventLoop)
            .assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let session):
                    login = session
                    feed(.authenticationFinished(.succeeded(identity: session.account)))
                case .failure(let error):
                    let reply = SMTPBackend.authenticationReply(for: error)
                    if reply == .temporaryAuthenticationFailure { logger.warning("AUTH failed on the server side: \(error)") }
                    feed(.authenticationFinished(.failed(reply)))
                }
            }
    }

    /// SCRAM-SHA-256 (RFC 5802, RFC 7677) relayed to the back-end, which holds the verifiers.
    func relaySCRAM(_ message: String, first: Bool) {
        if first {
            backend.scramBegin(clientFirst: message, clientAddress: info.clientAddress.text, on: eventLoop)
                .assumeIsolated().whenComplete { [self] result in
                    switch result {
                    case .success(let challenge):
                        scramExchange = challenge.exchange
                        feed(.saslStepped(.challenge(Array(challenge.serverFirst.utf8))))
                    case .failure(let error):
                        feed(.saslStepped(.failed(SMTPBackend.authenticationReply(for: error))))
                    }
                }
            return
        }
        guard let exchange = scramExchange else {
            queuedEvents.append(.saslStepped(.failed(.authenticationFailed)))
            return
        }
        scramExchange = nil
        backend.scramFinish(exchange: exchange, clientFinal: message, on: eventLoop)
            .assumeIsolated().whenComplete { [self] result in
                switch result {
                case .success(let done):
                    login = done.session
                    feed(.saslStepped(.succeeded(identity: done.session.account, final: Array(done.serverFinal.utf8))))
                case .failure(let error):
                    feed(.saslStepped(.failed(SMTPBackend.authenticationReply(for: error))))
                }
            }
    }

    // MARK: - Message

    func beginMessage(_ envelope: SMTPEnvelope) {
        let now = Int(Date().timeIntervalSince1970)
        messageID = UniqueID.make()
        let received = TraceHeaders.received(
            clientName: envelope.clientName, clientAddress: info.clientAddress.text, hostname: configuration.hostname,
            envelope: envelope, id: messageID, date: now)
        var completeHeader: ((ByteBuffer) -> String)?
        if listener.mode == .submission {
            let hostname = configuration.hostname
            let id = messageID
            completeHeader = { start in
                TraceHeaders.missingSubmissionFields(in: start, hostname: hostname, id: id, date: now)
            }
        }
        let transfer = MessageTransfer(
            backend: backend, eventLoop: eventLoop, chunkBytes: configuration.uploadChunkBytes,
            sender: Self.sender(envelope.reversePath), recipients: envelope.recipients.map { recipientAddress($0.forwardPath) },
            clientAddress: info.clientAddress.text, session: login?.session, trustedRelay: trustedRelay, prefix: received,
            completeHeader: completeHeader)
        transfer.onProgress = { [weak self] in self?.resumeReadingIfPossible() }
        self.transfer?.abort()
        self.transfer = transfer
    }

    func commitMessage(_ envelope: SMTPEnvelope) {
        guard let transfer else {
            queuedEvents.append(.messageCommitted(.failed(.localError)))
            return
        }
        let id = messageID
        transfer.commit { [self] result in
            if self.transfer === transfer { self.transfer = nil }
            switch result {
            case .success(let committed):
                let outcomes = (committed.recipients ?? []).map { outcome -> SMTPCodec.RecipientOutcome in
                    SMTPBackend.reply(for: outcome).map { .failed($0) } ?? .delivered
                }
                feed(.messageCommitted(.committed(queueID: id, recipients: outcomes)))
            case .failure(let error):
                if SMTPBackend.reply(for: error) == .localError { logger.warning("delivery failed: \(error)") }
                feed(.messageCommitted(.failed(SMTPBackend.reply(for: error))))
            }
        }
    }
}

/// Short unique ids for Received headers, "queued as" replies and Message-IDs.
enum UniqueID {
    static func make() -> String {
        let time = String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36).uppercased()
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 36).uppercased()
        return time + random
    }
}
