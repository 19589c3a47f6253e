import Foundation
public import GatewayKit
import Logging
import MailCore
import NIOCore
import RPCProtocol
import SASL
import SMTPCodec

extension SMTPEvent: ConnectionSignalEvents {}

/// SMTPSession as the connection driver runs it: the session frames everything itself (what a
/// unit is depends on its state: command, AUTH line, DATA, BDAT), so it takes the bytes as they
/// come.
struct SMTPDrivenSession: DrivenSession {
    var session = SMTPSession()

    mutating func nextEvent(from inbound: inout ByteBuffer) -> SMTPEvent? {
        guard inbound.readableBytes > 0 else { return nil }
        let bytes = inbound
        inbound.moveReaderIndex(forwardBy: inbound.readableBytes)
        return .received(bytes)
    }

    mutating func receive(_ event: SMTPEvent) -> [SMTPAction] {
        session.receive(event)
    }

    var isWaiting: Bool { session.isWaiting }

    func hasPartialInput(_ inbound: ByteBuffer) -> Bool { session.hasPartialInput || inbound.readableBytes > 0 }

    var isAuthenticated: Bool { session.authenticatedIdentity != nil }

    /// The session drops its own input when it answers STARTTLS (RFC 3207 §5).
    mutating func discardBufferedInput() {}
}

/// One SMTP connection's protocol half: the session's actions against the back-end (AUTH,
/// sender and recipient checks, the message upload) on GatewayKit's `ConnectionDriver`, which
/// owns the I/O. Reads are demand-driven: while the session waits for the back-end or the
/// upload is backed up, nothing more is read, so neither pipelined commands nor a large message
/// pile up in memory (RFC 2920 §3 lets the server stop reading).
final class SMTPConnection: ConnectionAdapter {
    typealias Session = SMTPDrivenSession
    typealias Driver = ConnectionDriver<SMTPConnection>

    let configuration: SMTPGatewayConfiguration
    let listener: SMTPListener
    let info: ConnectionInfo
    let backend: SMTPBackend
    var logger: Logger
    weak var driver: Driver?

    /// The back-end session from a successful AUTH.
    var login: SessionResult?
    var scram = SCRAMRelay()
    var recipientsThisConnection = 0
    /// What the bare <Postmaster> means on this connection, once its first RCPT worked it out.
    var postmaster: String?
    var transfer: MessageUpload?
    var messageID = ""
    /// Refused by the pregreet test.
    var talkedFirst = false
    /// The connection is closed (a client that left during the greeting pause did not pass).
    var ended = false

    /// The connection's event loop, where every callback lands (it outlives the driver's
    /// channel context, which a back-end answer may arrive after).
    let eventLoop: any EventLoop
    /// Addresses that passed the pregreet test; nil where the greeting never waits.
    let greetingPasses: GreetingPasses?

