import Testing

@testable import MailCore

@Suite struct EmailAddressTests {
    @Test(arguments: [
        ("alice@example.org", "alice@example.org"),
        ("<Alice@Example.ORG>", "alice@example.org"),
        (" bob.smith+tag@sub.example.org ", "bob.smith+tag@sub.example.org"),
        ("\"quoted name\"@example.org", "\"quoted name\"@example.org"),
        ("jörg@exämple.org", "jörg@xn--exmple-cua.org"),
        ("Jörg@XN--EXMPLE-CUA.org", "jörg@xn--exmple-cua.org"),
        ("x@[192.0.2.1]", "x@[192.0.2.1]"),
    ])
    func valid(input: String, canonical: String) {
        #expect(EmailAddress(input)?.canonical == canonical)
    }

    @Test(arguments: [
        "", "@example.org", "alice@", "alice", "a b@example.org", ".a@example.org", "a..b@example.org",
        "a@-bad.org", "a@bad..org", "a@b_c d.org", String(repeating: "a", count: 65) + "@example.org",
        "a@" + String(repeating: "b", count: 64) + ".org", "\"a\r\n\"@x.org",
    ])
    func invalid(input: String) {
        #expect(EmailAddress(input) == nil)
    }

    @Test func localPartAtLimit() {
        #expect(EmailAddress(String(repeating: "a", count: 64) + "@example.org") != nil)
    }
}

/// Internationalized domains: one domain whether written with U-labels or A-labels.
@Suite struct DomainNameTests {
    /// RFC 3492 §7.1 samples (B, L) and common labels, as Python's punycode codec also encodes them.
    @Test(arguments: [
        ("bücher", "bcher-kva"), ("münchen", "mnchen-3ya"), ("ñ", "ida"), ("zoë", "zo-ija"),
        ("他们为什么不说中文", "ihqwcrb4cv8a8dqg056pqjye"), ("3年b組金八先生", "3b-ww4c5e180e575a65lsy2b"),
    ])
    func punycode(label: String, encoded: String) {
        #expect(Punycode.encode(label) == encoded)
    }

    @Test(arguments: [
        ("Bücher.Example", "xn--bcher-kva.example"), ("xn--bcher-kva.example.", "xn--bcher-kva.example"),
        ("mail.münchen.de", "mail.xn--mnchen-3ya.de"), ("example.org", "example.org"),
    ])
    func canonicalForm(input: String, name: String) {
        #expect(DomainName(input)?.name == name)
    }

    /// The 63-octet limit applies to the A-label: 55 "ä" make 61 octets, 60 make 66.
    @Test func labelLimitIsOnTheALabel() {
        #expect(DomainName(String(repeating: "ä", count: 55) + ".example") != nil)
        #expect(DomainName(String(repeating: "ä", count: 60) + ".example") == nil)
        #expect(DomainName("-bücher.example") == nil)
    }
}

@Suite struct MailboxNameTests {
    @Test(arguments: [
        ("INBOX", "INBOX"), ("inbox", "INBOX"), ("InBox/Sub", "INBOX/Sub"), ("Archive/2026", "Archive/2026"),
        ("Entwürfe", "Entwürfe"),
    ])
    func valid(input: String, value: String) {
        #expect(MailboxName(input)?.value == value)
    }

    @Test(arguments: ["", "/a", "a/", "a//b", "a*", "a%b", "tab\there", String(repeating: "x", count: 1001)])
    func invalid(input: String) {
        #expect(MailboxName(input) == nil)
    }

    @Test func parentsAndContainment() {
        let name = MailboxName("a/b/c")!
        #expect(name.parents.map(\.value) == ["a", "a/b"])
        #expect(name.isWithin(MailboxName("a/b")!))
        #expect(!MailboxName("a/bc")!.isWithin(MailboxName("a/b")!))
    }

    @Test func depthLimit() {
        #expect(MailboxName(Array(repeating: "x", count: 32).joined(separator: "/")) != nil)
        #expect(MailboxName(Array(repeating: "x", count: 33).joined(separator: "/")) == nil)
    }
}

@Suite struct UIDSetTests {
    @Test(
        arguments: [
            ("1", 10, [1...1]), ("1:5", 10, [1...5]), ("5:1", 10, [1...5]), ("1:*", 10, [1...10]), ("*", 7, [7...7]),
            ("1,3:4,4:6,9", 10, [1...1, 3...6, 9...9]), ("2:3,1", 5, [1...3]),
        ] as [(String, UInt32, [ClosedRange<UInt32>])])
    func ranges(text: String, largest: UInt32, expected: [ClosedRange<UInt32>]) {
        #expect(UIDSet(text)?.ranges(largest: largest) == expected)
    }

    @Test(arguments: ["", "0", "1:", ":2", "a", "1,,2", "4294967296", "1:2:3", "-1"])
    func invalid(text: String) {
        #expect(UIDSet(text) == nil)
    }

    @Test func roundTripAndContains() {
        let set = UIDSet("1:3,7,9:*")!
        #expect(set.description == "1:3,7,9:*")
        #expect(set.contains(8, largest: 20) == false)
        #expect(set.contains(15, largest: 20))
        #expect(UIDSet([5, 1, 2, 3, 9, 3]).description == "1:3,5,9")
    }

    @Test func rangeLimit() {
        let many = (1...UIDSet.maxRanges).map { String($0 * 2) }.joined(separator: ",")
        #expect(UIDSet(many) != nil)
        #expect(UIDSet(many + ",1") == nil)
    }
}

@Suite struct MessageFlagsTests {
    @Test func parseAndNames() {
        let flags = MessageFlags(names: ["\\seen", "$Junk", "\\Flagged", "$Junk"])!
        #expect(flags.system == [.seen, .flagged])
        #expect(flags.names == ["\\Seen", "\\Flagged", "$Junk"])
    }

    @Test(arguments: [["\\Bogus"], ["a b"], ["(x"], [""], ["\\Recent"]])
    func invalid(names: [String]) {
        #expect(MessageFlags(names: names) == nil)
    }

    @Test func setOperations() {
        let a = MessageFlags(names: ["\\Seen", "k1"])!
        let b = MessageFlags(names: ["\\Deleted", "k1", "k2"])!
        #expect(a.union(b).names == ["\\Seen", "\\Deleted", "k1", "k2"])
        #expect(b.subtracting(a).names == ["\\Deleted", "k2"])
    }
}

@Suite struct ByteSizeTests {
    @Test(
        arguments: [("500M", 500 << 20), ("25MB", 25 << 20), ("1G", 1 << 30), ("1024", 1024), ("0", 0), ("2KiB", 2048)] as [(String, Int64)]
    )
    func parse(text: String, value: Int64) {
        #expect(ByteSize.parse(text) == value)
        #expect(ByteSize.parse(ByteSize.format(value)) == value)
    }

    @Test(arguments: ["", "M", "-1", "1X", "99999999999T"])
    func invalid(text: String) {
        #expect(ByteSize.parse(text) == nil)
    }

    @Test(
        arguments: [
            (0, "0"), (1023, "1023"), (1024, "1K"), (1536, "1.5K"), (10_188, "9.9K"), (10_200, "10K"), (700 << 20, "700M"),
            ((1 << 30) + (1 << 29), "1.5G"), (1023 << 30, "1023G"), (3 << 40, "3T"),
        ] as [(Int64, String)])
    func approximate(bytes: Int64, text: String) {
        #expect(ByteSize.approximate(bytes) == text)
    }
}
