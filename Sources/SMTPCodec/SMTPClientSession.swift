import MailCore
import NIOCore

/// The client side of an SMTP connection (RFC 5321 §3, §4.1) as a value that returns actions:
/// greeting, EHLO (or HELO), STARTTLS by policy, then any number of mail transactions, then
/// QUIT. The driver reports events with `receive(_:)`, asks for work with `deliver(_:)` and
/// `quit()`, and arms `currentTimeout`.
///
/// Every recipient of an envelope gets exactly one outcome, in one `.recipientOutcomes`
/// action: accepted recipients take the reply to the data, refused ones keep their RCPT reply,
/// and any still open when the connection breaks (timeout, close, garbled reply, 421) are
/// deferred.
public struct SMTPClientSession: Sendable {
    private enum State: Sendable {
        case notConnected
        case greeting
        case hello(extended: Bool)
        case startTLS
        case tlsHandshake
        case auth
        case ready
        case transaction(Transaction)
        case reset
        case quit
        case closed
    }

    /// A reply the session is waiting for, in the order the commands went out.
    private enum Expected: Sendable, Hashable {
        case mail
        case rcpt(Int)
        case data
    }

    private struct Transaction: Sendable {
        enum Phase: Sendable, Hashable {
            /// MAIL, RCPT, DATA and their replies.
            case commands
            /// The driver is writing the dot-stuffed body.
            case sendingData
            /// Waiting for the reply after the dot. `discard`: the dot ended a DATA a server
            /// accepted with no valid recipients (RFC 2920 §3.1), so the reply decides nothing.
            case awaitingDataEnd(discard: Bool)
            /// BDAT chunks (RFC 3030 §2).
            case sendingChunks
        }

        var envelope: OutboundEnvelope
        var mode: SMTPClientBodyMode
        var pipelined: Bool
        var phase = Phase.commands
        var expected: [Expected] = []
        var mailReply: SMTPReply?
        var recipientReplies: [SMTPReply?]
        /// The reply that decides the accepted recipients: to DATA, to the dot, or to a BDAT.
        var finalReply: SMTPReply?
        var chunksAwaitingReply = 0
        var lastChunkSent = false
        var chunkFailure: SMTPReply?

        init(envelope: OutboundEnvelope, mode: SMTPClientBodyMode, pipelined: Bool) {
            self.envelope = envelope
            self.mode = mode
            self.pipelined = pipelined
            self.recipientReplies = Array(repeating: nil, count: envelope.recipients.count)
        }

        var mailAccepted: Bool { mailReply?.isPositiveCompletion == true }
        var acceptedCount: Int { recipientReplies.count(where: { $0?.isPositiveCompletion == true }) }
    }

    public let configuration: SMTPClientSessionConfiguration
    private var state = State.notConnected
    private var inbound = ByteBuffer()
    /// Octets in `inbound` after its last LF.
    private var unfinishedLine = 0
    /// The server's 220 greeting.
    public private(set) var greeting: SMTPReply?
    /// What the last EHLO said (empty after HELO, and forgotten at STARTTLS, RFC 3207 §4.2).
    public private(set) var capabilities = SMTPServerCapabilities()
    public private(set) var tlsActive = false
    /// Why the session stopped, once it has.
    public private(set) var failure: SMTPClientFailure?

    public init(configuration: SMTPClientSessionConfiguration) {
        self.configuration = configuration
    }

