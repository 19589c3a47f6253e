import Foundation
import MailMessage
import Testing

/// The bounce composer (RFC 3464 in RFC 6522), read back with the module's own parser: its
/// structure, its fields, and what it does with hostile or oversized inputs.
@Suite struct DeliveryStatusNotificationTests {
    typealias DSN = DeliveryStatusNotification

    static let header = Array(
        ("Received: from client.remote.test ([192.0.2.7])\r\n\tby mx.example.test (Loft) with ESMTP id x1; Tue, 1 Jul 2025 10:52:30 +0000\r\n"
            + "From: Carol <carol@remote.test>\r\nTo: alice@example.test, small@example.test\r\nSubject: Lunch\r\n"
            + "Message-ID: <lunch-1@remote.test>\r\n\r\n").utf8)

    static func report(
        recipients: [DSN.Recipient] = [
            DSN.Recipient(
                finalRecipient: "small@example.test", status: DSN.Status(5, 2, 3)!,
                diagnostic: "552 5.2.3 message exceeds the recipient's limit of 1024 bytes")
        ],
        header: [UInt8] = header, returnPath: String = "carol@remote.test", envelopeID: String? = nil,
        seed: String = "Q2hlY2sgSW50ZWdyaXR5"
    ) -> DSN {
        DSN(
            reportingMTA: "mx.example.test", returnPath: returnPath, arrivalDate: 1_751_367_150, date: 1_751_367_157,
            messageID: "dsn-1", originalEnvelopeID: envelopeID, recipients: recipients, originalHeader: header, boundarySeed: seed)
    }

