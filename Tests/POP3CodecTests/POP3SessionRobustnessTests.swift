import NIOCore
import POP3Codec
import Testing

/// Random input mapped onto the POP3 alphabet (STYLE §14 in miniature): whatever arrives, the
/// parser throws or returns, the session answers or closes, and nothing traps.
@Suite struct POP3SessionRobustnessTests {
    /// A small deterministic generator, so a failure replays.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let words = [
        "USER", "PASS", "APOP", "AUTH", "CAPA", "STLS", "STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "TOP",
        "UIDL", "QUIT", "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "*", "=", "0", "1", "2", "3",
        "99999999999999999999", "AGFsaWNlAHNlY3JldA==", "c4c9334bac560ecc979e58001b3e22fb", ".", " ", "\t", "\r",
        "\u{0}", "é",
    ]

    static let events: [POP3Event] = [
        .authSucceeded(user: "alice", saslFinal: nil),
        .authSucceeded(user: "alice", saslFinal: ByteBuffer(string: "v=x")),
        .authFailed(.invalidCredentials), .saslChallenge(ByteBuffer(string: "<1.2@h>")),
        .maildropLoaded(SessionDriver.maildrop), .maildropInUse, .messageChunk(ByteBuffer(string: ".a\r\n")),
        .messageEnd, .messageFailed, .updateCommitted, .updateFailed, .tlsEstablished, .lineTooLong,
    ]

    @Test(arguments: 0..<20)
    func randomConversationsNeverTrap(seed: UInt64) {
        var generator = SplitMix(state: seed)
        var session = POP3Session()
        _ = session.receive(.opened(SessionDriver.configuration(plaintextAllowed: seed % 2 == 0)))
        for _ in 0..<300 {
            let actions: [POP3Action]
            if Int.random(in: 0..<5, using: &generator) == 0 {
                actions = session.receive(Self.events.randomElement(using: &generator)!)
            } else {
                let count = Int.random(in: 0..<5, using: &generator)
                let words = (0..<count).map { _ in Self.words.randomElement(using: &generator)! }
                let line = ByteBuffer(string: words.joined(separator: " "))
                _ = try? POP3Command.parse(line)
                actions = session.receive(.line(line))
            }
            if actions.contains(.close) {
                #expect(session.state == .closed)
                break
            }
        }
    }
}
