import MailMessage
import Testing

@Suite struct EnvelopeTests {
    struct AddressCase: Sendable, CustomStringConvertible {
        var input: String
        var expected: [EnvelopeAddress]
        var description: String { input }
    }

    static func box(_ name: String?, _ mailbox: String?, _ host: String?) -> EnvelopeAddress {
        EnvelopeAddress(name: name, mailbox: mailbox, host: host)
    }

    static func box(_ mailbox: String?, _ host: String?, adl: String? = nil) -> EnvelopeAddress {
        EnvelopeAddress(adl: adl, mailbox: mailbox, host: host)
    }

    static let addressCases: [AddressCase] = [
        AddressCase(input: "user@example.com", expected: [box("user", "example.com")]),
        AddressCase(input: "John Doe <jdoe@example.com>", expected: [box("John Doe", "jdoe", "example.com")]),
        AddressCase(input: "\"Doe, John\" <jdoe@example.com>", expected: [box("Doe, John", "jdoe", "example.com")]),
        AddressCase(input: "\"quoted \\\"pair\\\"\" <a@b>", expected: [box("quoted \"pair\"", "a", "b")]),
        AddressCase(input: "jdoe@example.com (John Doe)", expected: [box("John Doe", "jdoe", "example.com")]),
        AddressCase(
            input: "John (middle (nested)) Doe <jdoe@example.com>", expected: [box("John Doe", "jdoe", "example.com")]),
        AddressCase(
            input: "=?utf-8?Q?J=C3=B6rg?= <j@example.com>, \"=?iso-8859-1?Q?Andr=E9?=\" <a@example.com>",
            expected: [
                box("=?utf-8?Q?J=C3=B6rg?=", "j", "example.com"), box("=?iso-8859-1?Q?Andr=E9?=", "a", "example.com"),
            ]),
        AddressCase(
            input: "a@example.com, b@example.org,,c@example.net",
            expected: [box("a", "example.com"), box("b", "example.org"), box("c", "example.net")]),
        AddressCase(
            input: "Friends: alice@example.com, Bob <bob@example.com>;, carol@example.com",
            expected: [
                box("Friends", nil), box("alice", "example.com"), box("Bob", "bob", "example.com"), box(nil, nil, nil),
                box("carol", "example.com"),
            ]),
        AddressCase(
            input: "undisclosed-recipients:;", expected: [box("undisclosed-recipients", nil), box(nil, nil, nil)]),
        AddressCase(input: "Group: a@b", expected: [box("Group", nil), box("a", "b"), box(nil, nil, nil)]),
        AddressCase(
            input: "<@relay.example,@other.example:user@example.com>",
            expected: [box("user", "example.com", adl: "@relay.example,@other.example")]),
        AddressCase(input: "John Q. Public <jqp@example.com>", expected: [box("John Q. Public", "jqp", "example.com")]),
        AddressCase(input: "\"john doe\"@example.com", expected: [box("\"john doe\"", "example.com")]),
        AddressCase(input: "user@[192.0.2.1]", expected: [box("user", "[192.0.2.1]")]),
        AddressCase(input: "user @ example . com", expected: [box("user", "example.com")]),
        AddressCase(input: "postmaster", expected: [box("postmaster", "")]),
        AddressCase(input: "", expected: []),
        AddressCase(input: "<>", expected: [box("", "")]),
        AddressCase(input: ">>> garbage <<< a@b", expected: [box("garbage", "", "")]),
        AddressCase(input: "a@b >junk<, c@d", expected: [box("a", "b"), box("junk", "", ""), box("c", "d")]),
        AddressCase(
            input: "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
            expected: [
                box("Mary Smith", "mary", "x.test"), box("jdoe", "example.org"), box("Who?", "one", "y.test"),
            ]),
        AddressCase(input: "\"Unclosed <a@b>", expected: [box("\"Unclosed <a@b>", "")]),
        AddressCase(input: "Müller <m@exämple.de>", expected: [box("Müller", "m", "exämple.de")]),
    ]

    @Test(arguments: addressCases)
    func addressList(_ test: AddressCase) {
        #expect(AddressParser.parse(test.input) == test.expected)
    }

    @Test func groupMarkers() {
        let addresses = AddressParser.parse("A Group: x@y;")
        #expect(addresses.first?.isGroupStart == true)
        #expect(addresses.last?.isGroupEnd == true)
        #expect(addresses[1].address == "x@y")
    }

    @Test func decodedName() {
        let address = AddressParser.parse("=?utf-8?B?SsO2cmc=?= <j@example.com>")[0]
        #expect(address.name == "=?utf-8?B?SsO2cmc=?=")
        #expect(address.decodedName == "Jörg")
    }

    static func envelope(_ header: String) -> Envelope {
        MessageParser.parse(Array((header + "\r\n\r\nbody\r\n").utf8)).envelope
    }

    @Test func fullEnvelope() {
        let envelope = Self.envelope(
            """
            Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
            From: Terry Gray <gray@cac.washington.edu>
            Subject: IMAP4rev1 WG mtg summary and minutes
            To: imap@cac.washington.edu
            cc: minutes@CNRI.Reston.VA.US,
             John Klensin <KLENSIN@MIT.EDU>
            Message-Id: <B27397-0100000@cac.washington.edu>
            In-Reply-To: <parent@example.com>
            Bcc: hidden@example.com
            """.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(envelope.date == "Wed, 17 Jul 1996 02:23:25 -0700 (PDT)")
        #expect(envelope.subject == "IMAP4rev1 WG mtg summary and minutes")
        #expect(envelope.from == [Self.box("Terry Gray", "gray", "cac.washington.edu")])
        #expect(envelope.sender == envelope.from)
        #expect(envelope.replyTo == envelope.from)
        #expect(envelope.to == [Self.box("imap", "cac.washington.edu")])
        #expect(
            envelope.cc == [Self.box("minutes", "CNRI.Reston.VA.US"), Self.box("John Klensin", "KLENSIN", "MIT.EDU")])
        #expect(envelope.bcc == [Self.box("hidden", "example.com")])
        #expect(envelope.messageID == "<B27397-0100000@cac.washington.edu>")
        #expect(envelope.inReplyTo == "<parent@example.com>")
    }

    @Test func missingHeaders() {
        let envelope = Self.envelope("X-Other: 1")
        #expect(envelope == Envelope())
        #expect(envelope.decodedSubject == nil)
    }

    @Test func senderAndReplyToPresentAreKept() {
        let envelope = Self.envelope("From: a@x\r\nSender: s@x\r\nReply-To: r@x")
        #expect(envelope.sender == [Self.box("s", "x")])
        #expect(envelope.replyTo == [Self.box("r", "x")])
    }

    @Test func emptySenderDefaultsToFrom() {
        let envelope = Self.envelope("From: a@x\r\nSender:\r\nReply-To:   ")
        #expect(envelope.sender == [Self.box("a", "x")])
        #expect(envelope.replyTo == [Self.box("a", "x")])
    }

    @Test func subjectIsUnfoldedNotDecoded() {
        let envelope = Self.envelope("Subject: =?utf-8?Q?caf=C3=A9?=\r\n =?utf-8?Q?_au_lait?= and\r\n\tmore")
        #expect(envelope.subject == "=?utf-8?Q?caf=C3=A9?= =?utf-8?Q?_au_lait?= and\tmore")
        #expect(envelope.decodedSubject == "café au lait and\tmore")
    }

    @Test func firstOccurrenceWins() {
        let envelope = Self.envelope("Subject: one\r\nSubject: two")
        #expect(envelope.subject == "one")
    }
}
