import MailMessage
import Testing

/// Hand-built messages whose sizes, line counts and offsets are known exactly.
@Suite struct BodyStructureTests {
    @Test func singlePartSizesAndLines() throws {
        let bytes = Fixtures.crlf("Subject: x", "", "line one", "line two", "")
        let message = MessageParser.parse(bytes)
        let body = message.body
        #expect(body.type == "text" && body.subtype == "plain")
        #expect(body.parameters == [MIMEParameter(name: "charset", value: "us-ascii")])
        #expect(body.encoding == "7BIT")
        #expect(body.headerRange == 0..<14)
        #expect(body.size == 20)
        #expect(body.lines == 2)
        #expect(message.part(at: [1]) == body)
        #expect(message.part(at: [2]) == nil)
    }

    /// Line breaks, as Dovecot counts them: a last line without one is not a line.
    @Test(arguments: [
        ("", 0),
        ("a", 0),
        ("a\r\n", 1),
        ("a\r\nb", 1),
        ("\r\n\r\n", 2),
        ("a\nb\n", 2),
    ])
    func lineCounts(body: String, lines: Int) {
        let message = MessageParser.parse(Array(("Content-Type: text/plain\r\n\r\n" + body).utf8))
        #expect(message.body.lines == lines)
        #expect(message.body.size == body.utf8.count)
    }

    static let nested = Fixtures.crlf(
        "From: a@example.com",
        "Content-Type: multipart/mixed; boundary=outer",
        "",
        "preamble",
        "--outer",
        "Content-Type: text/plain; charset=utf-8",
        "Content-ID: <part1@example.com>",
        "Content-Description: first",
        "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==",
        "Content-Language: en, de (German)",
        "Content-Location: http://example.com/1",
        "",
        "one",
        "--outer   ",
        "Content-Type: multipart/alternative; boundary=out",
        "",
        "--out",
        "",
        "no header here",
        "--out--",
        "--outer",
        "Content-Type: message/rfc822",
        "",
        "Subject: inner",
        "",
        "inner body",
        "--outer--",
        "epilogue",
        "")

    @Test func nestedOffsetsSliceBackToTheParts() throws {
        let bytes = Self.nested
        let message = MessageParser.parse(bytes)
        #expect(message.truncated == false)
        let first = try #require(message.part(at: [1]))
        #expect(Fixtures.text(bytes, first.bodyRange) == "one")
        #expect(first.id == "<part1@example.com>")
        #expect(first.description == "first")
        #expect(first.md5 == "Q2hlY2sgSW50ZWdyaXR5IQ==")
        #expect(first.language == ["en", "de"])
        #expect(first.location == "http://example.com/1")
        #expect(first.lines == 0, "\"one\" before the boundary's CRLF: no line break")
        #expect(Fixtures.text(bytes, first.headerRange).hasPrefix("Content-Type: text/plain; charset=utf-8\r\n"))
        #expect(Fixtures.text(bytes, first.headerRange).hasSuffix("example.com/1\r\n\r\n"))

        // "out" is a prefix of "outer": the inner scan must not stop at "--outer".
        let alternative = try #require(message.part(at: [2]))
        #expect(alternative.subtype == "alternative")
        #expect(alternative.children.count == 1)
        let headerless = try #require(message.part(at: [2, 1]))
        #expect(headerless.headerRange.count == 2)
        #expect(Fixtures.text(bytes, headerless.bodyRange) == "no header here")
        #expect(headerless.type == "text" && headerless[parameter: "charset"] == "us-ascii")

        let embedded = try #require(message.part(at: [3]))
        #expect(embedded.embeddedEnvelope?.subject == "inner")
        #expect(embedded.lines == 2)
        #expect(Fixtures.text(bytes, embedded.bodyRange) == "Subject: inner\r\n\r\ninner body")
        let inner = try #require(message.part(at: [3, 1]))
        #expect(Fixtures.text(bytes, inner.bodyRange) == "inner body")
        #expect(Fixtures.text(bytes, inner.headerRange) == "Subject: inner\r\n\r\n")
        #expect(message.part(at: [3, 2]) == nil)
    }

    @Test func everyByteAtATimePrefixParses() {
        // Each prefix of a message is itself an input; none may crash or leave bounds.
        let bytes = Self.nested
        for length in 0...bytes.count {
            let message = MessageParser.parse(Array(bytes[..<length]))
            #expect(message.body.end == length)
        }
    }

    @Test func bareLineFeedsMatchCRLF() {
        let crlf = MessageParser.parse(Self.nested)
        let lf = MessageParser.parse(
            Array(String(decoding: Self.nested, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n").utf8))
        #expect(lf.body.children.count == crlf.body.children.count)
        #expect(lf.part(at: [3])?.embeddedEnvelope == crlf.part(at: [3])?.embeddedEnvelope)
        #expect(lf.part(at: [2, 1])?.size == crlf.part(at: [2, 1])?.size)
    }

    @Test func multipartExtensionData() throws {
        let bytes = Fixtures.crlf(
            "Content-Type: multipart/related; boundary=\"b\"; type=\"text/html\"",
            "Content-Disposition: inline",
            "Content-Language: fr",
            "",
            "--b",
            "Content-Type: text/html",
            "Content-Transfer-Encoding: quoted-printable",
            "",
            "<p>caf=C3=A9</p>",
            "--b--")
        let message = MessageParser.parse(bytes)
        #expect(
            message.body.parameters == [
                MIMEParameter(name: "boundary", value: "b"), MIMEParameter(name: "type", value: "text/html"),
            ])
        #expect(message.body.disposition?.type == "inline")
        #expect(message.body.language == ["fr"])
        let html = try #require(message.part(at: [1]))
        #expect(html.encoding == "QUOTED-PRINTABLE")
        #expect(html.parameters.isEmpty)
        let decoded = TransferDecoding.decode(Array(bytes[html.bodyRange]), encoding: html.encoding)
        #expect(decoded.map { String(decoding: $0, as: UTF8.self) } == "<p>café</p>")
    }
}
