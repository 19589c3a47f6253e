import MailCore
import NIOCore
import Testing

@testable import SMTPCodec

private func mailbox(_ local: String, _ domain: String) -> Mailbox { Mailbox(localPart: local, domain: domain) }

struct SMTPCommandParserTests {
    static let valid: [(String, SMTPCommand)] = [
        ("HELO mx.example.org", .helo(domain: "mx.example.org")),
        ("helo client_1", .helo(domain: "client_1")),
        ("EHLO [192.0.2.1]", .ehlo(domain: "[192.0.2.1]")),
        ("eHlO  client.example  ", .ehlo(domain: "client.example")),
        ("MAIL FROM:<alice@example.org>", .mail(reversePath: .mailbox(mailbox("alice", "example.org")), parameters: .init())),
        ("mail from:<>", .mail(reversePath: .null, parameters: .init())),
        ("MAIL FROM: <alice@example.org>", .mail(reversePath: .mailbox(mailbox("alice", "example.org")), parameters: .init())),
        (
            "MAIL FROM:<@a.example,@b.example:alice@example.org>",
            .mail(reversePath: .mailbox(mailbox("alice", "example.org")), parameters: .init())
        ),
        (
            "MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME",
            .mail(reversePath: .mailbox(mailbox("a", "b.example")), parameters: .init(size: 1000, body: .eightBitMIME))
        ),
        (
            "MAIL FROM:<a@b.example> body=binarymime",
            .mail(reversePath: .mailbox(mailbox("a", "b.example")), parameters: .init(body: .binaryMIME))
        ),
        (
            "MAIL FROM:<a@b.example>  BODY=7BIT  ",
            .mail(reversePath: .mailbox(mailbox("a", "b.example")), parameters: .init(body: .sevenBit))
        ),
        (
            "MAIL FROM:<ü@exämple.org> SMTPUTF8",
            .mail(reversePath: .mailbox(mailbox("ü", "exämple.org")), parameters: .init(smtpUTF8: true))
        ),
        (
            "MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ314159+2Bx",
            .mail(
                reversePath: .mailbox(mailbox("a", "b.example")),
                parameters: .init(ret: .headers, envelopeID: "QQ314159+x"))
        ),
        (
            "MAIL FROM:<a@b.example> RET=full AUTH=<>",
            .mail(reversePath: .mailbox(mailbox("a", "b.example")), parameters: .init(ret: .full, auth: .unknown))
        ),
        (
            "MAIL FROM:<a@b.example> AUTH=bob+40example.org",
            .mail(
                reversePath: .mailbox(mailbox("a", "b.example")), parameters: .init(auth: .identity("bob@example.org")))
        ),
        (
            "MAIL FROM:<\"john doe\"@example.org>",
            .mail(reversePath: .mailbox(mailbox("\"john doe\"", "example.org")), parameters: .init())
        ),
        (
            "MAIL FROM:<a.b+c@[192.0.2.1]>",
            .mail(reversePath: .mailbox(mailbox("a.b+c", "[192.0.2.1]")), parameters: .init())
        ),
        (
            "MAIL FROM:<a@[IPv6:2001:db8::1]>",
            .mail(reversePath: .mailbox(mailbox("a", "[IPv6:2001:db8::1]")), parameters: .init())
        ),
        (
            "MAIL FROM:<a@b.example> SIZE=99999999999999999999",
            .mail(reversePath: .mailbox(mailbox("a", "b.example")), parameters: .init(size: Int.max))
        ),
        ("RCPT TO:<bob@example.org>", .rcpt(forwardPath: .mailbox(mailbox("bob", "example.org")), parameters: .init())),
        ("RCPT TO:<Postmaster>", .rcpt(forwardPath: .postmaster, parameters: .init())),
        ("rcpt to:<postmaster>", .rcpt(forwardPath: .postmaster, parameters: .init())),
        (
            "RCPT TO:<Postmaster@example.org>",
            .rcpt(forwardPath: .mailbox(mailbox("Postmaster", "example.org")), parameters: .init())
        ),
        (
            "RCPT TO:<@relay.example:bob@example.org>",
            .rcpt(forwardPath: .mailbox(mailbox("bob", "example.org")), parameters: .init())
        ),
        (
            "RCPT TO:<bob@example.org> NOTIFY=SUCCESS,failure ORCPT=rfc822;bob+40example.org",
            .rcpt(
                forwardPath: .mailbox(mailbox("bob", "example.org")),
                parameters: .init(
                    notify: .on([.success, .failure]),
                    originalRecipient: .init(addressType: "rfc822", address: "bob@example.org")))
        ),
        (
            "RCPT TO:<bob@example.org> NOTIFY=NEVER",
            .rcpt(forwardPath: .mailbox(mailbox("bob", "example.org")), parameters: .init(notify: .never))
        ),
        ("DATA", .data),
        ("data ", .data),
        ("BDAT 100", .bdat(size: 100, last: false)),
        ("BDAT 0 LAST", .bdat(size: 0, last: true)),
        ("bdat 5 last", .bdat(size: 5, last: true)),
        ("RSET", .rset),
        ("NOOP", .noop(nil)),
        ("NOOP hi there", .noop("hi there")),
        ("QUIT", .quit),
        ("VRFY bob", .vrfy("bob")),
        ("EXPN staff", .expn("staff")),
        ("HELP", .help(nil)),
        ("HELP MAIL", .help("MAIL")),
        ("STARTTLS", .starttls),
        ("AUTH PLAIN", .auth(mechanism: "PLAIN", initialResponse: nil)),
        (
            "AUTH plain AGFsaWNlAHNlY3JldA==",
            .auth(mechanism: "PLAIN", initialResponse: .bytes(Array("\0alice\0secret".utf8)))
        ),
        ("AUTH LOGIN =", .auth(mechanism: "LOGIN", initialResponse: .empty)),
        ("AUTH CRAM-MD5", .auth(mechanism: "CRAM-MD5", initialResponse: nil)),
    ]

