import LineFraming
import MailCore
import NIOCore
import SASL

/// The server side of one SMTP connection as a value (STYLE §3): feed it events with
/// `receive(_:)`, perform the actions it returns, feed it the answers.
///
/// It owns the framing of everything the client sends (command lines, AUTH continuations,
/// DATA content, BDAT chunks), because where one unit ends depends on the session state.
/// While it waits for the back-end it leaves later input untouched, so pipelined commands
/// (RFC 2920) are answered strictly in order; the gateway should not read from the socket
/// while `isWaiting` is true, which bounds what the session holds.
public struct SMTPSession: Sendable {
    private enum Mode: Sendable {
        case unopened
        /// Holding the greeting back (`SMTPSessionConfiguration.pausesGreeting`) until
        /// `.greetingPauseEnded`; anything the client sends meanwhile ends the connection.
        case pregreet
        case command
        case sasl(SASLExchange)
        case data
        /// Reading a BDAT chunk; `refusal` is sent once a refused chunk has been consumed.
        case chunk(refusal: SMTPReply?)
        case waiting(Wait)
        case tlsHandshake
        case closed
    }

    private enum Wait: Sendable {
        case sender(ReversePath, MailParameters)
        case recipient(SMTPRecipient)
        /// A CRAM-MD5 challenge or a relayed SCRAM step from the back-end.
        case saslBackend(SASLExchange)
        case authentication
        case commit
    }

    private var configuration = SMTPSessionConfiguration(hostname: "localhost")
    private var mode = Mode.unopened
    public private(set) var phase = Phase.greeted
    public private(set) var tlsActive = false
    public private(set) var authenticatedIdentity: String?
    public private(set) var envelope = SMTPEnvelope()
    public private(set) var errorCount = 0
    private var input = ByteBuffer()
    private var framer = LineFramer(maximumLineLength: SMTPLimits.commandLine)
    private var dataReceiver: DataReceiver?
    private var chunkReceiver: BDATReceiver?
    /// A back-end upload is open (begun, neither committed nor aborted).
    private var messageOpen = false
    private var messageSize = 0

    public init() {}

    /// True while an action that awaits an answer is outstanding.
    public var isWaiting: Bool {
        if case .waiting = mode { return true }
        return false
    }

    public var isClosed: Bool {
        if case .closed = mode { return true }
        return false
    }

    /// Bytes received but not yet processed (held while waiting for the back-end).
    public var bufferedByteCount: Int { input.readableBytes }

    /// True while part of a unit has arrived without its end: a command or AUTH line, or a
    /// message (DATA up to its dot, a BDAT chunk). The gateway's command deadline runs then.
    public var hasPartialInput: Bool {
        switch mode {
        case .data, .chunk: true
        case .unopened, .pregreet, .command, .sasl, .waiting, .tlsHandshake, .closed: input.readableBytes > 0 || framer.isDiscarding
        }
    }

