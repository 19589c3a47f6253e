import NIOCore
import POP3Codec
import Testing

/// Every command in every state (STYLE §13, mox `TestState`): the reply and the state after.
@Suite struct POP3SessionMatrixTests {
    enum StartState: String, CaseIterable, Sendable {
        case authorization, userGiven, transaction, update
    }

    /// What the command should produce: a reply status or the back-end call it starts.
    enum Outcome: Equatable, Sendable {
        case ok
        case err
        case authenticate
        case startTLS
        case fetch
        case commit
        case held
    }

    static let plainIR = base64("\0alice\0secret")

    static let lines: [POP3CommandKeyword: String] = [
        .user: "USER alice", .pass: "PASS secret", .apop: "APOP alice c4c9334bac560ecc979e58001b3e22fb",
        .auth: "AUTH PLAIN \(plainIR)", .capa: "CAPA", .stls: "STLS", .stat: "STAT", .list: "LIST",
        .retr: "RETR 1", .dele: "DELE 1", .noop: "NOOP", .rset: "RSET", .top: "TOP 1 0", .uidl: "UIDL",
        .quit: "QUIT",
    ]

    /// The expected matrix, written out rather than derived from the session's own table.
    static let matrix: [StartState: [POP3CommandKeyword: (Outcome, POP3SessionState)]] = [
        .authorization: [
            .user: (.ok, .authorization), .pass: (.err, .authorization), .apop: (.authenticate, .authorization),
            .auth: (.authenticate, .authorization), .capa: (.ok, .authorization), .stls: (.startTLS, .authorization),
            .stat: (.err, .authorization), .list: (.err, .authorization), .retr: (.err, .authorization),
            .dele: (.err, .authorization), .noop: (.err, .authorization), .rset: (.err, .authorization),
            .top: (.err, .authorization), .uidl: (.err, .authorization), .quit: (.ok, .closed),
        ],
        .userGiven: [
            .user: (.ok, .authorization), .pass: (.authenticate, .authorization),
            .apop: (.authenticate, .authorization), .auth: (.authenticate, .authorization),
            .capa: (.ok, .authorization), .stls: (.startTLS, .authorization), .stat: (.err, .authorization),
            .list: (.err, .authorization), .retr: (.err, .authorization), .dele: (.err, .authorization),
            .noop: (.err, .authorization), .rset: (.err, .authorization), .top: (.err, .authorization),
            .uidl: (.err, .authorization), .quit: (.ok, .closed),
        ],
        .transaction: [
            .user: (.err, .transaction), .pass: (.err, .transaction), .apop: (.err, .transaction),
            .auth: (.err, .transaction), .capa: (.ok, .transaction), .stls: (.err, .transaction),
            .stat: (.ok, .transaction), .list: (.ok, .transaction), .retr: (.fetch, .transaction),
            .dele: (.ok, .transaction), .noop: (.ok, .transaction), .rset: (.ok, .transaction),
            .top: (.fetch, .transaction), .uidl: (.ok, .transaction), .quit: (.commit, .update),
        ],
        .update: Dictionary(uniqueKeysWithValues: POP3CommandKeyword.allCases.map { ($0, (.held, .update)) }),
    ]

    static func driver(in state: StartState) -> SessionDriver {
        switch state {
        case .authorization:
            return SessionDriver()
        case .userGiven:
            var driver = SessionDriver()
            _ = driver.line("USER alice")
            return driver
        case .transaction:
            return SessionDriver.loggedIn()
        case .update:
            var driver = SessionDriver.loggedIn()
            _ = driver.line("QUIT")
            return driver
        }
    }

    static func outcome(of actions: [POP3Action]) -> Outcome? {
        for action in actions {
            switch action {
            case .authenticate: return .authenticate
            case .startTLS: return .startTLS
            case .fetchMessage: return .fetch
            case .commitDeletions: return .commit
            default: continue
            }
        }
        guard case .send(let response)? = actions.first else { return actions.isEmpty ? .held : nil }
        return response.isOK ? .ok : .err
    }

    static let cases: [(StartState, POP3CommandKeyword)] = StartState.allCases.flatMap { state in
        POP3CommandKeyword.allCases.map { (state, $0) }
    }

    @Test(arguments: cases)
    func commandInState(state: StartState, keyword: POP3CommandKeyword) throws {
        var driver = Self.driver(in: state)
        let line = try #require(Self.lines[keyword])
        let (expectedOutcome, expectedState) = try #require(Self.matrix[state]?[keyword])
        let actions = driver.line(line)
        #expect(Self.outcome(of: actions) == expectedOutcome, "\(line) in \(state): \(wire(actions))")
        #expect(driver.session.state == expectedState)
    }

    @Test func stateNamesFollowTheSession() {
        var driver = SessionDriver()
        #expect(POP3Session().state == .notOpened)
        #expect(driver.session.state == .authorization)
        _ = driver.line("STLS")
        #expect(driver.session.state == .authorization)
        #expect(!driver.session.isAwaitingBackend)
    }
}
