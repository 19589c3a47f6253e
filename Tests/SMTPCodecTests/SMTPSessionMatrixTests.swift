import NIOCore
import Testing

@testable import SMTPCodec

/// Every command in every phase → the reply code (STYLE §13, mox TestState).
struct SMTPSessionMatrixTests {
    typealias Phase = SMTPSession.Phase

    /// How to reach each phase from a fresh session.
    static let setup: [Phase: [String]] = [
        .greeted: [],
        .identified: ["EHLO client.example\r\n"],
        .mailGiven: ["EHLO client.example\r\n", "MAIL FROM:<a@example.org>\r\n"],
        .recipientsGiven: ["EHLO client.example\r\n", "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<b@example.org>\r\n"],
        .chunking: [
            "EHLO client.example\r\n", "MAIL FROM:<a@example.org>\r\n", "RCPT TO:<b@example.org>\r\n", "BDAT 3\r\nabc",
        ],
    ]

    static let lines: [SMTPVerb: String] = [
        .helo: "HELO client.example", .ehlo: "EHLO client.example", .mail: "MAIL FROM:<a@example.org>",
        .rcpt: "RCPT TO:<c@example.org>", .data: "DATA", .bdat: "BDAT 0", .rset: "RSET", .noop: "NOOP",
        .quit: "QUIT", .vrfy: "VRFY bob", .expn: "EXPN staff", .help: "HELP", .starttls: "STARTTLS",
        .auth: "AUTH PLAIN \(alicePlain)",
    ]

    /// Expected reply codes, phases in the order greeted, identified, mailGiven, recipientsGiven, chunking.
    static let expected: [SMTPVerb: [Int]] = [
        .helo: [250, 250, 250, 250, 250],
        .ehlo: [250, 250, 250, 250, 250],
        .mail: [503, 250, 503, 503, 503],
        .rcpt: [503, 503, 250, 250, 503],
        .data: [503, 503, 554, 354, 503],
        .bdat: [503, 503, 554, 250, 250],
        .rset: [250, 250, 250, 250, 250],
        .noop: [250, 250, 250, 250, 250],
        .quit: [221, 221, 221, 221, 221],
        .vrfy: [252, 252, 252, 252, 252],
        .expn: [502, 502, 502, 502, 502],
        .help: [214, 214, 214, 214, 214],
        .starttls: [503, 220, 503, 503, 503],
        .auth: [503, 235, 503, 503, 503],
    ]

    static let cases: [(SMTPVerb, Phase)] = SMTPVerb.allCases.flatMap { verb in Phase.allCases.map { (verb, $0) } }

    @Test(arguments: cases)
    func commandInPhase(verb: SMTPVerb, phase: Phase) throws {
        var transcript = Transcript(.mx)
        for line in Self.setup[phase]! { transcript.send(line) }
        #expect(transcript.session.phase == phase)
        #expect(transcript.replies.allSatisfy { !$0.isNegative })
        let index = Phase.allCases.firstIndex(of: phase)!
        let codes = transcript.command(Self.lines[verb]!)
        #expect(codes == [Self.expected[verb]![index]], "\(verb) in \(phase)")
    }

    @Test func tablesCoverEveryPhaseAndVerb() {
        for phase in Phase.allCases {
            for verb in SMTPVerb.allCases {
                let valid = SMTPSession.validCommands[phase]!.contains(verb)
                let refused = SMTPSession.outOfSequence[phase]?[verb] != nil
                #expect(valid != refused, "\(verb) in \(phase) must be either valid or have a refusal")
            }
        }
    }

    /// Gates beyond the phase tables.
    @Test(arguments: [
        // STARTTLS when TLS is already active → 503; when not configured → 454.
        (SMTPSessionConfiguration(hostname: "h", portKind: .implicitTLS, tlsAvailable: true), "STARTTLS", 503),
        (SMTPSessionConfiguration(hostname: "h", tlsAvailable: false), "STARTTLS", 454),
        // AUTH not offered → 502; plaintext mechanism without TLS → 538; unknown mechanism → 504.
        (SMTPSessionConfiguration(hostname: "h"), "AUTH PLAIN", 502),
        (SMTPSessionConfiguration(hostname: "h", authMechanisms: [.plain]), "AUTH PLAIN", 538),
        (SMTPSessionConfiguration(hostname: "h", authMechanisms: [.plain]), "AUTH GSSAPI", 504),
        (SMTPSessionConfiguration(hostname: "h", authMechanisms: [.cramMD5]), "AUTH CRAM-MD5 dGVzdA==", 501),
        // Submission: MAIL before AUTH → 530.
        (SMTPSessionConfiguration(hostname: "h", portKind: .submission), "MAIL FROM:<a@b.example>", 530),
        (SMTPSessionConfiguration(hostname: "h", portKind: .implicitTLS), "MAIL FROM:<a@b.example>", 530),
        // Parameters of extensions not offered are unknown → 555.
        (SMTPSessionConfiguration(hostname: "h", extensions: []), "MAIL FROM:<a@b.example> SIZE=10", 555),
        (SMTPSessionConfiguration(hostname: "h"), "MAIL FROM:<a@b.example> BODY=BINARYMIME", 555),
        (SMTPSessionConfiguration(hostname: "h", extensions: []), "BDAT 10", 502),
        // SIZE over the limit → 552; non-ASCII sender without SMTPUTF8 → 550 5.6.7.
        (SMTPSessionConfiguration(hostname: "h", maximumMessageSize: 100), "MAIL FROM:<a@b.example> SIZE=101", 552),
        (SMTPSessionConfiguration(hostname: "h", maximumMessageSize: 100), "MAIL FROM:<a@b.example> SIZE=100", 250),
        (SMTPSessionConfiguration(hostname: "h"), "MAIL FROM:<ü@b.example>", 550),
        (SMTPSessionConfiguration(hostname: "h"), "MAIL FROM:<ü@b.example> SMTPUTF8", 250),
    ])
    func gates(configuration: SMTPSessionConfiguration, line: String, code: Int) {
        var transcript = Transcript(configuration)
        #expect(transcript.command("EHLO client.example") == [250])
        #expect(transcript.command(line) == [code])
    }
}
