import Foundation
import MailMessage
import Testing

/// RET (RFC 3461 §4.3, §6.2): what the third part of a report returns of the original message,
/// by RET and size, and how a whole message is carried (RFC 2046 §5.2.1, RFC 6532 §3.7).
@Suite struct ReturnedContentTests {
    typealias DSN = DeliveryStatusNotification
    typealias Fixture = DeliveryStatusNotificationTests

    static let body = "Hello Alice,\r\n\r\nsee you at noon.\r\n-- \r\nCarol\r\n"
    static let message = Fixture.header + Array(body.utf8)

    /// A message of `size` bytes: the fixture header and a body of filler lines.
    static func message(size: Int) -> [UInt8] {
        var bytes = Fixture.header
        let line = Array((String(repeating: "b", count: 76) + "\r\n").utf8)
        while bytes.count + line.count <= size { bytes += line }
        bytes += Array(repeating: UInt8(ascii: "c"), count: size - bytes.count)
        return bytes
    }

    enum Expected: Sendable, CustomStringConvertible {
        case header, message, tooLarge
        var description: String { "\(self == .header ? "header" : self == .message ? "message" : "too large")" }
    }

    static let cap = DSN.maxReturnedMessageBytes

    /// RET × size, for a report of a failure: the whole message for FULL (any case) up to the
    /// cap, the header above it and for HDRS or no RET; the message is read only when returned.
    @Test(
        arguments: [
            ("FULL", 100, Expected.message), ("full", 100, .message), ("Full", cap, .message), ("FULL", cap + 1, .tooLarge),
            ("HDRS", 100, .header), ("HDRS", cap + 1, .header), (nil, 100, .header), (nil, cap + 1, .header),
        ] as [(String?, Int, Expected)])
    func choice(_ ret: String?, _ size: Int, _ expected: Expected) {
        var reads = 0
        let returned = DSN.returnedContent(ret: ret, size: Int64(size), failed: true) {
            reads += 1
            return [1, 2, 3]
        }
        switch expected {
        case .header: #expect(returned == .header)
        case .message: #expect(returned == .message([1, 2, 3]))
        case .tooLarge: #expect(returned == .tooLarge(size: Int64(size)))
        }
        #expect(reads == (expected == .message ? 1 : 0), "read only when returned whole")
    }

    /// RFC 3461 §4.3: a report that tells of no failure returns the header, RET=FULL or not.
    @Test func onlyAReportOfFailuresReadsTheMessage() {
        let returned = DSN.returnedContent(ret: "FULL", size: 100, failed: false) {
            Issue.record("read for a report without failures")
            return []
        }
        #expect(returned == .header)
    }

    /// The composed report for each case: the third part's type, its content, and what the
    /// explanation says about it.
    @Test(
        arguments: [
            ("FULL", false, "message/rfc822", "Your message is attached."),
            ("FULL", true, "text/rfc822-headers", "more than the \(cap) bytes returned\r\nin full, so only its header is attached."),
            ("HDRS", false, "text/rfc822-headers", "The header of your message is attached."),
            ("HDRS", true, "text/rfc822-headers", "The header of your message is attached."),
            (nil, false, "text/rfc822-headers", "The header of your message is attached."),
            (nil, true, "text/rfc822-headers", "The header of your message is attached."),
        ] as [(String?, Bool, String, String)])
    func composition(_ ret: String?, _ overCap: Bool, _ type: String, _ note: String) throws {
        let original = overCap ? Self.message(size: Self.cap + 1) : Self.message
        #expect(original.count == (overCap ? Self.cap + 1 : Self.message.count))
        var report = Fixture.report()
        report.returned = DSN.returnedContent(ret: ret, size: Int64(original.count), failed: true) { original }
        let bytes = report.encoded()
        Fixture.expectWellFormed(bytes)
        let parsed = MessageParser.parse(bytes)
        let parts = Fixture.parts(parsed)
        try #require(parts.count == 3)
        #expect("\(parts[2].type)/\(parts[2].subtype)" == type)
        #expect(parts[2].encoding == "7BIT")
        let content = Array(bytes[parts[2].bodyStart..<parts[2].end])
        if type == "message/rfc822" {
            #expect(content == original, "the whole message, as it was")
            #expect(parts[2].description == "Undelivered message")
        } else {
            #expect(content == Array(Fixture.header.dropLast(2)), "the header only")
        }
        let human = Fixture.text(bytes, parts[0])
        #expect(human.contains(note), "\(human)")
        #expect(bytes.count < Self.cap + 64 * 1024, "a message over the cap is not carried")
    }

    /// RFC 3461 §4.3 and §6.2: a delay warning, a success or a relayed notice returns the
    /// header even when given the whole message.
    @Test(arguments: [DSN.Action.delayed, .delivered, .relayed, .expanded])
    func aReportOfNoFailureReturnsTheHeader(_ action: DSN.Action) throws {
        var report = Fixture.report(recipients: [
            DSN.Recipient(finalRecipient: "small@example.test", status: DSN.Status(action == .delayed ? 4 : 2, 0, 0)!, action: action)
        ])
        report.returned = .message(Self.message)
        let bytes = report.encoded()
        let parts = Fixture.parts(MessageParser.parse(bytes))
        try #require(parts.count == 3)
        #expect("\(parts[2].type)/\(parts[2].subtype)" == "text/rfc822-headers")
        #expect(!Fixture.text(bytes, parts[0]).contains("Your message is attached"))
    }

