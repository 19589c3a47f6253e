import MailCore
public import NIOCore
public import SASL

/// The RFC 3501 §3 state a session is in, as callers and tests see it.
public enum IMAPSessionState: Hashable, Sendable {
    case notOpened
    /// §3.1.
    case notAuthenticated
    /// §3.2.
    case authenticated
    /// §3.3; `readOnly` after EXAMINE.
    case selected(readOnly: Bool)
    /// §3.4: LOGOUT answered, or the server is closing the connection.
    case logout
}

/// The states that accept commands, for the table of which command is valid where (STYLE §4).
public enum IMAPCommandState: Hashable, Sendable, CaseIterable {
    case notAuthenticated
    case authenticated
    case selected
}

/// How a command the gateway executed ended: its tagged response (RFC 3501 §7.1), and the state
/// the session is in afterwards.
public struct IMAPCompletion: Hashable, Sendable {
    public typealias Status = IMAPResponseStatus
    public var status: Status
    /// A response code without brackets (`READ-WRITE`, `TRYCREATE`, `APPENDUID 38505 3955`).
    public var code: String?
    public var text: String
    /// The state after the command; nil leaves it as it was.
    public var state: IMAPSessionState?
    public init(_ status: Status, code: String? = nil, _ text: String, state: IMAPSessionState? = nil) {
        self.status = status
        self.code = code
        self.text = text
        self.state = state
    }
}

/// What the session is configured with, per connection.
public struct IMAPSessionConfiguration: Hashable, Sendable {
    public var tlsActive = false
    /// STARTTLS is possible on this connection (a certificate and a plain listener).
    public var startTLSAvailable = false
    /// LOGIN and plaintext SASL mechanisms before TLS (loopback clients, or configured).
    public var plaintextAllowed = false
    public var saslMechanisms: [SASLMechanism] = [.plain, .login, .scramSHA256]
    /// Capabilities beyond IMAP4rev1, the authentication ones and STARTTLS, in order (each
    /// advertised only when it is complete).
    public var extensions: [String] = []
    public var limits = IMAPLimits()
    /// Failed logins before the connection is closed.
    public var maximumAuthenticationFailures = 3
    /// Commands that are BAD in a row before the connection is closed (a client speaking
    /// another protocol, or noise).
    public var maximumInvalidCommands = 20
    public var greeting = "Loft IMAP4rev1 ready"
    public init() {}
}

/// Credentials the session collected, for the back-end to check.
public enum IMAPCredentials: Hashable, Sendable {
    /// LOGIN (RFC 3501 §6.2.3) or AUTHENTICATE PLAIN/LOGIN.
    case password(user: String, password: String, authorizationIdentity: String?)
    /// AUTHENTICATE CRAM-MD5 (RFC 2195) over the back-end's challenge.
    case cramMD5(user: String, challenge: String, digest: String)
}

/// Why a login failed, as the session answers it.
public enum IMAPAuthFailure: Hashable, Sendable {
    /// `NO [AUTHENTICATIONFAILED]` (RFC 5530), counted.
    case invalidCredentials
    /// Too many failures: `NO [UNAVAILABLE]`, counted.
    case throttled(retryAfterSeconds: Int?)
    /// The server could not decide: `NO [UNAVAILABLE]`, not counted.
    case temporaryFailure
}

/// Everything that can happen to a session.
public enum IMAPEvent: Equatable, Sendable {
    case opened(IMAPSessionConfiguration)
    /// What the framer made of the client's bytes.
    case frame(IMAPFrame)
    case authSucceeded(user: String, saslFinal: [UInt8]?)
    case authFailed(IMAPAuthFailure)
    /// The next server challenge of a SASL exchange the gateway runs (CRAM-MD5's challenge,
    /// SCRAM's server-first).
    case saslChallenge([UInt8])
    /// The command `.execute` handed over is done; its untagged responses have been written.
    case executed(IMAPTag, IMAPCompletion)
    /// The gateway checked an APPEND (`.appendBegin`): go on reading the message, or refuse.
    case appendAccepted
    case appendRefused(IMAPCompletion)
    case tlsEstablished
    case timeout
    case peerClosed
}