    /// Idle, with a clean state: `deliver` may be called.
    public var isReady: Bool {
        if case .ready = state { return true }
        return false
    }

    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// The timeout to arm now; nil when idle or closed (RFC 5321 §4.5.3.2).
    public var currentTimeout: SMTPClientDeadline? {
        let t = configuration.timeouts
        switch state {
        case .notConnected, .ready, .closed: return nil
        case .greeting: return SMTPClientDeadline(phase: .greeting, duration: t.greeting)
        case .hello: return SMTPClientDeadline(phase: .hello, duration: t.command)
        case .startTLS: return SMTPClientDeadline(phase: .startTLS, duration: t.command)
        case .tlsHandshake: return SMTPClientDeadline(phase: .tlsHandshake, duration: t.command)
        case .auth: return SMTPClientDeadline(phase: .auth, duration: t.command)
        case .reset: return SMTPClientDeadline(phase: .reset, duration: t.command)
        case .quit: return SMTPClientDeadline(phase: .quit, duration: t.command)
        case .transaction(let tx):
            switch tx.phase {
            case .commands:
                switch tx.expected.first {
                case .mail, nil: return SMTPClientDeadline(phase: .mail, duration: t.mail)
                case .rcpt: return SMTPClientDeadline(phase: .rcpt, duration: t.rcpt)
                case .data: return SMTPClientDeadline(phase: .dataInitiation, duration: t.dataInitiation)
                }
            case .sendingData: return SMTPClientDeadline(phase: .dataBlock, duration: t.dataBlock)
            case .awaitingDataEnd: return SMTPClientDeadline(phase: .dataTermination, duration: t.dataTermination)
            case .sendingChunks:
                return tx.lastChunkSent
                    ? SMTPClientDeadline(phase: .dataTermination, duration: t.dataTermination)
                    : SMTPClientDeadline(phase: .dataBlock, duration: t.dataBlock)
            }
        }
    }

    // MARK: - Events

    public mutating func receive(_ event: SMTPClientEvent) -> [SMTPClientAction] {
        // Once closed, the driver's late reports (a body written, a timer) change nothing.
        if isClosed { return [] }
        switch event {
        case .connected:
            guard case .notConnected = state else { return protocolError("connected twice") }
            state = .greeting
            return []
        case .received(var bytes):
            return received(&bytes)
        case .reply(let reply):
            return handle(reply)
        case .tlsEstablished:
            guard case .tlsHandshake = state else { return protocolError("TLS established without STARTTLS") }
            // RFC 3207 §4.2: discard what the server said before TLS and ask again.
            tlsActive = true
            capabilities = SMTPServerCapabilities()
            state = .hello(extended: true)
            return [.send(command("EHLO \(configuration.heloName)"))]
        case .tlsFailed(let reason):
            guard case .tlsHandshake = state else { return protocolError("TLS failed without STARTTLS") }
            let text = reason.isEmpty ? "TLS handshake failed" : "TLS handshake failed: \(reason)"
            let failure = SMTPClientFailure(.tlsFailed, reply: SMTPReply(454, .init(4, 7, 0), text), fromServer: false)
            if configuration.tls == .opportunistic { return fail(failure, quit: false) + [.reconnectWithoutTLS] }
            return fail(failure, quit: false)
        case .bodySent:
            guard case .transaction(var tx) = state, tx.phase == .sendingData else { return protocolError("body sent out of turn") }
            tx.phase = .awaitingDataEnd(discard: false)
            state = .transaction(tx)
            return []
        case .bodyFailed:
            return interrupt(
                SMTPClientFailure(
                    .messageUnavailable, reply: SMTPReply(451, .init(4, 3, 0), "Could not read the message"), fromServer: false))
        case .timeout:
            switch state {
            case .notConnected, .ready, .closed:
                state = .closed
                return [.close]
            default:
                let phase = currentTimeout?.phase.rawValue ?? "a reply"
                return interrupt(
                    SMTPClientFailure(.timeout, reply: SMTPReply(451, .init(4, 4, 2), "Timeout waiting for \(phase)"), fromServer: false))
            }
        case .connectionClosed:
            switch state {
            case .closed: return []
            case .quit:
                state = .closed
                return [.close]
            default:
                return interrupt(
                    SMTPClientFailure(
                        .connectionClosed, reply: SMTPReply(451, .init(4, 4, 2), "Connection closed by the server"), fromServer: false))
            }
        }
    }

