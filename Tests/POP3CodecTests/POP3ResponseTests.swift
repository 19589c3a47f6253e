import NIOCore
import POP3Codec
import Testing

@Suite struct POP3ResponseTests {
    static let fixtures: [(POP3Response, String)] = [
        (.ok(""), "+OK\r\n"),
        (.ok("2 320"), "+OK 2 320\r\n"),
        (.err("no such message"), "-ERR no such message\r\n"),
        (.err("maildrop locked", code: .inUse), "-ERR [IN-USE] maildrop locked\r\n"),
        (.err("wait", code: .loginDelay), "-ERR [LOGIN-DELAY] wait\r\n"),
        (.err("later", code: .systemTemporary), "-ERR [SYS/TEMP] later\r\n"),
        (.err("never", code: .systemPermanent), "-ERR [SYS/PERM] never\r\n"),
        (.err("bad", code: .authentication), "-ERR [AUTH] bad\r\n"),
        (.ok("split\r\nline"), "+OK split  line\r\n"),
        (.multiLine("2 messages", lines: ["1 120", "2 200"]), "+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n"),
        (.multiLine("uids", lines: [".dot", "..two", "x."]), "+OK uids\r\n..dot\r\n...two\r\nx.\r\n.\r\n"),
        (.multiLine("empty", lines: []), "+OK empty\r\n.\r\n"),
        (.multiLine("blank line", lines: [""]), "+OK blank line\r\n\r\n.\r\n"),
        (.continuation(ByteBuffer()), "+ \r\n"),
        (.continuation(ByteBuffer(string: "Username:")), "+ VXNlcm5hbWU6\r\n"),
    ]

    @Test(arguments: fixtures)
    func encodes(response: POP3Response, expected: String) {
        #expect(String(buffer: response.encoded) == expected)
    }

    /// RFC 2449 §4: a status line is at most 512 octets including CRLF.
    @Test func statusLineIsCutAt512Octets() {
        let long = POP3Response.err(String(repeating: "é", count: 400))
        let encoded = String(buffer: long.encoded)
        #expect(encoded.utf8.count <= 512)
        #expect(encoded.hasSuffix("é\r\n"))
        #expect(String(buffer: POP3Response.ok(String(repeating: "a", count: 600)).encoded).utf8.count == 512)
    }

    @Test func okIsDistinguished() {
        #expect(POP3Response.ok("x").isOK)
        #expect(POP3Response.multiLine("x", lines: []).isOK)
        #expect(!POP3Response.err("x").isOK)
    }
}