    public mutating func receive(_ event: SMTPEvent) -> [SMTPAction] {
        var actions: [SMTPAction] = []
        switch (event, mode) {
        case (_, .closed):
            return []
        case (.opened(let configuration), .unopened):
            self.configuration = configuration
            tlsActive = configuration.tlsActive
            if configuration.pausesGreeting {
                mode = .pregreet
                actions.append(.pauseGreeting)
            } else {
                mode = .command
                actions.append(.send(.greeting(configuration.hostname)))
            }
        case (.opened, _), (_, .unopened):
            unexpected(event, &actions)
        case (.greetingPauseEnded, .pregreet):
            mode = .command
            actions.append(.send(.greeting(configuration.hostname)))
        case (.received(let bytes), .pregreet):
            // RFC 5321 §3.1, §4.3.1: a client waits for the greeting. One that talks first is
            // a spam engine hurrying (Postfix postscreen's pregreet test, sendmail's greet_pause):
            // 554 in place of the greeting, and nothing it sent is read.
            guard bytes.readableBytes > 0 else { return [] }
            mode = .closed
            return [.send(.talkedBeforeGreeting(configuration.hostname)), .close(.talkedBeforeGreeting)]
        case (.received, .tlsHandshake):
            // RFC 3207 §5 / CVE-2011-0411: plaintext sent after STARTTLS is never executed.
            return []
        case (.received(var bytes), _):
            if input.readableBytes == 0 {
                input = bytes
            } else {
                input.writeBuffer(&bytes)
            }
        case (.tlsEstablished, .tlsHandshake):
            // RFC 3207 §4.2: forget everything learnt before TLS; the client starts with EHLO.
            tlsActive = true
            authenticatedIdentity = nil
            envelope = SMTPEnvelope()
            phase = .greeted
            framer.discardBuffered(&input)
            mode = .command
        case (.tlsFailed, .tlsHandshake):
            mode = .closed
            actions.append(.close(.tlsFailed))
        case (.senderChecked(let verdict), .waiting(.sender(let reversePath, let parameters))):
            mode = .command
            switch verdict {
            case .accepted: acceptSender(reversePath, parameters, &actions)
            case .rejected(let reply): refuse(reply, &actions)
            }
        case (.recipientChecked(let verdict), .waiting(.recipient(let recipient))):
            mode = .command
            switch verdict {
            case .accepted:
                envelope.recipients.append(recipient)
                phase = .recipientsGiven
                actions.append(.send(.recipientOK))
            case .rejected(let reply):
                refuse(reply, &actions)
            }
        case (.challengeIssued(let challenge), .waiting(.saslBackend(var exchange))) where exchange.isAwaitingChallenge:
            let step = exchange.challengeIssued(challenge)
            perform(step, exchange, &actions)
        case (.saslStepped(let step), .waiting(.saslBackend(var exchange))) where exchange.isAwaitingRelay:
            switch step {
            case .challenge(let bytes):
                let next = exchange.relayed(.challenge(bytes))
                perform(next, exchange, &actions)
            case .succeeded(let identity, let final):
                let next = exchange.relayed(.succeeded(identity: identity, final: final))
                perform(next, exchange, &actions)
            case .failed(let reply):
                mode = .command
                refuse(reply, &actions)
            }
        case (.authenticationFinished(.failed(let reply)), .waiting(.saslBackend(let exchange))) where exchange.isAwaitingChallenge:
            // The back-end could not issue a CRAM-MD5 challenge.
            mode = .command
            refuse(reply, &actions)
        case (.authenticationFinished(let result), .waiting(.authentication)):
            mode = .command
            switch result {
            case .succeeded(let identity):
                authenticated(identity, &actions)
            case .failed(let reply):
                refuse(reply, &actions)
            }
        case (.messageCommitted(let result), .waiting(.commit)):
            mode = .command
            messageOpen = false
            resetTransaction()
            switch result {
            case .committed(let queueID, let recipients):
                let failures = recipients.compactMap { outcome -> SMTPReply? in
                    if case .failed(let reply) = outcome { return reply }
                    return nil
                }
                if !recipients.isEmpty, failures.count == recipients.count {
                    actions.append(.send(failures[0]))
                } else if !recipients.isEmpty, !recipients.contains(.queued) {
                    actions.append(.send(.delivered(queueID)))
                } else {
                    actions.append(.send(.queued(queueID)))
                }
            case .failed(let reply):
                actions.append(.send(reply))
            }
        case (.timeout, _):
            if messageOpen, !isWaitingForCommit { actions.append(.abortMessage) }
            if case .tlsHandshake = mode {} else { actions.append(.send(.timeout(configuration.hostname))) }
            mode = .closed
            actions.append(.close(.timeout))
            return actions
        case (.peerClosed, _):
            if messageOpen, !isWaitingForCommit { actions.append(.abortMessage) }
            mode = .closed
            actions.append(.close(.peerClosed))
            return actions
        default:
            unexpected(event, &actions)
        }
        process(&actions)
        if input.readableBytes == 0 { input.clear() } else if input.readerIndex > 64 * 1024 { input.discardReadBytes() }
        return actions
    }

    private var isWaitingForCommit: Bool {
        if case .waiting(.commit) = mode { return true }
        return false
    }

    /// A gateway bug: the event cannot happen in this mode. End the connection, never crash.
    private mutating func unexpected(_ event: SMTPEvent, _ actions: inout [SMTPAction]) {
        if messageOpen { actions.append(.abortMessage) }
        actions.append(.send(.serviceUnavailable(configuration.hostname)))
        actions.append(.close(.unexpectedEvent("\(event) in \(mode)")))
        mode = .closed
    }