    /// Frames replies out of `bytes` and handles them in order.
    private mutating func received(_ bytes: inout ByteBuffer) -> [SMTPClientAction] {
        switch state {
        case .tlsHandshake, .closed, .notConnected: return []
        default: break
        }
        // `SMTPReply.parse` reads the reply from its start each time; a server that drips
        // its reply an octet at a time would make that quadratic. Without a new LF no reply
        // can have ended, so parse only then, or when the unfinished line or the reply has
        // reached a limit (which parse reports).
        let lastLF = bytes.readableBytesView.lastIndex(of: UInt8(ascii: "\n"))
        if let lastLF {
            unfinishedLine = bytes.writerIndex - lastLF - 1
        } else {
            unfinishedLine += bytes.readableBytes
        }
        inbound.writeBuffer(&bytes)
        let limits = configuration.replyLimits
        if lastLF == nil, unfinishedLine < limits.lineLength, inbound.readableBytes < limits.replyBytes { return [] }
        var actions: [SMTPClientAction] = []
        while true {
            let reply: SMTPReply?
            do {
                reply = try SMTPReply.parse(from: &inbound, limits: configuration.replyLimits)
            } catch {
                clearInbound()
                return actions + protocolError("\(error.code): \(error.line.prefix(80))")
            }
            guard let reply else { break }
            actions += handle(reply)
            switch state {
            case .tlsHandshake, .closed:
                // RFC 3207 §5: nothing the server sent before the handshake may be read as
                // if it came over TLS (the response-injection attack on the client side).
                clearInbound()
                return actions
            default: continue
            }
        }
        inbound.discardReadBytes()
        return actions
    }

    // MARK: - Replies

    private mutating func handle(_ reply: SMTPReply) -> [SMTPClientAction] {
        // RFC 5321 §3.8: 421 may answer any command; the server is closing.
        if reply.code == 421, !isQuitting {
            return interrupt(SMTPClientFailure(.serviceUnavailable, reply: reply, fromServer: true))
        }
        switch state {
        case .notConnected, .ready, .closed, .tlsHandshake:
            return protocolError("unexpected reply \(reply.code)")
        case .greeting:
            // RFC 5321 §3.1: a 554 greeting (or anything but 220) means no service here. The
            // recipients are deferred, not failed, so that the next MX gets its turn.
            guard reply.code == 220 else {
                return fail(SMTPClientFailure(.serviceUnavailable, reply: reply, fromServer: true), quit: true)
            }
            greeting = reply
            state = .hello(extended: true)
            return [.send(command("EHLO \(configuration.heloName)"))]
        case .hello(let extended):
            if reply.isPositiveCompletion {
                capabilities = extended ? SMTPServerCapabilities(ehloReply: reply) : SMTPServerCapabilities()
                return afterHello()
            }
            // RFC 5321 §3.2: a server that does not know EHLO says "command not recognized";
            // the client falls back to HELO.
            if extended, reply.code == 500 || reply.code == 502 {
                state = .hello(extended: false)
                return [.send(command("HELO \(configuration.heloName)"))]
            }
            return fail(SMTPClientFailure(.serviceUnavailable, reply: reply, fromServer: true), quit: true)
        case .startTLS:
            if reply.code == 220 {
                state = .tlsHandshake
                return [.startTLS]
            }
            // RFC 3207 §4: 454 (or 501) refuses TLS; the session goes on in plain text only
            // when the policy allows it.
            guard configuration.tls == .required else {
                state = .ready
                return [.ready]
            }
            return fail(
                SMTPClientFailure(
                    .tlsUnavailable,
                    reply: SMTPReply(
                        454, .init(4, 7, 0), "TLS required but STARTTLS refused: \(Self.quoted(reply))"),
                    fromServer: false), quit: true)
        case .auth:
            // RFC 4954 §6: 235 logged in. Anything else leaves the mail waiting (4.7.0), not
            // failed: wrong credentials are the administrator's to fix, not the sender's.
            guard reply.code == 235 else {
                let why = Self.quoted(reply)
                return fail(
                    SMTPClientFailure(
                        .authFailed, reply: SMTPReply(454, .init(4, 7, 0), "authentication refused: \(why)"), fromServer: false),
                    quit: true)
            }
            state = .ready
            return [.ready]
        case .reset:
            guard reply.isPositiveCompletion else { return fail(protocolFailure("RSET refused with \(reply.code)"), quit: true) }
            state = .ready
            return [.ready]
        case .quit:
            state = .closed
            return [.close]
        case .transaction(var tx):
            let actions = handle(reply, in: &tx)
            if case .transaction = state { state = .transaction(tx) }
            return actions
        }
    }