/// What the gateway must do, in order. The session performs nothing itself (STYLE §3).
public enum IMAPAction: Equatable, Sendable {
    /// Write these bytes (a response already encoded).
    case send(ByteBuffer)
    /// After writing what came before: discard buffered input, start TLS, then feed
    /// `.tlsEstablished` (RFC 3501 §6.2.1).
    case startTLS
    /// After writing what came before (the tagged OK): compress both ways from the next byte
    /// on, inside TLS (RFC 4978 §3).
    case startCompression
    /// Check credentials with the back-end; answer `.authSucceeded` or `.authFailed`.
    case authenticate(IMAPCredentials)
    /// Start a SASL mechanism the gateway or back-end runs (CRAM-MD5: ask for a challenge;
    /// SCRAM: relay the client-first-message); answer `.saslChallenge`, `.authSucceeded` or
    /// `.authFailed`.
    case saslStart(mechanism: SASLMechanism, initialResponse: [UInt8]?)
    case saslContinue([UInt8])
    /// Forget the relayed exchange.
    case saslAbort
    /// Run an authenticated or selected command: write its untagged responses, then feed
    /// `.executed` with its completion (the session writes the tagged line).
    case execute(IMAPTaggedCommand)
    /// An APPEND's message is announced: check it, answer `.appendAccepted` or `.appendRefused`.
    case appendBegin(tag: IMAPTag, mailbox: IMAPMailbox, flags: [String], date: IMAPDateTime?, size: Int)
    case appendData(ByteBuffer)
    /// The message is complete: store it, then feed `.executed`.
    case appendEnd(tag: IMAPTag)
    /// The client left or broke an append midway: throw the upload away.
    case appendAbort
    /// RFC 2177: report changes as they happen until `.idleDone`.
    case idleStart(tag: IMAPTag)
    /// The client said DONE (or broke off): stop, report what is pending, then feed
    /// `.executed` for the IDLE's tag.
    case idleDone(tag: IMAPTag)
    /// Close the connection after the writes.
    case close
}

/// The IMAP server session as a value (STYLE §3): the framer in front, the state of RFC 3501 §3
/// with the table of which command is valid where, the greeting, CAPABILITY, NOOP and LOGOUT in
/// any state, STARTTLS, LOGIN and AUTHENTICATE through the SASL module. Every command of the
/// authenticated and selected states is handed to the gateway (`.execute`) and answered when it
/// says how it ended; input is held meanwhile (the framer reads no further).
public struct IMAPSession: Sendable {
    /// RFC 3501 §6: which commands each state accepts. A known command outside its states gets
    /// `BAD`, and the state does not change.
    public static let validCommands: [IMAPCommandState: Set<IMAPCommandName>] = {
        // RFC 2971 §3.1: ID in any state.
        let any: Set<IMAPCommandName> = [.capability, .noop, .logout, .id]
        // RFC 2342 NAMESPACE, RFC 2177 IDLE and RFC 9208's GETQUOTA and GETQUOTAROOT once logged in.
        let authenticated: Set<IMAPCommandName> = [
            .select, .examine, .create, .delete, .rename, .subscribe, .unsubscribe, .list, .lsub, .status, .append,
            .namespace, .idle, .getQuota, .getQuotaRoot, .compress,
        ]
        return [
            .notAuthenticated: any.union([.startTLS, .authenticate, .login]),
            // RFC 5161 §3.1: ENABLE only before a mailbox is selected.
            .authenticated: any.union(authenticated).union([.enable]),
            // RFC 3691 UNSELECT, RFC 6851 MOVE; UID EXPUNGE counts as EXPUNGE.
            .selected: any.union(authenticated).union([
                .check, .close, .expunge, .search, .fetch, .store, .copy, .unselect, .move, .sort, .thread,
            ]),
        ]
    }()