    // MARK: Input

    /// Runs the framers over the buffered input until it is used up or the session must wait.
    private mutating func process(_ actions: inout [SMTPAction]) {
        while true {
            switch mode {
            case .command:
                framer.maximumLineLength = configuration.commandLineLimit
                guard let frame = framer.next(from: &input) else { return }
                switch frame {
                case .lineTooLong: refuse(.lineTooLong, &actions)
                case .line(let line): handle(line: line, &actions)
                }
            case .sasl(var exchange):
                framer.maximumLineLength = configuration.authenticationLineLimit
                guard let frame = framer.next(from: &input) else { return }
                switch frame {
                case .lineTooLong:
                    mode = .command
                    refuse(.authenticationLineTooLong, &actions)
                case .line(let line):
                    let step = exchange.receive(line: line.readableBytesView)
                    perform(step, exchange, &actions)
                }
            case .data:
                for event in dataReceiver!.receive(&input) {
                    switch event {
                    case .chunk(let bytes): actions.append(.appendMessage(bytes))
                    case .finished(let outcome): finishData(outcome, &actions)
                    }
                }
                if case .data = mode { return }
            case .chunk(let refusal):
                for event in chunkReceiver!.receive(&input) {
                    switch event {
                    case .chunk(let bytes): actions.append(.appendMessage(bytes))
                    case .finished(let outcome): finishChunk(outcome, refusal: refusal, &actions)
                    }
                }
                if case .chunk = mode { return }
            case .waiting, .tlsHandshake, .closed, .unopened, .pregreet:
                return
            }
        }
    }

    private mutating func handle(line: ByteBuffer, _ actions: inout [SMTPAction]) {
        let command: SMTPCommand
        do {
            command = try SMTPCommandParser.parse(line)
        } catch {
            refuse(error.reply, &actions)
            return
        }
        let gates = Self.gates[command.verb, default: []]
        if let unavailable = gates.lazy.filter(\.precedesPhase).compactMap({ [self] in $0.check(self, configuration) })
            .first
        {
            return refuse(unavailable, &actions)
        }
        var refusal = Self.sequenceRefusal(command.verb, in: phase)
        for gate in gates where refusal == nil && !gate.precedesPhase {
            refusal = gate.check(self, configuration)
        }
        if let refusal {
            if case .bdat(let size, let last) = command {
                // RFC 3030 §2: a refused BDAT's octets are read and discarded before the reply.
                startChunk(size: size, last: last, refusal: refusal)
            } else {
                refuse(refusal, &actions)
            }
            return
        }
        execute(command, &actions)
    }

    // MARK: Commands