    /// A server's reply as a failure's text quotes it: code, enhanced code, lines.
    static func quoted(_ reply: SMTPReply) -> String {
        ([String(reply.code)] + (reply.enhancedCode.map { [$0.description] } ?? []) + reply.lines).joined(separator: " ")
    }

    private var isQuitting: Bool {
        if case .quit = state { return true }
        return false
    }

    private mutating func afterHello() -> [SMTPClientAction] {
        if !tlsActive, configuration.tls != .none, capabilities.startTLS {
            state = .startTLS
            return [.send(command("STARTTLS"))]
        }
        if !tlsActive, configuration.tls == .required {
            return fail(
                SMTPClientFailure(
                    .tlsUnavailable, reply: SMTPReply(454, .init(4, 7, 0), "TLS required but STARTTLS not offered"), fromServer: false),
                quit: true)
        }
        if let credentials = configuration.credentials {
            // RFC 4954 §4: never a password in the clear.
            guard tlsActive else {
                return fail(
                    SMTPClientFailure(
                        .tlsUnavailable, reply: SMTPReply(454, .init(4, 7, 0), "credentials are sent only under TLS"), fromServer: false),
                    quit: true)
            }
            guard capabilities.authMechanisms.contains("PLAIN") else {
                return fail(
                    SMTPClientFailure(
                        .authFailed, reply: SMTPReply(454, .init(4, 7, 0), "the server offers no AUTH PLAIN"), fromServer: false),
                    quit: true)
            }
            state = .auth
            // RFC 4616 §2: authzid NUL authcid NUL passwd, sent as RFC 4954's initial response.
            let message = [0] + Array(credentials.username.utf8) + [0] + Array(credentials.password.utf8)
            return [.send(command("AUTH PLAIN \(Base64.encode(message))"))]
        }
        state = .ready
        return [.ready]
    }

    /// One reply within a transaction. `state` is `.transaction(tx)` on entry; the caller
    /// stores `tx` back unless this moved the session elsewhere.
    private mutating func handle(_ reply: SMTPReply, in tx: inout Transaction) -> [SMTPClientAction] {
        switch tx.phase {
        case .sendingData:
            return protocolError("reply \(reply.code) while the body was being sent")
        case .awaitingDataEnd(let discard):
            if discard {
                // The reply to an empty message nobody receives; the transaction is over.
                return conclude(tx, reset: true)
            }
            guard reply.code >= 200, reply.code < 600, reply.code / 100 != 3 else {
                return protocolError("reply \(reply.code) to the end of data")
            }
            tx.finalReply = reply
            // RFC 5321 §4.1.1.4: the end of data ends the transaction whatever the reply.
            return conclude(tx, reset: false)
        case .sendingChunks:
            guard tx.chunksAwaitingReply > 0, reply.code / 100 != 3 else {
                return protocolError("unexpected reply \(reply.code) to BDAT")
            }
            tx.chunksAwaitingReply -= 1
            if reply.isNegative {
                // RFC 3030 §2: a failed chunk fails the transaction; send no more.
                if tx.chunkFailure == nil { tx.chunkFailure = reply }
            } else if tx.lastChunkSent, tx.chunksAwaitingReply == 0, tx.chunkFailure == nil {
                tx.finalReply = reply
                return conclude(tx, reset: false)
            }
            if let failure = tx.chunkFailure, tx.chunksAwaitingReply == 0 {
                tx.finalReply = failure
                return conclude(tx, reset: true)
            }
            return []
        case .commands:
            guard let expected = tx.expected.first else { return protocolError("unexpected reply \(reply.code)") }
            tx.expected.removeFirst()
            switch expected {
            case .mail:
                guard reply.code / 100 != 3 else { return protocolError("reply \(reply.code) to MAIL") }
                tx.mailReply = reply
                if tx.pipelined { return [] }
                guard reply.isPositiveCompletion else { return conclude(tx, reset: false) }
                tx.expected = [.rcpt(0)]
                return [.send(rcptCommand(tx.envelope.recipients[0]))]
            case .rcpt(let index):
                guard reply.code / 100 != 3 else { return protocolError("reply \(reply.code) to RCPT") }
                // After a refused MAIL the replies to pipelined RCPTs say nothing about them.
                if tx.mailAccepted { tx.recipientReplies[index] = reply }
                if index + 1 < tx.envelope.recipients.count {
                    if tx.pipelined { return [] }
                    tx.expected = [.rcpt(index + 1)]
                    return [.send(rcptCommand(tx.envelope.recipients[index + 1]))]
                }
                if tx.pipelined, tx.mode == .data { return [] }
                return afterRecipients(&tx)
            case .data:
                if reply.code == 354 {
                    if tx.mailAccepted, tx.acceptedCount > 0 {
                        tx.phase = .sendingData
                        return [.sendBody(.data)]
                    }
                    // RFC 2920 §3.1: DATA accepted with no valid recipient: send a single dot.
                    tx.phase = .awaitingDataEnd(discard: true)
                    return [.send(command("."))]
                }
                guard reply.isNegative else { return protocolError("reply \(reply.code) to DATA") }
                if tx.mailAccepted, tx.acceptedCount > 0 { tx.finalReply = reply }
                return conclude(tx, reset: true)
            }
        }
    }

