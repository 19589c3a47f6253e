import IMAPCodec
import NIOCore
import Testing

/// Every command in every state (STYLE §13, mox `TestState`): what the session does with it,
/// written out rather than derived from the session's own table.
@Suite struct IMAPSessionMatrixTests {
    enum Outcome: Equatable, Sendable {
        /// Answered by the session itself with OK (CAPABILITY, NOOP before login, LOGOUT).
        case ok
        /// Refused with a tagged BAD.
        case bad
        case authenticate
        case startTLS
        /// RFC 4978: answered OK, then compression starts.
        case compress
        /// Handed to the gateway to run.
        case execute
        case append
        case idle
    }

    static let lines: [IMAPCommandName: String] = [
        .capability: "t CAPABILITY", .noop: "t NOOP", .logout: "t LOGOUT", .startTLS: "t STARTTLS",
        .authenticate: "t AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==", .login: "t LOGIN alice secret",
        .select: "t SELECT INBOX", .examine: "t EXAMINE INBOX", .create: "t CREATE x", .delete: "t DELETE x",
        .rename: "t RENAME x y", .subscribe: "t SUBSCRIBE x", .unsubscribe: "t UNSUBSCRIBE x",
        .list: "t LIST \"\" *", .lsub: "t LSUB \"\" *", .status: "t STATUS INBOX (MESSAGES)",
        .append: "t APPEND INBOX {3}", .check: "t CHECK", .close: "t CLOSE", .expunge: "t EXPUNGE",
        .search: "t SEARCH ALL", .fetch: "t FETCH 1 FLAGS", .store: "t STORE 1 +FLAGS (\\Seen)", .copy: "t COPY 1 x",
        .unselect: "t UNSELECT", .namespace: "t NAMESPACE", .id: "t ID NIL", .enable: "t ENABLE CONDSTORE",
        .idle: "t IDLE", .move: "t MOVE 1 x", .getQuota: "t GETQUOTA \"\"", .getQuotaRoot: "t GETQUOTAROOT INBOX",
        .compress: "t COMPRESS DEFLATE", .sort: "t SORT (DATE) UTF-8 ALL", .thread: "t THREAD REFERENCES UTF-8 ALL",
    ]

    static let anyState: [IMAPCommandName: Outcome] = [.capability: .ok, .logout: .ok, .id: .ok]
    static let authenticatedCommands: [IMAPCommandName] = [
        .select, .examine, .create, .delete, .rename, .subscribe, .unsubscribe, .list, .lsub, .status, .getQuota, .getQuotaRoot,
    ]
    static let selectedCommands: [IMAPCommandName] = [
        .check, .close, .expunge, .search, .fetch, .store, .copy, .unselect, .move, .sort, .thread,
    ]

    static func expected(_ command: IMAPCommandName, in state: IMAPCommandState) -> Outcome {
        if let outcome = anyState[command] { return outcome }
        switch state {
        case .notAuthenticated:
            switch command {
            case .noop: return .ok
            case .startTLS: return .startTLS
            case .authenticate, .login: return .authenticate
            default: return .bad
            }
        case .authenticated, .selected:
            if command == .noop { return .execute }
            if command == .append { return .append }
            if command == .idle { return .idle }
            if command == .namespace { return .ok }
            if command == .compress { return .compress }
            // RFC 5161: the gateway runs ENABLE, since what it enables changes how it answers.
            if command == .enable { return state == .authenticated ? .execute : .bad }
            if authenticatedCommands.contains(command) { return .execute }
            if selectedCommands.contains(command) { return state == .selected ? .execute : .bad }
            return .bad
        }
    }

    static func session(in state: IMAPCommandState) -> IMAPSessionHarness {
        var harness = IMAPSessionHarness(startTLS: true, plaintext: true)
        if state == .notAuthenticated { return harness }
        _ = harness.send("a LOGIN alice secret")
        _ = harness.session.receive(.authSucceeded(user: "alice", saslFinal: nil))
        if state == .selected {
            _ = harness.send("b SELECT INBOX")
            _ = harness.session.receive(.executed("b", IMAPCompletion(.ok, code: "READ-WRITE", "done", state: .selected(readOnly: false))))
        }
        return harness
    }

    /// What the actions amount to: a hand-over to the gateway counts before any reply (STARTTLS
    /// answers OK, then starts TLS).
    static func outcome(_ actions: [IMAPAction]) -> Outcome? {
        for action in actions {
            switch action {
            case .authenticate: return .authenticate
            case .startTLS: return .startTLS
            case .startCompression: return .compress
            case .execute: return .execute
            case .appendBegin: return .append
            case .idleStart: return .idle
            default: continue
            }
        }
        for action in actions {
            switch action {
            case .send(let bytes):
                let text = String(buffer: bytes)
                if text.hasPrefix("t OK") { return .ok }
                if text.hasPrefix("t BAD") { return .bad }
            default: continue
            }
        }
        return nil
    }

    static let cases: [(IMAPCommandState, IMAPCommandName)] = IMAPCommandState.allCases.flatMap { state in
        IMAPCommandName.allCases.map { (state, $0) }
    }

    @Test(arguments: cases)
    func commandInState(_ state: IMAPCommandState, _ command: IMAPCommandName) {
        var harness = Self.session(in: state)
        let actions = harness.send(Self.lines[command]!)
        #expect(Self.outcome(actions) == Self.expected(command, in: state), "\(command) in \(state)")
    }

    @Test func everyCommandHasALine() {
        #expect(Set(Self.lines.keys) == Set(IMAPCommandName.allCases))
    }
}

/// A session with the greeting done, fed lines as a client sends them.
struct IMAPSessionHarness {
    var session = IMAPSession()
    var inbound = ByteBuffer()

    init(startTLS: Bool = false, plaintext: Bool = true, tls: Bool = false) {
        var configuration = IMAPSessionConfiguration()
        configuration.startTLSAvailable = startTLS
        configuration.plaintextAllowed = plaintext
        configuration.tlsActive = tls
        configuration.saslMechanisms = [.plain, .login, .cramMD5, .scramSHA256]
        _ = session.receive(.opened(configuration))
    }

    /// Feeds `line` + CRLF and returns every action until the session wants more input.
    mutating func send(_ line: String) -> [IMAPAction] {
        inbound.writeString(line + "\r\n")
        return drain()
    }

    mutating func drain() -> [IMAPAction] {
        var actions: [IMAPAction] = []
        while !session.isWaiting, let event = session.nextEvent(from: &inbound) {
            actions += session.receive(event)
        }
        return actions
    }

    static func text(_ actions: [IMAPAction]) -> String {
        actions.compactMap { action -> String? in
            if case .send(let bytes) = action { return String(buffer: bytes) }
            return nil
        }.joined()
    }
}
