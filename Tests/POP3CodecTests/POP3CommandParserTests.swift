import MailCore
import NIOCore
import POP3Codec
import SASL
import Testing

@Suite struct POP3CommandParserTests {
    static let digest = "c4c9334bac560ecc979e58001b3e22fb"

    static let valid: [(String, POP3Command)] = [
        ("USER alice", .user("alice")),
        ("user alice", .user("alice")),
        ("UsEr alice@example.org", .user("alice@example.org")),
        ("USER  alice ", .user("alice")),
        ("USER jörg", .user("jörg")),
        ("PASS secret", .pass("secret")),
        ("PASS correct horse battery staple", .pass("correct horse battery staple")),
        ("PASS  leading space ", .pass(" leading space ")),
        ("pass tab\there", .pass("tab\there")),
        ("APOP mrose \(digest)", .apop(name: "mrose", digest: digest)),
        ("APOP mrose \(digest.uppercased())", .apop(name: "mrose", digest: digest)),
        ("AUTH", .auth(mechanism: nil, initialResponse: nil)),
        ("AUTH plain", .auth(mechanism: .plain, initialResponse: nil)),
        ("AUTH PLAIN =", .auth(mechanism: .plain, initialResponse: ByteBuffer())),
        (
            "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
            .auth(mechanism: .plain, initialResponse: ByteBuffer(string: "\0alice\0secret"))
        ),
        ("AUTH cram-md5", .auth(mechanism: .cramMD5, initialResponse: nil)),
        ("AUTH SCRAM-SHA-256", .auth(mechanism: .scramSHA256, initialResponse: nil)),
        ("AUTH X_CUSTOM-1", .auth(mechanism: SASLMechanism("x_custom-1"), initialResponse: nil)),
        ("CAPA", .capa),
        ("capa", .capa),
        ("STLS", .stls),
        ("STAT", .stat),
        ("LIST", .list(nil)),
        ("LIST 1", .list(1)),
        ("list 007", .list(7)),
        ("RETR 2", .retr(2)),
        ("DELE 9223372036854775807", .dele(Int.max)),
        ("NOOP", .noop),
        ("RSET", .rset),
        ("TOP 1 0", .top(1, lines: 0)),
        ("TOP 3 25", .top(3, lines: 25)),
        ("UIDL", .uidl(nil)),
        ("UIDL 4", .uidl(4)),
        ("QUIT", .quit),
        ("quit ", .quit),
    ]

    @Test(arguments: valid)
    func parsesValidCommand(line: String, expected: POP3Command) throws {
        #expect(try POP3Command.parse(ByteBuffer(string: line)) == expected)
    }

    static let malformed: [(String, POP3SyntaxError.Code)] = [
        ("", .emptyLine),
        ("   ", .emptyLine),
        ("HELO", .unknownCommand),
        ("XY", .unknownCommand),
        ("STATS", .unknownCommand),
        ("RETRIEVE 1", .unknownCommand),
        (" STAT", .unknownCommand),
        ("USER", .missingArgument),
        ("USER a b", .unexpectedArgument),
        ("PASS", .missingArgument),
        ("PASS ", .missingArgument),
        ("PASS a\u{0}b", .invalidCharacter),
        ("PASS a\rb", .invalidCharacter),
        ("USER a\u{7F}", .invalidCharacter),
        ("STAT 1", .unexpectedArgument),
        ("QUIT now", .unexpectedArgument),
        ("STLS x", .unexpectedArgument),
        ("LIST 1 2", .unexpectedArgument),
        ("LIST 0", .invalidNumber),
        ("LIST -1", .invalidNumber),
        ("LIST +1", .invalidNumber),
        ("LIST 1x", .invalidNumber),
        ("LIST 0x10", .invalidNumber),
        ("RETR", .missingArgument),
        ("RETR 99999999999999999999", .invalidNumber),
        ("RETR 9223372036854775808", .invalidNumber),
        ("DELE 0", .invalidNumber),
        ("DELE", .missingArgument),
        ("TOP 1", .missingArgument),
        ("TOP 0 1", .invalidNumber),
        ("TOP 1 -1", .invalidNumber),
        ("TOP 1 2 3", .unexpectedArgument),
        ("UIDL one", .invalidNumber),
        ("APOP mrose", .missingArgument),
        ("APOP mrose abc", .invalidDigest),
        ("APOP mrose \(digest)0", .invalidDigest),
        ("APOP mrose c4c9334bac560ecc979e58001b3e22fg", .invalidDigest),
        ("AUTH PL@IN", .invalidMechanism),
        ("AUTH ABCDEFGHIJKLMNOPQRSTU", .invalidMechanism),
        ("AUTH PLAIN !!!!", .invalidBase64),
        ("AUTH PLAIN AGFsaWN", .invalidBase64),
        ("AUTH PLAIN a b", .unexpectedArgument),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedCommand(line: String, code: POP3SyntaxError.Code) {
        let error = #expect(throws: POP3SyntaxError.self) { try POP3Command.parse(ByteBuffer(string: line)) }
        #expect(error?.code == code, "\(line.debugDescription): \(String(describing: error))")
    }

    @Test func invalidUTF8UserNameIsRejected() {
        var line = ByteBuffer(string: "USER ")
        line.writeBytes([0xC3, 0x28])
        #expect(throws: POP3SyntaxError(.invalidCharacter, keyword: .user)) { try POP3Command.parse(line) }
    }

    /// RFC 2449 §4: 255 octets including CRLF, so 253 octets of command.
    @Test func lineLengthLimit() throws {
        let atLimit = "PASS " + String(repeating: "x", count: 248)
        #expect(atLimit.utf8.count == 253)
        #expect(try POP3Command.parse(ByteBuffer(string: atLimit)) == .pass(String(repeating: "x", count: 248)))
        #expect(throws: POP3SyntaxError(.lineTooLong)) { try POP3Command.parse(ByteBuffer(string: atLimit + "x")) }
        #expect(try POP3Command.parse(ByteBuffer(string: atLimit + "x"), maximumLineLength: 256) != .quit)
    }

    @Test func everyKeywordIsParsed() throws {
        let samples: [POP3CommandKeyword: String] = [
            .user: "USER a", .pass: "PASS b", .apop: "APOP a \(Self.digest)", .auth: "AUTH", .capa: "CAPA",
            .stls: "STLS", .stat: "STAT", .list: "LIST", .retr: "RETR 1", .dele: "DELE 1", .noop: "NOOP",
            .rset: "RSET", .top: "TOP 1 1", .uidl: "UIDL", .quit: "QUIT",
        ]
        for keyword in POP3CommandKeyword.allCases {
            let line = try #require(samples[keyword])
            #expect(try POP3Command.parse(ByteBuffer(string: line)).keyword == keyword)
            #expect(try POP3Command.parse(ByteBuffer(string: line.lowercased())).keyword == keyword)
        }
    }
}