    /// Every RCPT has its reply: go on to the body, or end the transaction.
    private mutating func afterRecipients(_ tx: inout Transaction) -> [SMTPClientAction] {
        guard tx.mailAccepted, tx.acceptedCount > 0 else { return conclude(tx, reset: true) }
        switch tx.mode {
        case .data:
            tx.expected = [.data]
            return [.send(command("DATA"))]
        case .bdat:
            tx.phase = .sendingChunks
            return [.sendBody(.bdat)]
        }
    }

    // MARK: - Requests

    /// Starts a transaction for `envelope`. Requirements the server cannot meet fail every
    /// recipient at once, without a command sent; a session that is not ready defers them.
    public mutating func deliver(_ envelope: OutboundEnvelope) -> [SMTPClientAction] {
        guard case .ready = state else {
            let failure =
                self.failure
                ?? (isClosed
                    ? SMTPClientFailure(.connectionClosed, reply: SMTPReply(451, .init(4, 4, 2), "Connection closed"), fromServer: false)
                    : protocolFailure("deliver while the session is busy"))
            return [.recipientOutcomes(envelope.recipients.map { outcome($0, .deferred, failure.reply, fromServer: failure.fromServer) })]
        }
        if let refusal = refusal(of: envelope) {
            return [.recipientOutcomes(envelope.recipients.map { outcome($0, .failed, refusal, fromServer: false) }), .ready]
        }
        guard !envelope.recipients.isEmpty else { return [.recipientOutcomes([]), .ready] }
        let pipelined = capabilities.extensions.contains(.pipelining)
        var tx = Transaction(envelope: envelope, mode: envelope.body == .binaryMIME ? .bdat : .data, pipelined: pipelined)
        var bytes = mailCommand(envelope)
        if pipelined {
            // RFC 2920 §3.1: MAIL, every RCPT and DATA in one group; replies read in order.
            tx.expected = [.mail]
            for (index, recipient) in envelope.recipients.enumerated() {
                var rcpt = rcptCommand(recipient)
                bytes.writeBuffer(&rcpt)
                tx.expected.append(.rcpt(index))
            }
            if tx.mode == .data {
                bytes.writeStaticString("DATA\r\n")
                tx.expected.append(.data)
            }
        } else {
            tx.expected = [.mail]
        }
        state = .transaction(tx)
        return [.send(bytes)]
    }

    /// Why this server cannot take `envelope` at all, as the reply its recipients get.
    private func refusal(of envelope: OutboundEnvelope) -> SMTPReply? {
        let offered = capabilities.extensions
        // RFC 6531 §3.2: without SMTPUTF8 such a message cannot be relayed here.
        if envelope.needsSMTPUTF8, !offered.contains(.smtpUTF8) {
            return SMTPReply(553, .init(5, 6, 7), "The message needs SMTPUTF8, which the server does not offer")
        }
        // RFC 3030 §3: BINARYMIME only with BDAT; there is no downgrade for binary content.
        if envelope.body == .binaryMIME, !offered.isSuperset(of: [.chunking, .binaryMIME]) {
            return SMTPReply(554, .init(5, 6, 3), "The message is binary; the server does not offer BINARYMIME and CHUNKING")
        }
        // RFC 1870 §6: a message larger than the declared maximum is not sent.
        if let maximum = capabilities.maximumSize, envelope.size > maximum {
            return SMTPReply(552, .init(5, 3, 4), "The message is \(envelope.size) octets; the server takes at most \(maximum)")
        }
        return nil
    }