    @Test(arguments: valid)
    func parsesValidCommand(line: String, expected: SMTPCommand) throws {
        #expect(try SMTPCommandParser.parse(line) == expected)
        #expect(try SMTPCommandParser.parse(buffer(line)) == expected)
    }

    static let malformed: [(String, SMTPCommandError.Code, Int)] = [
        ("", .invalidSyntax, 500),
        (" MAIL FROM:<a@b.example>", .invalidSyntax, 500),
        ("FOO", .unknownCommand, 500),
        ("MAILX FROM:<a@b.example>", .unknownCommand, 500),
        ("EHLO\tclient", .unknownCommand, 500),
        ("MAIL", .invalidArguments, 501),
        ("MAIL TO:<a@b.example>", .invalidArguments, 501),
        ("MAIL FROM:a@b.example", .invalidArguments, 501),
        ("MAIL FROM:<a@b.example", .invalidArguments, 501),
        ("MAIL FROM:<a@-b.example>", .invalidArguments, 501),
        ("MAIL FROM:<a@b-.example>", .invalidArguments, 501),
        ("MAIL FROM:<a..b@example.org>", .invalidArguments, 501),
        ("MAIL FROM:<a@b.example>x", .invalidArguments, 501),
        ("MAIL FROM:<a@[300.1.1.1]>", .invalidArguments, 501),
        ("MAIL FROM:<@a.example:>", .invalidArguments, 501),
        ("MAIL FROM:<a@b.example>\u{0}", .invalidArguments, 501),
        ("MAIL FROM:<a b@c.example>", .invalidArguments, 501),
        ("MAIL FROM:<a@b.example> FOO=bar", .unknownParameter, 555),
        ("MAIL FROM:<a@b.example> NOTIFY=NEVER", .unknownParameter, 555),
        ("MAIL FROM:<a@b.example> SIZE=abc", .invalidParameter, 501),
        ("MAIL FROM:<a@b.example> SIZE", .invalidParameter, 501),
        ("MAIL FROM:<a@b.example> SIZE=123456789012345678901", .invalidParameter, 501),
        ("MAIL FROM:<a@b.example> BODY=9BIT", .invalidParameter, 501),
        ("MAIL FROM:<a@b.example> SMTPUTF8=yes", .invalidParameter, 501),
        ("MAIL FROM:<a@b.example> RET=ALL", .invalidParameter, 501),
        ("MAIL FROM:<a@b.example> ENVID=" + String(repeating: "x", count: 101), .invalidParameter, 501),
        ("MAIL FROM:<a@b.example> ENVID=a+zz", .invalidParameter, 501),
        ("MAIL FROM:<a@b.example> SIZE=1 size=2", .duplicateParameter, 501),
        ("MAIL FROM:<a@b.example> SIZE=", .invalidArguments, 501),
        ("RCPT TO:<b@c.example> NOTIFY=NEVER,SUCCESS", .invalidParameter, 501),
        ("RCPT TO:<b@c.example> NOTIFY=SOMETIMES", .invalidParameter, 501),
        ("RCPT TO:<b@c.example> NOTIFY=SUCCESS,SUCCESS", .invalidParameter, 501),
        ("RCPT TO:<b@c.example> ORCPT=bob@example.org", .invalidParameter, 501),
        ("RCPT TO:<b@c.example> SIZE=10", .unknownParameter, 555),
        ("RCPT TO:<>", .invalidArguments, 501),
        ("RCPT FROM:<b@c.example>", .invalidArguments, 501),
        ("DATA now", .invalidArguments, 501),
        ("QUIT now", .invalidArguments, 501),
        ("RSET x", .invalidArguments, 501),
        ("STARTTLS x", .invalidArguments, 501),
        ("BDAT", .invalidArguments, 501),
        ("BDAT x", .invalidArguments, 501),
        ("BDAT -1", .invalidArguments, 501),
        ("BDAT 10 FIRST", .invalidArguments, 501),
        ("BDAT 10 LASTX", .invalidArguments, 501),
        ("BDAT 1234567890123456789", .invalidArguments, 501),
        ("VRFY", .invalidArguments, 501),
        ("EXPN ", .invalidArguments, 501),
        ("HELO", .invalidArguments, 501),
        ("EHLO a b", .invalidArguments, 501),
        ("AUTH", .invalidArguments, 501),
        ("AUTH PL@IN", .invalidArguments, 501),
        ("AUTH THIS-NAME-IS-FAR-TOO-LONG", .invalidArguments, 501),
        ("AUTH PLAIN !!!!", .invalidBase64, 501),
        ("AUTH PLAIN AGFsaWNl=", .invalidBase64, 501),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedCommand(line: String, code: SMTPCommandError.Code, replyCode: Int) {
        #expect {
            try SMTPCommandParser.parse(line)
        } throws: { error in
            guard let error = error as? SMTPCommandError else { return false }
            return error.code == code && error.reply.code == replyCode
                && error.reply.enhancedCode?.statusClass == 5
        }
    }

