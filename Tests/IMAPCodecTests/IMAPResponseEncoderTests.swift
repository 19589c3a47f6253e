import IMAPCodec
import NIOCore
import Testing

@Suite struct IMAPResponseEncoderTests {
    static func written(_ value: IMAPValue) -> String {
        var buffer = ByteBuffer()
        IMAPResponseEncoder.write(value, into: &buffer)
        return String(decoding: buffer.readableBytesView, as: UTF8.self)
    }

    static let values: [(IMAPValue, String)] = [
        (.atom("FLAGS"), "FLAGS"),
        (.number(4_294_967_296), "4294967296"),
        (.nilValue, "NIL"),
        (.string([]), "\"\""),
        (.string(Array("hello world".utf8)), "\"hello world\""),
        (.string(Array("say \"hi\" \\o/".utf8)), "\"say \\\"hi\\\" \\\\o/\""),
        (.string(Array("caf\u{E9}".utf8)), "{5}\r\ncaf\u{E9}"),
        (.string(Array("two\r\nlines".utf8)), "{10}\r\ntwo\r\nlines"),
        (.string(Array("bare\nlf".utf8)), "{7}\r\nbare\nlf"),
        (.string([0x61, 0x00]), "{2}\r\na\u{0}"),
        (.list([]), "()"),
        (.list([.atom("\\Seen"), .list([.nilValue, .number(1)]), .raw("BODY[]<0>")]), "(\\Seen (NIL 1) BODY[]<0>)"),
        (IMAPResponseEncoder.flagList(["\\Seen", "$Forwarded"]), "(\\Seen $Forwarded)"),
        (IMAPResponseEncoder.astring("INBOX"), "INBOX"),
        (IMAPResponseEncoder.astring("a]b"), "a]b"),
        (IMAPResponseEncoder.astring("nil"), "\"nil\""),
        (IMAPResponseEncoder.astring(""), "\"\""),
        (IMAPResponseEncoder.astring("two words"), "\"two words\""),
        (IMAPResponseEncoder.astring("50%"), "\"50%\""),
        (IMAPResponseEncoder.astring("a*"), "\"a*\""),
        (IMAPResponseEncoder.astring("x{1}"), "\"x{1}\""),
        (IMAPResponseEncoder.mailbox("~peter/mail/\u{53F0}\u{5317}/\u{65E5}\u{672C}\u{8A9E}"), "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        (IMAPResponseEncoder.mailbox("Tom & Jerry"), "\"Tom &- Jerry\""),
    ]

    @Test(arguments: values)
    func writes(value: IMAPValue, expected: String) {
        #expect(Self.written(value) == expected)
    }

    @Test func quotedUpToTheLimitThenLiteral() {
        let limit = IMAPResponseEncoder.maximumQuotedLength
        let atLimit = String(repeating: "a", count: limit)
        #expect(Self.written(.string(Array(atLimit.utf8))) == "\"\(atLimit)\"")
        #expect(Self.written(.string(Array((atLimit + "a").utf8))) == "{\(limit + 1)}\r\n\(atLimit)a")
    }

    static let roundTrips: [[UInt8]] = [
        [], Array("user".utf8), Array("p@ss w\"o\\rd".utf8), Array("caf\u{E9}".utf8), Array("a\r\nb".utf8), [0, 1, 2, 0xFF],
        Array(repeating: UInt8(ascii: "q"), count: 1001), Array("NIL".utf8), Array("{5}".utf8),
    ]

    /// What the encoder writes as a string, the parser reads back as the same bytes.
    @Test(arguments: roundTrips)
    func encoderToParser(bytes: [UInt8]) throws {
        var buffer = ByteBuffer(string: "a LOGIN ")
        IMAPResponseEncoder.write(.string(bytes), into: &buffer)
        buffer.writeString(" ")
        IMAPResponseEncoder.write(IMAPResponseEncoder.astring(String(decoding: bytes, as: UTF8.self)), into: &buffer)
        let parsed = try IMAPCommandParser.parse(Array(buffer.readableBytesView))
        let text = Array(String(decoding: bytes, as: UTF8.self).utf8)
        #expect(parsed == IMAPTaggedCommand(tag: "a", command: .login(username: bytes, password: text)))
        // And through the framer, as a client would send it.
        buffer.writeString("\r\n")
        let frames = FramerDriver().framesBothWays(Array(buffer.readableBytesView))
        #expect(frames.last == .command(parsed))
    }

    @Test func statusResponses() {
        var buffer = ByteBuffer()
        IMAPResponseEncoder.tagged("a1", .ok, code: "READ-WRITE", text: "SELECT completed", into: &buffer)
        IMAPResponseEncoder.tagged("a2", .no, text: "no\r\nsuch\u{0}mailbox", into: &buffer)
        IMAPResponseEncoder.untagged(.bye, text: "", into: &buffer)
        IMAPResponseEncoder.untagged(.ok, code: "UIDVALIDITY 3857529045", text: "UIDs valid", into: &buffer)
        IMAPResponseEncoder.untagged([.number(172), .atom("EXISTS")], into: &buffer)
        IMAPResponseEncoder.untagged(
            [.atom("LIST"), .list([.atom("\\HasNoChildren")]), .string(Array("/".utf8)), IMAPResponseEncoder.mailbox("INBOX")],
            into: &buffer)
        IMAPResponseEncoder.continuation("Ready", into: &buffer)
        IMAPResponseEncoder.literalPrefix(size: 1234, into: &buffer)
        #expect(
            String(decoding: buffer.readableBytesView, as: UTF8.self)
                == "a1 OK [READ-WRITE] SELECT completed\r\n" + "a2 NO no  such mailbox\r\n" + "* BYE bye\r\n"
                + "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n" + "* 172 EXISTS\r\n"
                + "* LIST (\\HasNoChildren) \"/\" INBOX\r\n" + "+ Ready\r\n" + "{1234}\r\n")
    }
}