    private mutating func execute(_ command: SMTPCommand, _ actions: inout [SMTPAction]) {
        switch command {
        case .helo(let name), .ehlo(let name):
            // RFC 5321 §4.1.4: EHLO/HELO in a transaction resets it as RSET would.
            abortTransaction(&actions)
            let isEHLO = command.verb == .ehlo
            envelope = SMTPEnvelope(
                clientName: name, usedEHLO: isEHLO, tlsActive: tlsActive, authenticatedIdentity: authenticatedIdentity)
            phase = .identified
            actions.append(
                .send(isEHLO ? configuration.ehloReply(tlsActive: tlsActive) : SMTPReply(250, nil, configuration.hostname)))
        case .mail(let reversePath, let parameters):
            // RFC 5321 §4.1.1.11 / RFC 1869: a parameter of an extension not offered is unknown.
            guard parameters.requiredExtensions.isSubset(of: configuration.offeredExtensions) else {
                return refuse(.unsupportedParameter, &actions)
            }
            // RFC 6531 §3.5.
            guard reversePath.isASCII || parameters.smtpUTF8 else { return refuse(.nonASCIISender, &actions) }
            // RFC 1870 §6.1: refuse up front a message declared too big.
            if let size = parameters.size, size > configuration.maximumMessageSize {
                return refuse(.messageTooBig, &actions)
            }
            if configuration.verifiesSender {
                mode = .waiting(.sender(reversePath, parameters))
                actions.append(.checkSender(reversePath, envelope: envelope))
            } else {
                acceptSender(reversePath, parameters, &actions)
            }
        case .rcpt(let forwardPath, let parameters):
            guard parameters.requiredExtensions.isSubset(of: configuration.offeredExtensions) else {
                return refuse(.unsupportedParameter, &actions)
            }
            // RFC 5321 §4.5.3.1.10: 452 asks the client to send the rest in another transaction.
            guard envelope.recipients.count < configuration.maximumRecipients else {
                return refuse(.tooManyRecipients, &actions)
            }
            guard forwardPath.isASCII || envelope.mailParameters.smtpUTF8 else {
                return refuse(.nonASCIIRecipient, &actions)
            }
            let recipient = SMTPRecipient(forwardPath: forwardPath, parameters: parameters)
            mode = .waiting(.recipient(recipient))
            actions.append(.checkRecipient(recipient, envelope: envelope))
        case .data:
            // RFC 3030 §3: BINARYMIME content cannot travel by DATA.
            guard envelope.mailParameters.body != .binaryMIME else {
                return refuse(.binaryMIMERequiresBDAT, &actions)
            }
            dataReceiver = DataReceiver(configuration: configuration.dataConfiguration)
            messageOpen = true
            mode = .data
            actions.append(.beginMessage(envelope))
            actions.append(.send(.startMailInput))
        case .bdat(let size, let last):
            if phase == .recipientsGiven {
                messageOpen = true
                messageSize = 0
                phase = .chunking
                actions.append(.beginMessage(envelope))
            }
            startChunk(size: size, last: last, refusal: nil)
        case .rset:
            abortTransaction(&actions)
            actions.append(.send(.ok))
        case .noop:
            actions.append(.send(.ok))
        case .quit:
            abortTransaction(&actions)
            actions.append(.send(.closing(configuration.hostname)))
            actions.append(.close(.quit))
            mode = .closed
        case .vrfy:
            actions.append(.send(.cannotVerify))
        case .expn:
            // RFC 5321 §3.5.2 / §7.3: list expansion is not offered; not counted as an error.
            actions.append(.send(.expandNotAvailable))
        case .help:
            actions.append(.send(.help))
        case .starttls:
            actions.append(.send(.readyToStartTLS))
            actions.append(.startTLS)
            // RFC 3207 §5 / CVE-2011-0411: pipelined plaintext after STARTTLS is discarded.
            framer.discardBuffered(&input)
            mode = .tlsHandshake
        case .auth(let name, let initialResponse):
            startSASL(name, initialResponse, &actions)
        }
    }

    private mutating func acceptSender(
        _ reversePath: ReversePath, _ parameters: MailParameters, _ actions: inout [SMTPAction]
    ) {
        envelope.reversePath = reversePath
        envelope.mailParameters = parameters
        envelope.recipients = []
        phase = .mailGiven
        actions.append(.send(.senderOK))
    }

    /// Ends a transaction the client abandons (RSET, EHLO, QUIT); the upload, if any, is dropped.
    private mutating func abortTransaction(_ actions: inout [SMTPAction]) {
        if messageOpen {
            actions.append(.abortMessage)
            messageOpen = false
        }
        resetTransaction()
    }

    /// RFC 5321 §4.1.1.5: clears the envelope, keeps the EHLO/HELO and AUTH state.
    private mutating func resetTransaction() {
        envelope.reversePath = .null
        envelope.mailParameters = MailParameters()
        envelope.recipients = []
        dataReceiver = nil
        chunkReceiver = nil
        messageSize = 0
        if phase != .greeted { phase = .identified }
    }

    // MARK: DATA and BDAT

    private mutating func finishData(_ outcome: DataReceiver.Outcome, _ actions: inout [SMTPAction]) {
        dataReceiver = nil
        if let rejection = outcome.rejection {
            actions.append(.messageRefused(envelope, rejection))
            actions.append(.abortMessage)
            messageOpen = false
            resetTransaction()
            mode = .command
            actions.append(.send(rejection))
        } else {
            mode = .waiting(.commit)
            actions.append(.commitMessage(envelope, size: outcome.size))
        }
    }