    enum Phase: Sendable {
        case ready
        /// STARTTLS answered; nothing is read until `.tlsEstablished`.
        case awaitingTLS
        /// Waiting for the client's next SASL response line.
        case sasl(IMAPTag, SASLExchange)
        /// Waiting for the back-end's next step of a relayed mechanism.
        case awaitingSASLServer(IMAPTag, SASLExchange)
        case awaitingAuthentication(IMAPTag)
        case executing(IMAPTag)
        /// APPEND announced; waiting for the gateway's check.
        case checkingAppend(IMAPTag, synchronizing: Bool)
        /// Reading APPEND's message.
        case appending(IMAPTag)
        /// The message is in; waiting for the commit.
        case committingAppend(IMAPTag)
        /// RFC 2177: `+ idling` sent; the next line must be DONE.
        case idling(IMAPTag)
    }

    public private(set) var state: IMAPSessionState = .notOpened
    var phase: Phase = .ready
    /// RFC 4978: COMPRESS DEFLATE was accepted; a second one is BAD.
    var compressing = false
    public private(set) var configuration = IMAPSessionConfiguration()
    /// The tagged results sent since `takeCompletions` was last called: the gateway counts
    /// commands by result from them (the session itself does no I/O, metrics included).
    public private(set) var completions: [IMAPCompletion.Status] = []

    /// The tagged results since the last call, oldest first.
    public mutating func takeCompletions() -> [IMAPCompletion.Status] {
        defer { completions = [] }
        return completions
    }
    var framer = IMAPFramer(limits: IMAPLimits())
    var authenticationFailures = 0
    var invalidCommands = 0
    /// IDLE ended with a line other than DONE: its tagged response is BAD.
    var idleEndedBadly = false

    public init() {}

    /// True while the session takes no input: it waits for the gateway or the back-end. Not
    /// while TLS is negotiated: the driver must read the handshake (what the client pipelined in
    /// the clear was discarded, RFC 3501 §6.2.1).
    public var isWaiting: Bool {
        switch phase {
        case .ready, .sasl, .appending, .awaitingTLS, .idling: state == .notOpened
        case .awaitingSASLServer, .awaitingAuthentication, .executing, .checkingAppend, .committingAppend: true
        }
    }

    public var isAuthenticated: Bool {
        switch state {
        case .authenticated, .selected: true
        case .notOpened, .notAuthenticated, .logout: false
        }
    }

    /// The largest APPEND message the gateway takes; the framer still announces bigger ones.
    public mutating func setMaximumAppendSize(_ size: Int) {
        framer.maximumAppendSize = size
    }

    /// The next frame of the client's input, consuming its bytes; nil when more are needed.
    public mutating func nextEvent(from inbound: inout ByteBuffer) -> IMAPEvent? {
        framer.next(from: &inbound).map { .frame($0) }
    }

    /// True while a command has begun but not ended.
    public func hasPartialInput(_ inbound: ByteBuffer) -> Bool {
        if case .appending = phase { return true }
        return inbound.readableBytes > 0
    }

    /// STARTTLS: forget what the framer holds (RFC 3501 §6.2.1, CVE-2011-0411).
    public mutating func discardBufferedInput() {
        framer = IMAPFramer(limits: configuration.limits)
    }

    /// The CAPABILITY list for the session's state now (RFC 3501 §6.1.1, §7.2.1).
    public var capabilities: [String] {
        var list = ["IMAP4rev1"]
        if !isAuthenticated {
            if configuration.startTLSAvailable, !configuration.tlsActive { list.append("STARTTLS") }
            let plaintextOK = configuration.tlsActive || configuration.plaintextAllowed
            // RFC 3501 §6.2.3, §7.2.1: LOGINDISABLED while LOGIN would be refused.
            if !plaintextOK { list.append("LOGINDISABLED") }
            for mechanism in configuration.saslMechanisms where plaintextOK || !mechanism.isPlaintext {
                list.append("AUTH=\(mechanism.name)")
            }
        }
        list.append(contentsOf: configuration.extensions)
        return list
    }

