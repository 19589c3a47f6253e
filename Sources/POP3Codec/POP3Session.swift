import NIOCore
import SASL

/// The RFC 1939 state a session is in, as callers and tests see it.
public enum POP3SessionState: Hashable, Sendable {
    /// Before `.opened`.
    case notOpened
    /// RFC 1939 §4, including STLS negotiation, USER-given and SASL exchanges.
    case authorization
    /// RFC 1939 §5.
    case transaction
    /// RFC 1939 §6: QUIT received, deletions being committed.
    case update
    /// `.close` has been returned; every later event is ignored.
    case closed
}

/// The POP3 server session as a value (STYLE §3): feed it events, perform the actions it returns
/// in order. It holds the maildrop snapshot and the deletion marks, counts failures and enforces
/// the limits; the gateway owns the connection, TLS, timers and the back-end.
///
/// While a back-end call is outstanding the session holds further client lines (RFC 2449 §6.6
/// PIPELINING) and answers them, in order, when the result arrives.
public struct POP3Session: Sendable {
    /// The command states of RFC 1939 that accept commands; UPDATE accepts none.
    enum CommandState: Hashable, Sendable {
        case authorization
        case authorizationUserGiven
        case transaction
    }

    /// Which commands each state accepts (STYLE §4). A known command outside its state gets
    /// `-ERR`, and the state does not change.
    static let validCommands: [CommandState: Set<POP3CommandKeyword>] = [
        // RFC 1939 §4, RFC 2449 §5 (CAPA in both states), RFC 2595 §4 (STLS only here).
        .authorization: [.user, .apop, .auth, .capa, .stls, .quit],
        // RFC 1939 §7: after USER, PASS; any other authentication command starts afresh.
        .authorizationUserGiven: [.user, .pass, .apop, .auth, .capa, .stls, .quit],
        // RFC 1939 §5, §7.
        .transaction: [.stat, .list, .retr, .dele, .noop, .rset, .top, .uidl, .capa, .quit],
    ]

    enum State: Sendable {
        case notOpened
        case authorization(AuthorizationPhase)
        /// STLS answered `+OK`; input is dropped until `.tlsEstablished` (RFC 2595 §4).
        case awaitingTLS
        case transaction(TransactionPhase)
        case update
        case closed
    }

    enum AuthorizationPhase: Sendable {
        case ready
        case userGiven(String)
        /// Waiting for the client's next SASL response line.
        case sasl(SASLExchange)
        /// Waiting for the gateway/back-end's next step of a mechanism it runs.
        case awaitingSASLServer(SASLExchange)
        case awaitingAuthentication
        case awaitingMaildrop
    }

    enum TransactionPhase: Sendable {
        case ready
        case fetching(POP3MessageEncoder, header: String, started: Bool)
    }

    var stateStorage: State = .notOpened
    var configuration = POP3SessionConfiguration()
    var maildrop = POP3Maildrop([])
    /// Client input that arrived while a back-end call was outstanding; nil marks an oversize line.
    var pipeline: [ByteBuffer?] = []
    var authenticationFailures = 0
    var commandsBeforeAuthentication = 0
    var invalidCommands = 0

    /// True once TLS protects the connection (implicit, or after STLS).
    public internal(set) var tlsActive = false

    public init() {}

    public var state: POP3SessionState {
        switch stateStorage {
        case .notOpened: .notOpened
        case .authorization, .awaitingTLS: .authorization
        case .transaction: .transaction
        case .update: .update
        case .closed: .closed
        }
    }

    /// The longest line the session accepts now, terminator included: the gateway sets
    /// `LineFramer.maximumLineLength` to it before framing each line.
    public var maximumLineLength: Int {
        if case .authorization(.sasl) = stateStorage {
            configuration.limits.saslLineLength
        } else {
            configuration.limits.commandLineLength
        }
    }

    /// True while the session waits for a back-end or TLS result; lines are held meanwhile.
    public var isAwaitingBackend: Bool {
        switch stateStorage {
        case .authorization(.awaitingSASLServer), .authorization(.awaitingAuthentication),
            .authorization(.awaitingMaildrop), .transaction(.fetching), .update:
            true
        case .notOpened, .authorization, .awaitingTLS, .transaction(.ready), .closed:
            false
        }
    }