    private mutating func startChunk(size: Int, last: Bool, refusal: SMTPReply?) {
        chunkReceiver = BDATReceiver(
            chunkSize: size, last: last, alreadyReceived: messageSize, maximumSize: configuration.maximumMessageSize,
            flushThreshold: configuration.flushThreshold, discarding: refusal != nil)
        mode = .chunk(refusal: refusal)
    }

    private mutating func finishChunk(
        _ outcome: BDATReceiver.Outcome, refusal: SMTPReply?, _ actions: inout [SMTPAction]
    ) {
        chunkReceiver = nil
        mode = .command
        if let refusal { return refuse(refusal, &actions) }
        messageSize = outcome.messageSize
        if outcome.exceededSize {
            // RFC 3030 §2: the transaction has failed; chunks still in the pipeline are
            // refused (and discarded) as out of sequence.
            actions.append(.messageRefused(envelope, .messageTooBig))
            abortTransaction(&actions)
            actions.append(.send(.messageTooBig))
        } else if outcome.last {
            mode = .waiting(.commit)
            actions.append(.commitMessage(envelope, size: outcome.messageSize))
        } else {
            actions.append(.send(.chunkReceived(outcome.chunkSize)))
        }
    }

    // MARK: AUTH (RFC 4954)

    private mutating func startSASL(
        _ name: String, _ initialResponse: SASLInitialResponse?, _ actions: inout [SMTPAction]
    ) {
        guard let mechanism = SASLMechanism(name), configuration.authMechanisms.contains(mechanism) else {
            return refuse(.unrecognizedMechanism, &actions)
        }
        // RFC 4954 §4 and DESIGN §5: no plaintext passwords without TLS unless allowed.
        guard configuration.usableMechanisms(tlsActive: tlsActive).contains(mechanism) else {
            return refuse(.encryptionRequired, &actions)
        }
        var exchange = SASLExchange(mechanism: mechanism)
        let step = exchange.start(initialResponse: initialResponse)
        perform(step, exchange, &actions)
    }

    /// Turns the exchange's next step into SMTP (RFC 4954 §4): a challenge is a 334 line, the
    /// back-end steps are actions, a failure is a refusal (`*` → 501 5.7.0, RFC 4954 §4).
    private mutating func perform(_ step: SASLAction, _ exchange: SASLExchange, _ actions: inout [SMTPAction]) {
        mode = .command
        switch step {
        case .challenge(let challenge):
            mode = .sasl(exchange)
            actions.append(.send(.saslChallenge(challenge)))
        case .issueChallenge(let mechanism):
            mode = .waiting(.saslBackend(exchange))
            actions.append(.issueChallenge(mechanism))
        case .relay(let message, let first):
            mode = .waiting(.saslBackend(exchange))
            actions.append(.relaySASL(exchange.mechanism, message, first: first))
        case .authenticate(let credentials):
            mode = .waiting(.authentication)
            actions.append(.authenticate(credentials))
        case .succeeded(let identity, _):
            authenticated(identity, &actions)
        case .failed(let error):
            refuse(Self.reply(for: error), &actions)
        }
    }

    /// One place for what each SASL failure is in SMTP.
    static func reply(for error: SASLError) -> SMTPReply {
        switch error.code {
        case .cancelled: .authenticationAborted
        case .lineTooLong: .authenticationLineTooLong
        // Proxy authentication is not offered: refused like wrong credentials (RFC 4616 §2).
        case .authorizationIdentityRefused: .authenticationFailed
        default: .malformedSASLResponse
        }
    }

    private mutating func authenticated(_ identity: String, _ actions: inout [SMTPAction]) {
        authenticatedIdentity = identity
        envelope.authenticatedIdentity = identity
        actions.append(.send(.authenticationSucceeded))
    }

    // MARK: Errors

    /// Sends a negative reply to a command and counts it; past `maximumErrors` the session
    /// says 421 and closes (like Postfix's smtpd_hard_error_limit).
    private mutating func refuse(_ reply: SMTPReply, _ actions: inout [SMTPAction]) {
        actions.append(.send(reply))
        errorCount += 1
        guard errorCount >= configuration.maximumErrors else { return }
        if messageOpen {
            actions.append(.abortMessage)
            messageOpen = false
        }
        actions.append(.send(.tooManyErrors(configuration.hostname)))
        actions.append(.close(.tooManyErrors))
        mode = .closed
    }
}