    /// A report of failures and successes together returns the whole message: it tells of a
    /// failure.
    @Test func aMixedReportReturnsTheMessage() throws {
        var report = Fixture.report(recipients: [
            DSN.Recipient(finalRecipient: "bob@example.test", status: DSN.Status(2, 0, 0)!, action: .delivered),
            DSN.Recipient(finalRecipient: "small@example.test", status: DSN.Status(5, 2, 3)!),
        ])
        report.returned = .message(Self.message)
        let parts = Fixture.parts(MessageParser.parse(report.encoded()))
        #expect(parts.map(\.subtype) == ["plain", "delivery-status", "rfc822"])
    }

    /// A message that is not 7-bit text (8-bit bytes, or a line over 998 octets) comes back as
    /// `message/global` in base64 (RFC 6532 §3.7), so the report stays 7-bit; decoded, it is
    /// the message with CRLF line ends.
    @Test(arguments: [
        (
            "8-bit body", "Subject: Gr\u{FC}\u{DF}e\r\n\r\nGr\u{FC}\u{DF}e aus K\u{F6}ln\r\n",
            "Subject: Gr\u{FC}\u{DF}e\r\n\r\nGr\u{FC}\u{DF}e aus K\u{F6}ln\r\n"
        ),
        (
            "long line", "Subject: x\r\n\r\n" + String(repeating: "y", count: 1200) + "\r\n",
            "Subject: x\r\n\r\n" + String(repeating: "y", count: 1200) + "\r\n"
        ),
        ("bare LF, 8-bit", "Subject: \u{E9}\n\nbody\n", "Subject: \u{E9}\r\n\r\nbody\r\n"),
    ])
    func aMessageThatIsNotSevenBitIsMessageGlobal(_ what: String, _ message: String, _ decoded: String) throws {
        var report = Fixture.report()
        report.returned = .message(Array(message.utf8))
        let bytes = report.encoded()
        Fixture.expectWellFormed(bytes)
        let parts = Fixture.parts(MessageParser.parse(bytes))
        try #require(parts.count == 3, "\(what)")
        #expect("\(parts[2].type)/\(parts[2].subtype)" == "message/global", "\(what)")
        #expect(parts[2].encoding == "BASE64", "\(what)")
        let content = Array(bytes[parts[2].bodyStart..<parts[2].end])
        #expect(TransferDecoding.decode(content, encoding: "base64") == Array(decoded.utf8), "\(what)")
    }

    /// Bare LFs in a 7-bit message become CRLF, and it stays message/rfc822.
    @Test func bareLineFeedsBecomeCRLF() throws {
        var report = Fixture.report()
        report.returned = .message(Array("Subject: a\n\nline one\nline two".utf8))
        let bytes = report.encoded()
        Fixture.expectWellFormed(bytes)
        let parts = Fixture.parts(MessageParser.parse(bytes))
        try #require(parts.count == 3)
        #expect(parts[2].subtype == "rfc822")
        #expect(Fixture.text(bytes, parts[2]) == "Subject: a\r\n\r\nline one\r\nline two\r\n")
    }

    /// A returned message that contains the boundary the seed would make (a guessed seed, or
    /// an earlier report quoted) does not end the part early.
    @Test func theBoundaryAvoidsTheReturnedMessage() throws {
        var report = Fixture.report(seed: "seed")
        let message = "Subject: x\r\n\r\n--=_seed\r\nContent-Type: text/plain\r\n\r\nfake\r\n--=_seed--\r\n"
        report.returned = .message(Array(message.utf8))
        let bytes = report.encoded()
        let parsed = MessageParser.parse(bytes)
        let boundary = try #require(parsed.body.parameters.first { $0.name == "boundary" }?.value)
        #expect(boundary != "=_seed")
        let parts = Fixture.parts(parsed)
        try #require(parts.count == 3)
        #expect(Fixture.text(bytes, parts[2]) == message)
    }

    /// A whole message given over the cap is not returned even when a caller skipped
    /// `returnedContent`: the composer holds the limit too.
    @Test func theComposerHoldsTheCap() throws {
        var report = Fixture.report()
        report.returned = .message(Self.message(size: Self.cap + 1))
        let bytes = report.encoded()
        let parts = Fixture.parts(MessageParser.parse(bytes))
        try #require(parts.count == 3)
        #expect(parts[2].subtype == "rfc822-headers")
        #expect(Fixture.text(bytes, parts[0]).contains("Your message was \(Self.cap + 1) bytes"))
    }

    /// RFC 2045 §6.8: lines of at most 76 characters, CRLF after each; decoding gives the bytes
    /// back.
    @Test(arguments: [0, 1, 2, 3, 56, 57, 58, 1000])
    func base64Lines(_ count: Int) {
        let input = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let encoded = TransferEncoding.base64(input)
        let lines = Fixture.lines(encoded)
        #expect(lines.allSatisfy { $0.count <= TransferEncoding.maxBase64Line })
        #expect(lines.dropLast().allSatisfy { $0.count == TransferEncoding.maxBase64Line })
        #expect(encoded.isEmpty == (count == 0))
        if count > 0 { #expect(encoded.suffix(2) == [0x0D, 0x0A]) }
        #expect(TransferDecoding.decode(encoded, encoding: "base64") == input)
    }
}
