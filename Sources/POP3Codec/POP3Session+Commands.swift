import NIOCore
import SASL

extension POP3Session {
    /// Answers one client line: a SASL response during an exchange, a command otherwise.
    /// `nil` stands for a line the framer reported as too long.
    mutating func handleLine(_ input: ByteBuffer?, into actions: inout [POP3Action]) {
        if case .authorization(.sasl(var exchange)) = stateStorage {
            guard let input, input.readableBytes + 2 <= configuration.limits.saslLineLength else {
                performSASL(.failed(SASLError(.lineTooLong)), exchange, into: &actions)
                return
            }
            let step = exchange.receive(line: input.readableBytesView)
            performSASL(step, exchange, into: &actions)
            return
        }
        let commandState: CommandState
        var userGiven: String?
        switch stateStorage {
        case .authorization(.ready): commandState = .authorization
        case .authorization(.userGiven(let user)):
            commandState = .authorizationUserGiven
            userGiven = user
        case .transaction(.ready): commandState = .transaction
        default: return  // unreachable: receive(_:) only hands lines over in the states above
        }

        if commandState != .transaction {
            commandsBeforeAuthentication += 1
            guard commandsBeforeAuthentication <= configuration.limits.commandsBeforeAuthentication else {
                actions.append(.send(.err("too many commands before authentication")))
                close(into: &actions)
                return
            }
        }
        let command: POP3Command
        do throws(POP3SyntaxError) {
            guard let input else { throw POP3SyntaxError(.lineTooLong) }
            command = try POP3Command.parse(input, maximumLineLength: configuration.limits.commandLineLength)
        } catch {
            invalidCommand(error, into: &actions)
            return
        }
        guard Self.validCommands[commandState, default: []].contains(command.keyword) else {
            actions.append(.send(.err("\(command.keyword.rawValue) not valid in this state")))
            return
        }
        switch command {
        case .user, .pass, .apop, .auth, .stls:
            handleAuthorization(command, userGiven: userGiven, into: &actions)
        case .capa:
            actions.append(.send(.multiLine("Capability list follows", lines: capabilities)))
        case .quit where commandState != .transaction:
            // RFC 1939 §4: QUIT in AUTHORIZATION ends the session without UPDATE.
            actions.append(.send(.ok("Loft POP3 server signing off")))
            close(into: &actions)
        default:
            handleTransaction(command, into: &actions)
        }
    }

    private mutating func invalidCommand(_ error: POP3SyntaxError, into actions: inout [POP3Action]) {
        invalidCommands += 1
        if invalidCommands >= configuration.limits.invalidCommands {
            actions.append(.send(.err("too many invalid commands")))
            terminate(into: &actions)
        } else {
            actions.append(.send(.err(error.description)))
        }
    }

    // MARK: - AUTHORIZATION (RFC 1939 §4, §7; RFC 2595 §4; RFC 5034 §4)

    private mutating func handleAuthorization(
        _ command: POP3Command, userGiven: String?, into actions: inout [POP3Action]
    ) {
        switch command {
        case .user(let name):
            guard plaintextPermitted else {
                actions.append(.send(Self.plaintextRefused))
                return
            }
            stateStorage = .authorization(.userGiven(name))
            actions.append(.send(.ok("send PASS")))
        case .pass(let password):
            guard let userGiven, plaintextPermitted else {
                actions.append(.send(.err("USER first")))
                return
            }
            stateStorage = .authorization(.awaitingAuthentication)
            actions.append(.authenticate(.password(user: userGiven, password: password, authorizationIdentity: nil)))
        case .apop(let name, let digest):
            stateStorage = .authorization(.ready)
            guard let timestamp = configuration.greetingTimestamp else {
                actions.append(.send(.err("APOP not available")))
                return
            }
            stateStorage = .authorization(.awaitingAuthentication)
            actions.append(.authenticate(.apop(user: name, timestamp: timestamp, digest: digest)))
        case .auth(nil, _):
            // RFC 1734 clients send a bare AUTH to list the mechanisms.
            let names = permittedMechanisms.map(\.name)
            actions.append(.send(.multiLine("Supported SASL mechanisms follow", lines: names)))
        case .auth(let mechanism?, let initialResponse):
            stateStorage = .authorization(.ready)
            startSASL(mechanism, initialResponse: initialResponse, into: &actions)
        case .stls:
            // RFC 2595 §4: "A -ERR response MAY result if a security layer is already active."
            guard !tlsActive else {
                actions.append(.send(.err("command not permitted when TLS active")))
                return
            }
            guard configuration.stlsAvailable else {
                actions.append(.send(.err("STLS not available")))
                return
            }
            stateStorage = .awaitingTLS
            pipeline.removeAll()
            actions.append(.send(.ok("Begin TLS negotiation")))
            actions.append(.startTLS)
        default:
            break
        }
    }

    /// RFC 2595 §2.2 and RFC 3206 §5: authenticating against policy is an [AUTH] problem.
    static let plaintextRefused = POP3Response.err(
        "plaintext authentication disallowed without TLS, use STLS", code: .authentication)

    mutating func beginMaildrop(user: String, into actions: inout [POP3Action]) {
        stateStorage = .authorization(.awaitingMaildrop)
        actions.append(.acquireMaildrop(user: user))
    }