    /// Sends QUIT when idle; closes at once otherwise.
    public mutating func quit() -> [SMTPClientAction] {
        switch state {
        case .closed: return []
        case .ready:
            state = .quit
            return [.send(command("QUIT"))]
        default:
            state = .closed
            return [.close]
        }
    }

    /// While `.sendBody(.bdat)` runs: more chunks may be sent.
    public var wantsChunks: Bool {
        guard case .transaction(let tx) = state, tx.phase == .sendingChunks else { return false }
        return !tx.lastChunkSent && tx.chunkFailure == nil
    }

    /// A chunk may be written now without passing the number allowed in flight
    /// (RFC 3030 §4.2: several only with PIPELINING).
    public var mayWriteChunk: Bool {
        guard wantsChunks, case .transaction(let tx) = state else { return false }
        let window = tx.pipelined ? configuration.chunksInFlight : 1
        return tx.chunksAwaitingReply < window
    }

    // RFC 3030 §2:
    //   bdat-cmd   ::= "BDAT" SP chunk-size [ SP end-marker ] CRLF
    //   chunk-size ::= 1*DIGIT
    //   end-marker ::= "LAST"
    /// The BDAT command for the next chunk of `size` octets; the driver writes the chunk right
    /// after it. Returns nothing when no chunk may be sent (see `wantsChunks`).
    public mutating func sendChunk(size: Int, last: Bool) -> [SMTPClientAction] {
        guard wantsChunks, case .transaction(var tx) = state else { return [] }
        tx.chunksAwaitingReply += 1
        tx.lastChunkSent = last
        state = .transaction(tx)
        return [.send(command(last ? "BDAT \(size) LAST" : "BDAT \(size)"))]
    }

    // MARK: - Ending

    /// Outcomes for every recipient; then RSET when the transaction may still be open on the
    /// server (it did not reach the end of data), or ready.
    private mutating func conclude(_ tx: Transaction, reset: Bool) -> [SMTPClientAction] {
        let outcomes = outcomes(tx, interruption: nil)
        if reset {
            state = .reset
            return [.recipientOutcomes(outcomes), .send(command("RSET"))]
        }
        state = .ready
        return [.recipientOutcomes(outcomes), .ready]
    }

    private func outcomes(_ tx: Transaction, interruption: SMTPClientFailure?) -> [SMTPRecipientOutcome] {
        tx.envelope.recipients.enumerated().map { index, recipient in
            if let mail = tx.mailReply, mail.isNegative { return outcome(recipient, mail) }
            if let reply = tx.recipientReplies[index], reply.isNegative { return outcome(recipient, reply) }
            if tx.recipientReplies[index] != nil, let final = tx.finalReply { return outcome(recipient, final) }
            let failure = interruption ?? protocolFailure("transaction ended without a reply")
            var made = outcome(recipient, .deferred, failure.reply, fromServer: failure.fromServer)
            if case .awaitingDataEnd = tx.phase, tx.recipientReplies[index] != nil { made.uncertain = true }
            return made
        }
    }

    private mutating func clearInbound() {
        inbound.clear()
        unfinishedLine = 0
    }

    private func outcome(_ recipient: OutboundRecipient, _ reply: SMTPReply) -> SMTPRecipientOutcome {
        let status: DeliveryStatus = reply.isPositiveCompletion ? .delivered : reply.code < 500 ? .deferred : .failed
        return outcome(recipient, status, reply, fromServer: true)
    }

    private func outcome(
        _ recipient: OutboundRecipient, _ status: DeliveryStatus, _ reply: SMTPReply, fromServer: Bool
    ) -> SMTPRecipientOutcome {
        SMTPRecipientOutcome(
            recipient: recipient.address, status: status, reply: reply, fromServer: fromServer,
            dsnPassedOn: capabilities.extensions.contains(.dsn))
    }