    public mutating func receive(_ event: IMAPEvent) -> [IMAPAction] {
        var actions: [IMAPAction] = []
        switch event {
        case .opened(let configuration):
            self.configuration = configuration
            framer = IMAPFramer(limits: configuration.limits)
            state = .notAuthenticated
            // RFC 3501 §7.1.1: the greeting with the capabilities saves a round trip.
            actions.append(untagged("OK [CAPABILITY \(capabilities.joined(separator: " "))] \(configuration.greeting)"))
        case .frame(let frame):
            received(frame, into: &actions)
        case .authSucceeded(let user, let saslFinal):
            switch phase {
            case .awaitingSASLServer(let tag, var exchange) where exchange.isAwaitingRelay:
                let step = exchange.relayed(.succeeded(identity: user, final: saslFinal))
                performSASL(step, tag, exchange, into: &actions)
            case .awaitingAuthentication:
                succeed(into: &actions)
            default:
                break
            }
        case .authFailed(let failure):
            authenticationFailed(failure, into: &actions)
        case .saslChallenge(let challenge):
            guard case .awaitingSASLServer(let tag, var exchange) = phase else { break }
            let step =
                exchange.isAwaitingChallenge
                ? exchange.challengeIssued(String(decoding: challenge, as: UTF8.self))
                : exchange.relayed(.challenge(challenge))
            performSASL(step, tag, exchange, into: &actions)
        case .executed(let tag, let completion):
            switch phase {
            case .executing(let running) where running == tag: break
            case .committingAppend(let running) where running == tag: break
            default: return actions
            }
            phase = .ready
            if idleEndedBadly {
                idleEndedBadly = false
                complete(tag, IMAPCompletion(.bad, "expected DONE (RFC 2177)"), into: &actions)
                return actions
            }
            complete(tag, completion, into: &actions)
        case .appendAccepted:
            guard case .checkingAppend(let tag, let synchronizing) = phase else { break }
            phase = .appending(tag)
            framer.acceptAppend()
            if synchronizing { actions.append(Self.continuation("Ready for literal data")) }
        case .appendRefused(let completion):
            guard case .checkingAppend(let tag, _) = phase else { break }
            phase = .ready
            framer.refuseAppend()
            complete(tag, completion, into: &actions)
        case .tlsEstablished:
            guard case .awaitingTLS = phase else { break }
            phase = .ready
            configuration.tlsActive = true
        case .timeout:
            // RFC 3501 §5.4: an autologout, announced by BYE.
            if case .appending = phase { actions.append(.appendAbort) }
            if case .idling(let tag) = phase { actions.append(.idleDone(tag: tag)) }
            actions.append(untagged("BYE autologout: idle for too long"))
            state = .logout
            actions.append(.close)
        case .peerClosed:
            if case .appending = phase { actions.append(.appendAbort) }
            if case .idling(let tag) = phase { actions.append(.idleDone(tag: tag)) }
            state = .logout
            actions.append(.close)
        }
        return actions
    }

    // MARK: - Frames