    mutating func authenticationFailed(_ failure: POP3AuthFailure, into actions: inout [POP3Action]) {
        stateStorage = .authorization(.ready)
        let response: POP3Response
        switch failure {
        case .temporaryFailure:
            actions.append(.send(.err("authentication temporarily unavailable", code: .systemTemporary)))
            return
        case .invalidCredentials:
            response = .err("authentication failed", code: .authentication)
        case .throttled(let seconds?):
            response = .err("too many failed logins, try again in \(seconds) seconds", code: .loginDelay)
        case .throttled(nil):
            response = .err("too many failed logins, try again later", code: .loginDelay)
        }
        authenticationFailures += 1
        actions.append(.send(response))
        if authenticationFailures >= configuration.limits.authenticationFailures {
            close(into: &actions)
        }
    }

    /// RFC 2449 §5, §6; RFC 3206 §6 (AUTH-RESP-CODE); RFC 2595 §4 (STLS). SASL, USER and STLS are
    /// announced only where they can be used: in AUTHORIZATION, and USER and plaintext mechanisms
    /// only when plaintext is permitted.
    var capabilities: [String] {
        let inAuthorization = state == .authorization
        var lines = ["TOP", "UIDL"]
        if inAuthorization {
            if plaintextPermitted { lines.append("USER") }
            let mechanisms = permittedMechanisms
            if !mechanisms.isEmpty { lines.append("SASL " + mechanisms.map(\.name).joined(separator: " ")) }
        }
        lines += ["RESP-CODES", "AUTH-RESP-CODE", "PIPELINING"]
        if inAuthorization, configuration.stlsAvailable, !tlsActive { lines.append("STLS") }
        if let expire = configuration.expire {
            let period: String
            switch expire.period {
            case .days(let days): period = String(days)
            case .never: period = "NEVER"
            }
            lines.append("EXPIRE \(period)" + (inAuthorization && expire.variesPerUser ? " USER" : ""))
        }
        if let delay = configuration.loginDelay {
            lines.append("LOGIN-DELAY \(delay.seconds)" + (inAuthorization && delay.variesPerUser ? " USER" : ""))
        }
        if let implementation = configuration.implementation { lines.append("IMPLEMENTATION \(implementation)") }
        return lines
    }

    // MARK: - TRANSACTION (RFC 1939 §5, §7) and the move to UPDATE (§6)

    private mutating func handleTransaction(_ command: POP3Command, into actions: inout [POP3Action]) {
        switch command {
        case .stat:
            actions.append(.send(.ok("\(maildrop.liveCount) \(maildrop.liveSize)")))
        case .list(nil):
            let lines = maildrop.live.map { "\($0.number) \($0.entry.size)" }
            let summary = "\(maildrop.liveCount) messages (\(maildrop.liveSize) octets)"
            actions.append(.send(.multiLine(summary, lines: lines)))
        case .list(let number?):
            guard let entry = lookUp(number, into: &actions) else { return }
            actions.append(.send(.ok("\(number) \(entry.size)")))
        case .uidl(nil):
            let lines = maildrop.live.map { "\($0.number) \($0.entry.uid)" }
            actions.append(.send(.multiLine("unique-id listing follows", lines: lines)))
        case .uidl(let number?):
            guard let entry = lookUp(number, into: &actions) else { return }
            actions.append(.send(.ok("\(number) \(entry.uid)")))
        case .retr(let number):
            guard let entry = lookUp(number, into: &actions) else { return }
            stateStorage = .transaction(.fetching(POP3MessageEncoder(), header: "\(entry.size) octets", started: false))
            actions.append(.fetchMessage(uid: entry.uid, topLines: nil))
        case .top(let number, let lines):
            guard let entry = lookUp(number, into: &actions) else { return }
            let encoder = POP3MessageEncoder(topLines: lines)
            stateStorage = .transaction(.fetching(encoder, header: "top of message follows", started: false))
            actions.append(.fetchMessage(uid: entry.uid, topLines: lines))
        case .dele(let number):
            guard lookUp(number, into: &actions) != nil else { return }
            maildrop.markDeleted(number)
            actions.append(.send(.ok("message \(number) deleted")))
        case .noop:
            actions.append(.send(.ok("")))
        case .rset:
            maildrop.unmarkAll()
            actions.append(.send(.ok("maildrop has \(maildrop.liveCount) messages (\(maildrop.liveSize) octets)")))
        case .quit:
            // RFC 1939 §6: deletions happen only now, in UPDATE, and the lock goes with them.
            stateStorage = .update
            actions.append(.commitDeletions(maildrop.deletedUIDs))
        default:
            break
        }
    }

    /// RFC 1939 §5: a message marked as deleted may not be referred to; nor may a number
    /// outside the snapshot.
    private func lookUp(_ number: Int, into actions: inout [POP3Action]) -> POP3MaildropEntry? {
        switch maildrop.lookup(number) {
        case .message(let entry):
            return entry
        case .deleted:
            actions.append(.send(.err("message \(number) already deleted")))
        case .noSuchMessage:
            actions.append(.send(.err("no such message, only \(maildrop.count) messages in maildrop")))
        }
        return nil
    }
}