    /// The lines of a message (CRLF-separated), the last (empty after the final CRLF) dropped.
    static func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0D, i + 1 < bytes.count, bytes[i + 1] == 0x0A {
                lines.append(current)
                current = []
                i += 2
            } else {
                current.append(bytes[i])
                i += 1
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    /// What every report must be: 7-bit, CRLF only, lines of at most 998 octets.
    static func expectWellFormed(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(bytes.allSatisfy { $0 < 0x80 && $0 != 0 }, "8-bit or NUL byte", sourceLocation: sourceLocation)
        for (i, byte) in bytes.enumerated() {
            if byte == 0x0D { #expect(i + 1 < bytes.count && bytes[i + 1] == 0x0A, "bare CR at \(i)", sourceLocation: sourceLocation) }
            if byte == 0x0A { #expect(i > 0 && bytes[i - 1] == 0x0D, "bare LF at \(i)", sourceLocation: sourceLocation) }
        }
        #expect(lines(bytes).allSatisfy { $0.count <= 998 }, "a line over 998 octets", sourceLocation: sourceLocation)
        #expect(bytes.suffix(2) == [0x0D, 0x0A], sourceLocation: sourceLocation)
    }

    static func text(_ bytes: [UInt8], _ part: BodyStructure) -> String {
        String(decoding: bytes[part.bodyStart..<part.end], as: UTF8.self)
    }

    static func parts(_ parsed: ParsedMessage) -> [BodyStructure] {
        if case .multipart(let children) = parsed.body.content { return children }
        return []
    }

    @Test func structureIsAMultipartReportOfThreeParts() throws {
        let bytes = Self.report().encoded()
        Self.expectWellFormed(bytes)
        let parsed = MessageParser.parse(bytes)
        #expect(!parsed.truncated)
        #expect(parsed.body.type == "multipart" && parsed.body.subtype == "report")
        #expect(parsed.body.parameters.contains(MIMEParameter(name: "report-type", value: "delivery-status")))
        let parts = Self.parts(parsed)
        #expect(parts.map { "\($0.type)/\($0.subtype)" } == ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        #expect(parts.map(\.encoding) == ["7BIT", "7BIT", "7BIT"])

        let fields = HeaderFields(parsing: bytes)
        #expect(fields["From"] == "Mail Delivery System <MAILER-DAEMON@mx.example.test>")
        #expect(fields["To"] == "<carol@remote.test>")
        #expect(fields["Subject"] == "Undelivered Mail Returned to Sender")
        #expect(fields["Date"] == "Tue, 1 Jul 2025 10:52:37 +0000")
        #expect(fields["Message-ID"] == "<dsn-1@mx.example.test>")
        #expect(fields["Auto-Submitted"] == "auto-replied")
        #expect(fields["MIME-Version"] == "1.0")
        #expect(parsed.envelope.messageID == "<dsn-1@mx.example.test>")

        #expect(Self.text(bytes, parts[0]).contains("<small@example.test>:\r\n    552 5.2.3 message exceeds"))
        let status = Self.text(bytes, parts[1])
        #expect(
            status == """
                Reporting-MTA: dns; mx.example.test\r
                Arrival-Date: Tue, 1 Jul 2025 10:52:30 +0000\r
                \r
                Final-Recipient: rfc822; small@example.test\r
                Action: failed\r
                Status: 5.2.3\r
                Diagnostic-Code: smtp; 552 5.2.3 message exceeds the recipient's limit of 1024 bytes\r

                """)
        // The original header without its blank line, as it was.
        #expect(Array(bytes[parts[2].bodyStart..<parts[2].end]) == Array(Self.header.dropLast(2)))
    }

    @Test func theSameInputsMakeTheSameBytes() {
        #expect(Self.report().encoded() == Self.report().encoded())
        #expect(Self.report(seed: "other").encoded() != Self.report().encoded())
    }

    @Test func optionalFieldsAppearOnlyWhenGiven() {
        let recipients = [
            DSN.Recipient(
                finalRecipient: "bob@example.test", originalRecipient: "Bob@Example.test", expandedFrom: "team@example.test",
                status: DSN.Status(5, 2, 2)!, diagnostic: nil),
            DSN.Recipient(finalRecipient: "carl@example.test", status: DSN.Status(5, 1, 1)!, diagnostic: "550 5.1.1 no such user here"),
        ]
        let bytes = Self.report(recipients: recipients, envelopeID: "Env-ID.42").encoded()
        let parts = Self.parts(MessageParser.parse(bytes))
        let status = Self.text(bytes, parts[1])
        #expect(status.hasPrefix("Original-Envelope-Id: Env-ID.42\r\nReporting-MTA: dns; mx.example.test\r\n"))
        #expect(status.contains("\r\n\r\nOriginal-Recipient: rfc822; Bob@Example.test\r\nFinal-Recipient: rfc822; bob@example.test\r\n"))
        #expect(status.contains("Status: 5.2.2\r\n\r\nFinal-Recipient: rfc822; carl@example.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"))
        #expect(status.components(separatedBy: "Original-Recipient").count == 2)
        #expect(status.components(separatedBy: "Diagnostic-Code").count == 2)
        let human = Self.text(bytes, parts[0])
        #expect(human.contains("<bob@example.test> (reached through <team@example.test>):\r\n    status 5.2.2\r\n"))
    }

    /// Inputs from outside, each of which must neither break the report's syntax nor inject
    /// anything into it: the result is well-formed, parses as three parts, and no field is
    /// added to the report's header.
    @Test(arguments: [
        ("CRLF in the address", "carol@remote.test\r\nBcc: victim@example.test", "552 5.2.2 full", "carol@remote.test??Bcc: victim"),
        ("8-bit address", "zo\u{EB}@remote.test", "552 5.2.2 full", "zo?@remote.test"),
        ("CRLF in the diagnostic", "carol@remote.test", "552 5.2.2 full\r\nStatus: 2.0.0", "552 5.2.2 full??Status: 2.0.0"),
        ("NUL and DEL", "carol@remote.test", "552\u{0}5.2.2\u{7F}", "552?5.2.2?"),
        ("tab", "carol@remote.test", "552\t5.2.2", "552 5.2.2"),
        ("long diagnostic", "carol@remote.test", String(repeating: "d", count: 5000), String(repeating: "d", count: DSN.maxTextBytes)),
    ])
    func hostileTextIsSanitized(_ what: String, address: String, diagnostic: String, expected: String) {
        let recipients = [DSN.Recipient(finalRecipient: address, status: DSN.Status(5, 2, 2)!, diagnostic: diagnostic)]
        let bytes = Self.report(recipients: recipients, returnPath: address).encoded()
        Self.expectWellFormed(bytes)
        let parsed = MessageParser.parse(bytes)
        #expect(Self.parts(parsed).count == 3, "\(what)")
        let fields = HeaderFields(parsing: bytes)
        #expect(
            fields.map(\.name) == [
                "From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "MIME-Version", "Content-Type",
                "Content-Transfer-Encoding",
            ])
        let status = Self.text(bytes, Self.parts(parsed)[1])
        #expect(status.contains(expected), "\(what): \(status)")
        #expect(status.components(separatedBy: "\r\nStatus: ").count == 2, "\(what): one Status field")
        #expect(!status.contains(String(repeating: "d", count: DSN.maxTextBytes + 1)))
    }

    /// The returned header: as it is when 7-bit clean, quoted-printable otherwise, with CRLF
    /// line ends, cut at `maxHeaderBytes`; decoding gives the header back.
    @Test(arguments: [
        ("7-bit", "Subject: plain\r\n\r\n", "7BIT", "Subject: plain\r\n"),
        ("no blank line", "Subject: plain", "7BIT", "Subject: plain\r\n"),
        ("bare LF", "Subject: a\nFrom: b\n\n", "7BIT", "Subject: a\r\nFrom: b\r\n"),
        ("8-bit", "Subject: Grüße\r\n\r\n", "QUOTED-PRINTABLE", "Subject: Grüße\r\n"),
        (
            "long line", "X-Long: " + String(repeating: "x", count: 2000) + "\r\n", "QUOTED-PRINTABLE",
            "X-Long: " + String(repeating: "x", count: 2000) + "\r\n"
        ),
    ])
    func returnedHeader(_ what: String, header: String, encoding: String, decoded: String) throws {
        let bytes = Self.report(header: Array(header.utf8)).encoded()
        Self.expectWellFormed(bytes)
        let parts = Self.parts(MessageParser.parse(bytes))
        try #require(parts.count == 3, "\(what)")
        #expect(parts[2].encoding == encoding, "\(what)")
        let content = Array(bytes[parts[2].bodyStart..<parts[2].end])
        #expect(TransferDecoding.decode(content, encoding: encoding) == Array(decoded.utf8), "\(what)")
    }

    @Test func aHeaderLongerThanTheLimitIsCutAtALineEnd() throws {
        let line = "X-Filler: " + String(repeating: "f", count: 90) + "\r\n"
        let header = String(repeating: line, count: DSN.maxHeaderBytes / line.utf8.count + 10) + "\r\n"
        let bytes = Self.report(header: Array(header.utf8)).encoded()
        Self.expectWellFormed(bytes)
        let parts = Self.parts(MessageParser.parse(bytes))
        try #require(parts.count == 3)
        let returned = Self.text(bytes, parts[2])
        #expect(returned.utf8.count <= DSN.maxHeaderBytes)
        #expect(returned.hasSuffix(line) && returned.utf8.count % line.utf8.count == 0)
        #expect(Self.text(bytes, parts[0]).contains("cut short"))
    }

    @Test func noHeaderMeansTwoParts() {
        for header in ["", "\r\n"] {
            let bytes = Self.report(header: Array(header.utf8)).encoded()
            Self.expectWellFormed(bytes)
            let parts = Self.parts(MessageParser.parse(bytes))
            #expect(parts.map(\.subtype) == ["plain", "delivery-status"])
        }
    }

    /// A header that contains the boundary (its seed guessed) does not end the part early.
    @Test func theBoundaryAvoidsTheContent() throws {
        let header = Array("Subject: x\r\n--=_seed\r\nX-Trick: --=_seed--\r\n\r\n".utf8)
        let bytes = Self.report(header: header, seed: "seed").encoded()
        let parsed = MessageParser.parse(bytes)
        let boundary = try #require(parsed.body.parameters.first { $0.name == "boundary" }?.value)
        #expect(boundary != "=_seed" && boundary.hasPrefix("=_seed"))
        let parts = Self.parts(parsed)
        #expect(parts.count == 3)
        #expect(Self.text(bytes, parts[2]) == "Subject: x\r\n--=_seed\r\nX-Trick: --=_seed--\r\n")
    }

    /// RFC 3464 §2.3.3 "expanded" (RFC 3461 §5.2.7.3 (c)): a success report that says more may
    /// follow.
    @Test func anExpandedRecipient() throws {
        let recipients = [
            DSN.Recipient(
                finalRecipient: "team@example.test", originalRecipient: "Team@example.test", status: DSN.Status(2, 0, 0)!,
                diagnostic: "250 2.0.0 passed on to 3 addresses", action: .expanded)
        ]
        let bytes = Self.report(recipients: recipients).encoded()
        Self.expectWellFormed(bytes)
        #expect(HeaderFields(parsing: bytes)["Subject"] == "Successful Mail Delivery Report")
        let parts = Self.parts(MessageParser.parse(bytes))
        try #require(parts.count == 3)
        #expect(Self.text(bytes, parts[0]).contains("which pass it on to\r\nseveral other addresses"))
        #expect(
            Self.text(bytes, parts[1]).contains(
                "Original-Recipient: rfc822; Team@example.test\r\nFinal-Recipient: rfc822; team@example.test\r\n"
                    + "Action: expanded\r\nStatus: 2.0.0\r\n"))
    }