    mutating func received(_ frame: IMAPFrame, into actions: inout [IMAPAction]) {
        guard state != .logout, state != .notOpened else { return }
        switch frame {
        case .command(let tagged):
            guard case .ready = phase else { return }
            dispatch(tagged, into: &actions)
        case .bad(let tag, let message, let fatal):
            if case .appending = phase {
                actions.append(.appendAbort)
                phase = .ready
            }
            // RFC 7888 §4: a literal over LITERAL-'s bound is a client's honest mistake (its
            // message is too big), not an invalid command.
            let tooBig = message.hasPrefix("[TOOBIG]")
            if !tooBig { invalidCommands += 1 }
            if let tag {
                actions.append(tagged(tag, .bad, message))
            } else {
                actions.append(untagged("BAD \(message)"))
            }
            if fatal || invalidCommands >= configuration.maximumInvalidCommands {
                // A literal too large to read past ends the connection with its reason.
                actions.append(untagged(fatal && tooBig ? "BYE \(message)" : "BYE too many invalid commands"))
                state = .logout
                actions.append(.close)
            }
        case .continuationNeeded:
            // RFC 3501 §7.5: the client sends a synchronizing literal only after this.
            framer.continueLiteral()
            actions.append(Self.continuation("Ready for literal data"))
        case .appendBegin(let tag, let mailbox, let flags, let date, let size, let synchronizing):
            guard case .ready = phase else { return }
            guard validIn(.append) else {
                invalidCommands += 1
                framer.refuseAppend()
                actions.append(tagged(tag, .bad, "APPEND is not valid in this state"))
                return
            }
            invalidCommands = 0
            phase = .checkingAppend(tag, synchronizing: synchronizing)
            actions.append(.appendBegin(tag: tag, mailbox: mailbox, flags: flags, date: date, size: size))
        case .appendData(let bytes):
            guard case .appending = phase else { return }
            actions.append(.appendData(bytes))
        case .appendEnd(let tag):
            guard case .appending = phase else { return }
            phase = .committingAppend(tag)
            actions.append(.appendEnd(tag: tag))
        case .line(let line):
            if case .idling(let tag) = phase {
                // RFC 2177 §3: "DONE" ends it; anything else is a protocol error.
                phase = .executing(tag)
                actions.append(.idleDone(tag: tag))
                if String(buffer: line).uppercased() != "DONE" {
                    invalidCommands += 1
                    idleEndedBadly = true
                }
                return
            }
            guard case .sasl(let tag, var exchange) = phase else { return }
            let step = exchange.receive(line: line.readableBytesView)
            performSASL(step, tag, exchange, into: &actions)
        }
    }

    var commandState: IMAPCommandState? {
        switch state {
        case .notAuthenticated: .notAuthenticated
        case .authenticated: .authenticated
        case .selected: .selected
        case .notOpened, .logout: nil
        }
    }

    func validIn(_ name: IMAPCommandName) -> Bool {
        guard let commandState else { return false }
        return Self.validCommands[commandState]?.contains(name) ?? false
    }

    mutating func dispatch(_ tagged: IMAPTaggedCommand, into actions: inout [IMAPAction]) {
        let tag = tagged.tag
        guard validIn(tagged.command.name) else {
            invalidCommands += 1
            let reason = isAuthenticated ? "not valid in this state" : "log in first"
            actions.append(self.tagged(tag, .bad, "\(tagged.command.name.rawValue) \(reason)"))
            if invalidCommands >= configuration.maximumInvalidCommands {
                actions.append(untagged("BYE too many invalid commands"))
                state = .logout
                actions.append(.close)
            }
            return
        }
        invalidCommands = 0
        switch tagged.command {
        case .capability:
            actions.append(untagged("CAPABILITY \(capabilities.joined(separator: " "))"))
            actions.append(self.tagged(tag, .ok, "CAPABILITY completed"))
        case .noop where !isAuthenticated:
            actions.append(self.tagged(tag, .ok, "NOOP completed"))
        case .logout:
            // RFC 3501 §6.1.3: BYE, then the tagged OK, then close.
            actions.append(untagged("BYE logging out"))
            actions.append(self.tagged(tag, .ok, "LOGOUT completed"))
            state = .logout
            actions.append(.close)
        case .startTLS:
            guard configuration.startTLSAvailable, !configuration.tlsActive else {
                actions.append(self.tagged(tag, .bad, configuration.tlsActive ? "TLS is already active" : "STARTTLS is not available"))
                return
            }
            actions.append(self.tagged(tag, .ok, "begin TLS negotiation now"))
            phase = .awaitingTLS
            actions.append(.startTLS)
        case .compress(let mechanism):
            // RFC 4978 §3: BAD for an unknown mechanism or when compression is already on.
            guard mechanism == "DEFLATE" else {
                actions.append(self.tagged(tag, .bad, "unknown compression mechanism; DEFLATE is supported"))
                return
            }
            guard !compressing else {
                actions.append(self.tagged(tag, .bad, "[COMPRESSIONACTIVE] DEFLATE is already active"))
                return
            }
            compressing = true
            actions.append(self.tagged(tag, .ok, "DEFLATE active"))
            actions.append(.startCompression)
        case .login(let username, let password):
            guard plaintextPermitted else {
                // RFC 3501 §6.2.3 with LOGINDISABLED; RFC 5530 PRIVACYREQUIRED.
                actions.append(self.tagged(tag, .no, code: "PRIVACYREQUIRED", "LOGIN is disabled before STARTTLS"))
                return
            }
            phase = .awaitingAuthentication(tag)
            actions.append(
                .authenticate(
                    .password(
                        user: String(decoding: username, as: UTF8.self), password: String(decoding: password, as: UTF8.self),
                        authorizationIdentity: nil)))
        case .authenticate(let name, let initialResponse):
            startSASL(tag, name, initialResponse, into: &actions)
        case .id:
            // RFC 2971 §3.3: the server's fields; the client's are only logged by the gateway.
            actions.append(untagged("ID (\"name\" \"Loft\" \"vendor\" \"Loft\")"))
            actions.append(self.tagged(tag, .ok, "ID completed"))
        case .namespace:
            // RFC 2342 §5: one personal namespace, no others.
            actions.append(untagged("NAMESPACE ((\"\" \"/\")) NIL NIL"))
            actions.append(self.tagged(tag, .ok, "NAMESPACE completed"))
        case .idle:
            phase = .idling(tag)
            framer.readLine()
            actions.append(Self.continuation("idling"))
            actions.append(.idleStart(tag: tag))
        default:
            phase = .executing(tag)
            actions.append(.execute(tagged))
        }
    }