    /// The connection breaks: open recipients deferred, then close.
    private mutating func interrupt(_ failure: SMTPClientFailure) -> [SMTPClientAction] {
        var actions: [SMTPClientAction] = []
        if case .transaction(let tx) = state {
            actions.append(.recipientOutcomes(outcomes(tx, interruption: failure)))
        }
        return actions + fail(failure, quit: false)
    }

    private mutating func fail(_ failure: SMTPClientFailure, quit: Bool) -> [SMTPClientAction] {
        self.failure = failure
        state = .closed
        clearInbound()
        // RFC 5321 §3.1: after a refusal the client should still say QUIT; it does not wait.
        return quit ? [.failed(failure), .send(command("QUIT")), .close] : [.failed(failure), .close]
    }

    private mutating func protocolError(_ text: String) -> [SMTPClientAction] {
        interrupt(protocolFailure(text))
    }

    private func protocolFailure(_ text: String) -> SMTPClientFailure {
        SMTPClientFailure(.protocolError, reply: SMTPReply(451, .init(4, 5, 0), "Protocol error: \(text)"), fromServer: false)
    }

    // MARK: - Commands

    private func command(_ line: String) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeString(line)
        buffer.writeStaticString("\r\n")
        return buffer
    }

    // RFC 5321 §4.1.1.2:  mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
    /// MAIL with the parameters this server offers: SIZE (RFC 1870 §6), BODY (RFC 6152 §2,
    /// RFC 3030 §3), SMTPUTF8 (RFC 6531 §3.4), RET and ENVID (RFC 3461 §4.3, §4.4).
    private func mailCommand(_ envelope: OutboundEnvelope) -> ByteBuffer {
        let offered = capabilities.extensions
        var line = "MAIL FROM:\(envelope.sender)"
        if offered.contains(.size) { line += " SIZE=\(envelope.size)" }
        switch envelope.body {
        case .sevenBit: break
        case .eightBitMIME:
            // RFC 6152 §3 would have us downgrade or bounce 8-bit data for a server without
            // 8BITMIME. Like Postfix by default, the client sends it as it is, without BODY=:
            // such servers take 8-bit octets in practice, and bouncing would lose mail.
            if offered.contains(.eightBitMIME) { line += " BODY=8BITMIME" }
        case .binaryMIME: line += " BODY=BINARYMIME"
        }
        if envelope.needsSMTPUTF8 { line += " SMTPUTF8" }
        if offered.contains(.dsn) {
            if let ret = envelope.ret { line += " RET=\(ret.rawValue)" }
            if let envelopeID = envelope.envelopeID { line += " ENVID=\(Self.xtext(envelopeID))" }
        }
        return command(line)
    }

    // RFC 5321 §4.1.1.3:  rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
    //                            Forward-path ) [SP Rcpt-parameters] CRLF
    /// RCPT with NOTIFY and ORCPT (RFC 3461 §4.1, §4.2) when the server offers DSN.
    private func rcptCommand(_ recipient: OutboundRecipient) -> ByteBuffer {
        var line = "RCPT TO:<\(recipient.address)>"
        if capabilities.extensions.contains(.dsn) {
            switch recipient.notify {
            case nil: break
            case .never: line += " NOTIFY=NEVER"
            case .on(let conditions):
                let names = DSNNotify.Condition.allCases.filter(conditions.contains).map(\.rawValue)
                if !names.isEmpty { line += " NOTIFY=" + names.joined(separator: ",") }
            }
            if let original = recipient.originalRecipient {
                line += " ORCPT=\(original.addressType);\(Self.xtext(original.address))"
            }
        }
        return command(line)
    }

    // RFC 3461 §4:
    //   xtext   = *( xchar / hexchar )
    //   xchar   = any ASCII CHAR between "!" (33) and "~" (126) inclusive, except for "+" and "=".
    //   hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
    /// `text` as xtext: UTF-8 octets outside `xchar` as `+XX`.
    public static func xtext(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            if (33...126).contains(byte), byte != UInt8(ascii: "+"), byte != UInt8(ascii: "=") {
                output.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                output += "+" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return output
    }
}