    /// The message a client reading the maildrop in order asks for after message `number`: the
    /// next one not marked as deleted (RFC 1939 §5), or nil after the last. The gateway reads
    /// it ahead of the request; nothing the session answers depends on this.
    public func message(following number: Int) -> (number: Int, uid: String)? {
        guard case .transaction = stateStorage, let next = maildrop.nextLive(after: number) else { return nil }
        return (next.number, next.entry.uid)
    }

    private var isMidResponse: Bool {
        if case .transaction(.fetching(_, _, started: true)) = stateStorage { true } else { false }
    }

    var plaintextPermitted: Bool { tlsActive || configuration.plaintextAllowed }

    var permittedMechanisms: [SASLMechanism] {
        configuration.saslMechanisms.filter { !$0.isPlaintext || plaintextPermitted }
    }

    /// Handles one event and returns what the gateway must do, in order.
    public mutating func receive(_ event: POP3Event) -> [POP3Action] {
        var actions: [POP3Action] = []
        handle(event, into: &actions)
        while !pipeline.isEmpty, !isAwaitingBackend, isAcceptingLines {
            handleLine(pipeline.removeFirst(), into: &actions)
        }
        return actions
    }

    var isAcceptingLines: Bool {
        switch stateStorage {
        case .authorization, .transaction: true
        case .notOpened, .awaitingTLS, .update, .closed: false
        }
    }

    // MARK: - Events

    mutating func handle(_ event: POP3Event, into actions: inout [POP3Action]) {
        if case .closed = stateStorage {
            // A lock granted after the session ended must still be given back.
            if case .maildropLoaded = event { actions.append(.releaseMaildrop) }
            return
        }
        switch (event, stateStorage) {
        case (.opened(let configuration), .notOpened):
            self.configuration = configuration
            tlsActive = configuration.tlsActive
            stateStorage = .authorization(.ready)
            var greeting = configuration.greetingText
            if let timestamp = configuration.greetingTimestamp { greeting += " " + timestamp }
            actions.append(.send(.ok(greeting)))

        case (.line, .awaitingTLS), (.lineTooLong, .awaitingTLS):
            break  // RFC 2595 §4: nothing sent before the handshake may be read as a command.
        case (.line(let line), _):
            receiveLine(line, into: &actions)
        case (.lineTooLong, _):
            receiveLine(nil, into: &actions)

        case (.authSucceeded(let user, let saslFinal), .authorization(.awaitingSASLServer(var exchange)))
        where exchange.isAwaitingRelay:
            let final = saslFinal.map { Array($0.readableBytesView) }
            let step = exchange.relayed(.succeeded(identity: user, final: final))
            performSASL(step, exchange, into: &actions)
        case (.authSucceeded(let user, _), .authorization(.awaitingAuthentication)):
            beginMaildrop(user: user, into: &actions)
        case (.authFailed(let failure), .authorization(.awaitingAuthentication)),
            (.authFailed(let failure), .authorization(.awaitingSASLServer)):
            authenticationFailed(failure, into: &actions)
        case (.saslChallenge(let challenge), .authorization(.awaitingSASLServer(var exchange))):
            let step =
                exchange.isAwaitingChallenge
                ? exchange.challengeIssued(String(decoding: challenge.readableBytesView, as: UTF8.self))
                : exchange.relayed(.challenge(Array(challenge.readableBytesView)))
            performSASL(step, exchange, into: &actions)

        case (.maildropLoaded(let entries), .authorization(.awaitingMaildrop)):
            maildrop = POP3Maildrop(entries)
            stateStorage = .transaction(.ready)
            actions.append(.send(.ok("maildrop has \(maildrop.liveCount) messages (\(maildrop.liveSize) octets)")))
        case (.maildropInUse, .authorization(.awaitingMaildrop)):
            // RFC 1939 §8 and RFC 2449 §8.1.2; the server may close after the -ERR (RFC 1939 §4).
            actions.append(.send(.err("maildrop is locked by another session", code: .inUse)))
            close(into: &actions)
        case (.maildropFailed, .authorization(.awaitingMaildrop)):
            actions.append(.send(.err("unable to open maildrop", code: .systemTemporary)))
            close(into: &actions)

        case (.messageChunk(let chunk), .transaction(.fetching(var encoder, let header, let started))):
            if !started { actions.append(.send(.ok(header))) }
            var output = ByteBuffer()
            encoder.encode(chunk, into: &output)
            stateStorage = .transaction(.fetching(encoder, header: header, started: true))
            if output.readableBytes > 0 { actions.append(.write(output)) }
        case (.messageEnd, .transaction(.fetching(var encoder, let header, let started))):
            if !started { actions.append(.send(.ok(header))) }
            var output = ByteBuffer()
            encoder.finish(into: &output)
            stateStorage = .transaction(.ready)
            actions.append(.write(output))
        case (.messageFailed, .transaction(.fetching(_, _, let started))):
            if started {
                // Part of the body is out: a -ERR now would read as message content.
                actions.append(
                    .reportError(POP3SessionError(.messageFailedMidResponse, detail: "message fetch failed")))
                terminate(into: &actions)
            } else {
                stateStorage = .transaction(.ready)
                actions.append(.send(.err("unable to read message", code: .systemTemporary)))
            }

        case (.updateCommitted, .update):
            let left = maildrop.liveCount
            let text = left == 0 ? "maildrop empty" : "\(left) messages left"
            actions.append(.send(.ok("Loft POP3 server signing off (\(text))")))
            close(into: &actions)
        case (.updateFailed, .update):
            // RFC 1939 §6: "-ERR some deleted messages not removed".
            actions.append(.send(.err("some deleted messages not removed", code: .systemTemporary)))
            close(into: &actions)

        case (.tlsEstablished, .awaitingTLS):
            tlsActive = true
            stateStorage = .authorization(.ready)

        case (.timeout, _), (.peerClosed, _):
            // RFC 1939 §3: on autologout the session does NOT enter UPDATE and sends nothing.
            terminate(into: &actions)

        default:
            let detail = "\(Self.name(of: event)) in state \(state)"
            actions.append(.reportError(POP3SessionError(.unexpectedEvent, detail: detail)))
            // Mid-way through a multi-line body, a status line would read as message content.
            if !isMidResponse {
                actions.append(.send(.err("internal server error", code: .systemTemporary)))
            }
            terminate(into: &actions)
        }
    }