    var plaintextPermitted: Bool { configuration.tlsActive || configuration.plaintextAllowed }

    mutating func complete(_ tag: IMAPTag, _ completion: IMAPCompletion, into actions: inout [IMAPAction]) {
        if let next = completion.state { state = next }
        actions.append(tagged(tag, completion.status, code: completion.code, completion.text))
        if state == .logout { actions.append(.close) }
    }

    // MARK: - Authentication (RFC 3501 §6.2.2)

    mutating func startSASL(_ tag: IMAPTag, _ name: String, _ initialResponse: [UInt8]?, into actions: inout [IMAPAction]) {
        guard let mechanism = SASLMechanism(name), configuration.saslMechanisms.contains(mechanism) else {
            actions.append(tagged(tag, .no, "unsupported authentication mechanism"))
            return
        }
        guard !mechanism.isPlaintext || plaintextPermitted else {
            actions.append(tagged(tag, .no, code: "PRIVACYREQUIRED", "\(mechanism.name) is disabled before STARTTLS"))
            return
        }
        var exchange = SASLExchange(mechanism: mechanism)
        let response = initialResponse.map { $0.isEmpty ? SASLInitialResponse.empty : .bytes($0) }
        let step = exchange.start(initialResponse: response)
        performSASL(step, tag, exchange, into: &actions)
    }