    init(
        configuration: SMTPGatewayConfiguration, listener: SMTPListener, info: ConnectionInfo, backend: SMTPBackend,
        eventLoop: any EventLoop, logger: Logger, greetingPasses: GreetingPasses? = nil
    ) {
        self.eventLoop = eventLoop
        self.greetingPasses = greetingPasses
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
            maximumMessageSize: configuration.maximumMessageSize ?? SMTPLimits.messageSize,
            maximumRecipients: configuration.maximumRecipientsPerMessage, maximumErrors: configuration.maximumErrors)
        session.verifiesSender = listener.mode == .submission
        session.pausesGreeting = pausesGreeting
        return session
    }

    /// The pregreet test applies: an MX listener with a delay, a client neither trusted nor
    /// passed within the last day.
    var pausesGreeting: Bool {
        guard listener.mode == .mx, configuration.mxGreetingDelay > .zero, let greetingPasses else { return false }
        return !configuration.isTrusted(info.clientAddress) && !greetingPasses.passed(info.clientAddress.text)
    }

    func feed(_ event: SMTPEvent) {
        driver?.feed(event)
    }

    // MARK: - Connection

    func connectionOpened(_ driver: Driver) {
        self.driver = driver
        driver.feed(.opened(sessionConfiguration))
    }

    func connectionClosed(_ driver: Driver) {
        ended = true
        transfer?.abort()
        transfer = nil
    }

    var holdsInput: Bool { transfer?.isBackedUp ?? false }

    func write(_ reply: SMTPReply) {
        guard let driver else { return }
        CommandMetrics.reply("smtp", result: CommandMetrics.smtpResult(reply.code))
        var buffer = driver.allocator.buffer(capacity: 64)
        reply.encode(into: &buffer)
        driver.write(buffer)
    }

    func perform(_ action: SMTPAction, _ driver: Driver) {
        switch action {
        case .send(let reply):
            write(reply)
        case .pauseGreeting:
            eventLoop.assumeIsolated().scheduleTask(in: configuration.mxGreetingDelay) { [self] in
                // Still open: it waited. (A client that talked first was closed, and feeding
                // a closed session does nothing.)
                guard !ended, !talkedFirst else { return }
                greetingPasses?.pass(info.clientAddress.text)
                feed(.greetingPauseEnded)
            }
        case .startTLS:
            driver.startTLS()
        case .checkSender(let reversePath, _):
            checkSender(reversePath)
        case .checkRecipient(let recipient, let envelope):
            checkRecipient(recipient, envelope: envelope)
        case .issueChallenge:
            // RFC 2195 §2: a unique msg-id-like string, issued by the back-end for one use.
            backend.session.challenge(hostname: configuration.hostname, on: eventLoop).assumeIsolated().whenComplete {
                [self] result in
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
        case .messageRefused(let envelope, let reply):
            logRefusal(
                "message refused", from: Self.sender(envelope.reversePath),
                to: envelope.recipients.map { recipientAddress($0.forwardPath) }.joined(separator: ","), reply: reply, id: messageID)
        case .close(let reason):
            if case .unexpectedEvent(let what) = reason { logger.error("SMTP session error: \(what)") }
            if reason == .talkedBeforeGreeting {
                talkedFirst = true
                logger.notice("refused: the client talked before the greeting (pregreet)")
            }
            driver.closeAfterWrites()
        }
    }

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
        // RFC 5321 §4.1.1.3: the bare <Postmaster> is this server's postmaster, worked out
        // at its RCPT (`resolvePostmaster`).
        case .postmaster: postmaster ?? "postmaster@\(configuration.hostname)"
        case .mailbox(let mailbox): mailbox.description
        }
    }

    /// RFC 5321 §4.5.1: mail to the bare <Postmaster> must be accepted. It goes to
    /// `smtp.postmaster`, or else to postmaster@ the first domain added (the primary domain,
    /// which also names the LDAP base DN), asked of the back-end once per connection. Without
    /// an answer (no domain yet, or no back-end) that RCPT uses postmaster@ the host name,
    /// which the back-end then judges like any other address, and the next one asks again.
    func resolvePostmaster(then body: @escaping () -> Void) {
        if postmaster != nil { return body() }
        if let configured = configuration.postmaster {
            postmaster = configured
            return body()
        }
        backend.client.callFuture(Methods.directoryList, DirectoryListParams(after: nil, limit: 1)).hop(to: eventLoop)
            .assumeIsolated().whenComplete { [self] result in
                // A failure is not kept: the next <Postmaster> asks again.
                if let domain = (try? result.get())?.domains.first { postmaster = "postmaster@" + domain }
                body()
            }
    }

    /// RFC 6409 §6.1: the sender must be the authenticated account, a sub-address of it
    /// (`user+tag@domain`) or one of its aliases — the back-end decides (`auth.may_send_as`);
    /// `<>` is allowed for notifications.
    func checkSender(_ path: ReversePath) {
        guard let login, case .mailbox(let mailbox) = path else {
            driver?.enqueue(.senderChecked(.accepted))
            return
        }
        if EmailAddress(mailbox.description)?.canonical == EmailAddress(login.account)?.canonical {
            driver?.enqueue(.senderChecked(.accepted))
            return
        }
        backend.maySendAs(session: login.session, address: mailbox.description, on: eventLoop).assumeIsolated().whenComplete {
            [self] result in
            switch result {
            case .success(true): feed(.senderChecked(.accepted))
            case .success(false):
                let reply = SMTPBackend.senderNotOwned(login.account)
                logRefusal("sender refused", from: mailbox.description, to: nil, reply: reply)
                feed(.senderChecked(.rejected(reply)))
            case .failure(let error):
                let reply = SMTPBackend.reply(for: error)
                logRefusal("sender refused", from: mailbox.description, to: nil, reply: reply)
                feed(.senderChecked(.rejected(reply)))
            }
        }
    }

    func checkRecipient(_ recipient: SMTPRecipient, envelope: SMTPEnvelope) {
        guard recipientsThisConnection < configuration.maximumRecipientsPerConnection else {
            driver?.enqueue(.recipientChecked(.rejected(SMTPBackend.tooManyRecipientsForConnection)))
            return
        }
        if case .postmaster = recipient.forwardPath {
            resolvePostmaster { [self] in askBackend(recipient, envelope: envelope) }
        } else {
            askBackend(recipient, envelope: envelope)
        }
    }

    /// `delivery.check` for one recipient; its answer is fed to the session.
    private func askBackend(_ recipient: SMTPRecipient, envelope: SMTPEnvelope) {
        let params = DeliveryCheckParams(
            sender: Self.sender(envelope.reversePath), recipient: recipientAddress(recipient.forwardPath),
            size: envelope.mailParameters.size.map { Int64($0) }, clientAddress: info.clientAddress.text,
            session: login?.session, trustedRelay: trustedRelay)
        backend.checkRecipient(params, on: eventLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let outcome):
                if let reply = SMTPBackend.reply(for: outcome) {
                    logRefusal("recipient refused", from: params.sender, to: params.recipient, reply: reply)
                    feed(.recipientChecked(.rejected(reply)))
                } else {
                    recipientsThisConnection += 1
                    feed(.recipientChecked(.accepted))
                }
            case .failure(let error):
                if !((error as? RPCError)?.is(.invalidAddress) ?? false) {
                    logger.warning("delivery.check failed: \(error)")
                }
                let reply = SMTPBackend.reply(for: error)
                logRefusal("recipient refused", from: params.sender, to: params.recipient, reply: reply)
                feed(.recipientChecked(.rejected(reply)))
            }
        }
    }

    // MARK: - AUTH

    func authenticate(_ credentials: SASLCredentials) {
        backend.session.login(SMTPBackend.credentials(credentials), on: eventLoop)
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
        if first { scram = SCRAMRelay() }
        switch scram.step(message) {
        case .begin(let clientFirst) where first:
            backend.session.scramBegin(clientFirst: clientFirst, on: eventLoop)
                .assumeIsolated().whenComplete { [self] result in
                    switch result {
                    case .success(let challenge):
                        scram.began(challenge)
                        feed(.saslStepped(.challenge(Array(challenge.serverFirst.utf8))))
                    case .failure(let error):
                        feed(.saslStepped(.failed(SMTPBackend.authenticationReply(for: error))))
                    }
                }
        case .begin:
            driver?.enqueue(.saslStepped(.failed(.authenticationFailed)))
        case .finish(let exchange, let clientFinal):
            backend.session.scramFinish(exchange: exchange, clientFinal: clientFinal, on: eventLoop)
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
    }

    // MARK: - Message

    func beginMessage(_ envelope: SMTPEnvelope) {
        let now = Int(Date().timeIntervalSince1970)
        messageID = UniqueID.make()
        let received = TraceHeaders.received(
            clientName: envelope.clientName, clientAddress: info.clientAddress.text, hostname: configuration.hostname,
            protocolName: envelope.protocolName, id: messageID,
            recipient: envelope.recipients.count == 1 ? envelope.recipients.first?.forwardPath.description : nil,
            authenticatedUser: configuration.receivedNamesAuthenticatedUser ? login?.account : nil, date: now)
        var completeHeader: ((ByteBuffer) -> String)?
        if listener.mode == .submission {
            let hostname = configuration.hostname
            let id = messageID
            completeHeader = { start in
                TraceHeaders.missingSubmissionFields(in: start, hostname: hostname, id: id, date: now)
            }
        }
        let upload = MessageUpload.Envelope(
            sender: Self.sender(envelope.reversePath), recipients: envelope.recipients.map { recipientAddress($0.forwardPath) },
            clientAddress: info.clientAddress.text, session: login?.session, trustedRelay: trustedRelay, dsn: Self.dsn(envelope))
        let transfer = MessageUpload(
            client: backend.client, eventLoop: eventLoop, chunkBytes: configuration.uploadChunkBytes,
            target: .delivery(upload), prefix: received, completeHeader: completeHeader)
        transfer.onProgress = { [weak self] in self?.driver?.resumeReadingIfPossible() }
        self.transfer?.abort()
        self.transfer = transfer
    }

    func commitMessage(_ envelope: SMTPEnvelope) {
        guard let transfer else {
            driver?.enqueue(.messageCommitted(.failed(.localError)))
            return
        }
        let id = messageID
        transfer.commit { [self] result in
            if self.transfer === transfer { self.transfer = nil }
            switch result {
            case .success(let committed):
                let outcomes = (committed.recipients ?? []).map { outcome -> SMTPCodec.RecipientOutcome in
                    if let reply = SMTPBackend.reply(for: outcome) { return .failed(reply) }
                    return outcome.status == .queued || outcome.alsoQueued == true ? .queued : .delivered
                }
                logAccepted(envelope, id: id, size: committed.size, recipients: committed.recipients ?? [], outcomes: outcomes)
                feed(.messageCommitted(.committed(queueID: id, recipients: outcomes)))
            case .failure(let error):
                if SMTPBackend.reply(for: error) == .localError { logger.warning("delivery failed: \(error)") }
                let reply = SMTPBackend.reply(for: error)
                logRefusal(
                    "message refused", from: Self.sender(envelope.reversePath),
                    to: envelope.recipients.map { recipientAddress($0.forwardPath) }.joined(separator: ","), reply: reply, id: id)
                feed(.messageCommitted(.failed(reply)))
            }
        }
    }
}