    @Test func everyVerbIsCaseInsensitive() throws {
        for verb in SMTPVerb.allCases {
            let line: String
            switch verb {
            case .helo, .ehlo, .vrfy, .expn: line = "\(verb.rawValue.lowercased()) x"
            case .mail: line = "mail from:<>"
            case .rcpt: line = "rcpt to:<postmaster>"
            case .bdat: line = "bdat 1"
            case .auth: line = "auth plain"
            default: line = verb.rawValue.lowercased()
            }
            #expect(try SMTPCommandParser.parse(line).verb == verb)
        }
    }

    @Test(arguments: [
        ("", [UInt8]()), ("YQ==", Array("a".utf8)), ("YWI=", Array("ab".utf8)), ("YWJj", Array("abc".utf8)),
        ("AGFsaWNlAHNlY3JldA==", Array("\0alice\0secret".utf8)),
    ])
    func base64RoundTrips(encoded: String, decoded: [UInt8]) {
        #expect(Base64.decode(Array(encoded.utf8)) == decoded)
        #expect(Base64.encode(decoded) == encoded)
    }

    @Test(arguments: ["Y", "YQ=", "Y===", "YQ==YQ==", "Y Q==", "YQ=a"])
    func base64RejectsMalformed(encoded: String) {
        #expect(Base64.decode(Array(encoded.utf8)) == nil)
    }
}