    mutating func performSASL(_ step: SASLAction, _ tag: IMAPTag, _ exchange: SASLExchange, into actions: inout [IMAPAction]) {
        switch step {
        case .challenge(let challenge):
            phase = .sasl(tag, exchange)
            framer.readLine()
            var buffer = ByteBuffer(string: "+ ")
            buffer.writeString(Base64.encode(challenge))
            buffer.writeString("\r\n")
            actions.append(.send(buffer))
        case .issueChallenge(let mechanism):
            phase = .awaitingSASLServer(tag, exchange)
            actions.append(.saslStart(mechanism: mechanism, initialResponse: nil))
        case .relay(let message, first: true):
            phase = .awaitingSASLServer(tag, exchange)
            actions.append(.saslStart(mechanism: exchange.mechanism, initialResponse: message))
        case .relay(let message, first: false):
            phase = .awaitingSASLServer(tag, exchange)
            actions.append(.saslContinue(message))
        case .authenticate(let credentials):
            phase = .awaitingAuthentication(tag)
            switch credentials {
            case .plain(let authorization, let user, let password):
                actions.append(
                    .authenticate(
                        .password(user: user, password: password, authorizationIdentity: authorization.isEmpty ? nil : authorization)))
            case .login(let user, let password):
                actions.append(.authenticate(.password(user: user, password: password, authorizationIdentity: nil)))
            case .cramMD5(let user, let digest, let challenge):
                actions.append(.authenticate(.cramMD5(user: user, challenge: challenge, digest: digest)))
            }
        case .succeeded:
            phase = .awaitingAuthentication(tag)
            succeed(into: &actions)
        case .failed(let error):
            phase = .ready
            if exchange.isRelayOpen { actions.append(.saslAbort) }
            switch error.code {
            // RFC 3501 §6.2.2: a `*` line cancels with BAD.
            case .cancelled: actions.append(tagged(tag, .bad, "authentication cancelled"))
            case .invalidBase64: actions.append(tagged(tag, .bad, "invalid base64 in SASL response"))
            case .lineTooLong: actions.append(tagged(tag, .bad, "SASL response too long"))
            case .initialResponseNotAllowed: actions.append(tagged(tag, .bad, "\(exchange.mechanism) takes no initial response"))
            case .expectedEmptyResponse: actions.append(tagged(tag, .bad, "expected an empty response"))
            default: authenticationFailed(.invalidCredentials, tag: tag, into: &actions)
            }
        }
    }

    /// RFC 3501 §6.2.2, §6.2.3: the tagged OK, with the capabilities that apply now (RFC 3501
    /// §7.1 CAPABILITY code) so the client need not ask again.
    mutating func succeed(into actions: inout [IMAPAction]) {
        guard case .awaitingAuthentication(let tag) = phase else { return }
        phase = .ready
        state = .authenticated
        authenticationFailures = 0
        actions.append(tagged(tag, .ok, code: "CAPABILITY \(capabilities.joined(separator: " "))", "logged in"))
    }

    mutating func authenticationFailed(_ failure: IMAPAuthFailure, tag explicitTag: IMAPTag? = nil, into actions: inout [IMAPAction]) {
        let tag: IMAPTag
        if let given = explicitTag {
            tag = given
        } else {
            switch phase {
            case .awaitingAuthentication(let t), .awaitingSASLServer(let t, _), .sasl(let t, _): tag = t
            default: return
            }
        }
        phase = .ready
        switch failure {
        case .invalidCredentials:
            authenticationFailures += 1
            actions.append(tagged(tag, .no, code: "AUTHENTICATIONFAILED", "authentication failed"))
        case .throttled(let seconds):
            authenticationFailures += 1
            let wait = seconds.map { ", try again in \($0) s" } ?? ""
            actions.append(tagged(tag, .no, code: "UNAVAILABLE", "too many failed logins\(wait)"))
        case .temporaryFailure:
            actions.append(tagged(tag, .no, code: "UNAVAILABLE", "temporary server failure, try again later"))
        }
        if authenticationFailures >= configuration.maximumAuthenticationFailures {
            actions.append(untagged("BYE too many failed logins"))
            state = .logout
            actions.append(.close)
        }
    }

    // MARK: - Responses

    /// Status lines go through the encoder, which keeps a CR or LF in a message (a back-end's
    /// error text) from ending the response early.
    mutating func tagged(_ tag: IMAPTag, _ status: IMAPCompletion.Status, code: String? = nil, _ text: String) -> IMAPAction {
        completions.append(status)
        var buffer = ByteBuffer()
        IMAPResponseEncoder.tagged(tag, status, code: code, text: text, into: &buffer)
        return .send(buffer)
    }

    func untagged(_ text: String) -> IMAPAction {
        .send(ByteBuffer(string: "* \(text)\r\n"))
    }

    static func continuation(_ text: String) -> IMAPAction {
        var buffer = ByteBuffer()
        IMAPResponseEncoder.continuation(text, into: &buffer)
        return .send(buffer)
    }
}