extension SMTPConnection {
    /// RFC 3461's parameters of the transaction for the back-end; nil when the client gave none.
    static func dsn(_ envelope: SMTPEnvelope) -> DeliveryDSN? {
        let recipients = envelope.recipients.map { r in
            RecipientDSN(
                notify: r.parameters.notify.map { notify in
                    switch notify {
                    case .never: "NEVER"
                    case .on(let set): DSNNotify.Condition.allCases.filter(set.contains).map(\.rawValue).joined(separator: ",")
                    }
                },
                orcpt: r.parameters.originalRecipient.map { "\($0.addressType);\($0.address)" })
        }
        let dsn = DeliveryDSN(
            ret: envelope.mailParameters.ret?.rawValue, envid: envelope.mailParameters.envelopeID, recipients: recipients)
        return dsn.isEmpty ? nil : dsn
    }
}

// MARK: - The transaction log

extension SMTPConnection {
    /// What every message line carries: who connected, as whom, over what.
    var connectionFields: Logger.Metadata {
        var fields: Logger.Metadata = [
            "event": "message", "client": .string(info.clientAddress.text), "listener": .string(listener.mode == .mx ? "mx" : "submission"),
        ]
        if let login { fields["user"] = .string(login.account) }
        return fields
    }

    /// One line per message taken (issue 14): `msg="message accepted" queue_id=… from=… to=…
    /// size=… client=… user=… helo=… outcome=…` with each recipient's fate (`delivered`,
    /// `queued`, or the reply that refused it after the data).
    func logAccepted(
        _ envelope: SMTPEnvelope, id: String, size: Int64, recipients: [RPCProtocol.RecipientOutcome],
        outcomes: [SMTPCodec.RecipientOutcome]
    ) {
        guard logger.logLevel <= .info else { return }  // not even the fields, when not logged
        var fields = connectionFields
        fields["result"] = "accepted"
        fields["queue_id"] = .string(id)
        fields["from"] = .string(Self.sender(envelope.reversePath))
        fields["to"] = .string(recipients.map { $0.recipient }.joined(separator: ","))
        fields["size"] = "\(size)"
        fields["helo"] = .string(envelope.clientName)
        fields["reply"] = "250"
        fields["outcome"] = .string(
            zip(recipients, outcomes).map { recipient, outcome in
                switch outcome {
                case .delivered: "\(recipient.recipient):delivered"
                case .queued: "\(recipient.recipient):queued"
                case .failed(let reply): "\(recipient.recipient):\(reply.code)"
                }
            }.joined(separator: ","))
        logger.info("message accepted", metadata: fields)
    }

    /// One line per refusal of a sender, a recipient or a message, with the reply sent.
    func logRefusal(_ what: Logger.Message, from: String, to: String?, reply: SMTPReply, id: String? = nil) {
        var fields = connectionFields
        fields["result"] = "refused"
        fields["from"] = .string(from)
        if let to { fields["to"] = .string(to) }
        if let id { fields["queue_id"] = .string(id) }
        fields["reply"] = .string([String(reply.code), reply.enhancedCode?.description].compactMap { $0 }.joined(separator: " "))
        fields["text"] = .string(reply.lines.joined(separator: " "))
        logger.notice(what, metadata: fields)
    }
}