    @Test func manyRecipientsAreListedUpToTheLimit() {
        let recipients = (0..<(DSN.maxRecipients + 5)).map {
            DSN.Recipient(finalRecipient: "r\($0)@example.test", status: DSN.Status(5, 2, 2)!)
        }
        let bytes = Self.report(recipients: recipients).encoded()
        Self.expectWellFormed(bytes)
        let parts = Self.parts(MessageParser.parse(bytes))
        #expect(Self.text(bytes, parts[1]).components(separatedBy: "Final-Recipient:").count == DSN.maxRecipients + 1)
        #expect(Self.text(bytes, parts[0]).contains("... and 5 more recipients"))
    }

    @Test(
        arguments: [
            ((5, 2, 2), "5.2.2"), ((4, 4, 1), "4.4.1"), ((2, 0, 0), "2.0.0"), ((5, 999, 999), "5.999.999"),
            ((3, 0, 0), nil), ((5, 1000, 0), nil), ((5, 0, -1), nil),
        ] as [((Int, Int, Int), String?)])
    func statusCodes(_ parts: (Int, Int, Int), _ text: String?) {
        #expect(DSN.Status(parts.0, parts.1, parts.2)?.description == text)
    }

    @Test(
        arguments: [
            (0, "Thu, 1 Jan 1970 00:00:00 +0000"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 +0000"),
            (1_751_367_157, "Tue, 1 Jul 2025 10:52:37 +0000"),
            (4_102_444_799, "Thu, 31 Dec 2099 23:59:59 +0000"),
        ] as [(Int64, String)])
    func datesAreFormatted(_ seconds: Int64, _ text: String) {
        #expect(MessageDate.format(seconds) == text)
        #expect(MessageDate.parse(text)?.timeIntervalSince1970 == Double(seconds))
    }
}