    /// Answers a line now, or holds it while a back-end call is outstanding.
    mutating func receiveLine(_ input: ByteBuffer?, into actions: inout [POP3Action]) {
        if isAwaitingBackend || !pipeline.isEmpty {
            guard pipeline.count < configuration.limits.pipelinedCommands else {
                terminate(into: &actions)
                return
            }
            pipeline.append(input)
        } else if isAcceptingLines {
            handleLine(input, into: &actions)
        } else {
            let detail = "line in state \(state)"
            actions.append(.reportError(POP3SessionError(.unexpectedEvent, detail: detail)))
            terminate(into: &actions)
        }
    }

    static func name(of event: POP3Event) -> String {
        switch event {
        case .opened: "opened"
        case .line: "line"
        case .lineTooLong: "lineTooLong"
        case .authSucceeded: "authSucceeded"
        case .authFailed: "authFailed"
        case .saslChallenge: "saslChallenge"
        case .maildropLoaded: "maildropLoaded"
        case .maildropInUse: "maildropInUse"
        case .maildropFailed: "maildropFailed"
        case .messageChunk: "messageChunk"
        case .messageEnd: "messageEnd"
        case .messageFailed: "messageFailed"
        case .updateCommitted: "updateCommitted"
        case .updateFailed: "updateFailed"
        case .tlsEstablished: "tlsEstablished"
        case .timeout: "timeout"
        case .peerClosed: "peerClosed"
        }
    }

    /// Ends the session without UPDATE: the lock goes back, marks are forgotten (RFC 1939 §3).
    mutating func terminate(into actions: inout [POP3Action]) {
        if case .transaction = stateStorage { actions.append(.releaseMaildrop) }
        close(into: &actions)
    }

    mutating func close(into actions: inout [POP3Action]) {
        stateStorage = .closed
        pipeline.removeAll()
        actions.append(.close)
    }
}
