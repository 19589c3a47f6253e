import Testing

@testable import DNSCodec

struct DNSNameTests {
    static let label63 = String(repeating: "a", count: 63)
    /// 63 + 63 + 63 + 61 octets of labels, four length octets and the root: 255 in wire form.
    static let name255 = [label63, label63, label63, String(repeating: "b", count: 61)].joined(separator: ".")

    static let valid: [(String, [String], String)] = [
        ("example.org", ["example", "org"], "example.org"),
        ("example.org.", ["example", "org"], "example.org"),
        (".", [], "."),
        ("xn--bcher-kva.example", ["xn--bcher-kva", "example"], "xn--bcher-kva.example"),
        ("_dmarc.Example.ORG", ["_dmarc", "Example", "ORG"], "_dmarc.Example.ORG"),
        (label63 + ".org", [label63, "org"], label63 + ".org"),
        (name255, name255.split(separator: ".").map(String.init), name255),
    ]

    @Test(arguments: valid)
    func parsesText(text: String, labels: [String], description: String) throws {
        let name = try DNSName(text)
        #expect(name.labels == labels.map { Array($0.utf8) })
        #expect(name.description == description)
        #expect(try DNSName(name.description) == name)
    }

    @Test func wireLengthAtTheLimit() throws {
        #expect(try DNSName(Self.name255).wireLength == 255)
    }

    static let invalid: [(String, DNSCodecError.Code)] = [
        ("", .emptyLabel),
        ("..", .emptyLabel),
        (".example", .emptyLabel),
        ("a..b", .emptyLabel),
        ("example.org..", .emptyLabel),
        (String(repeating: "a", count: 64) + ".org", .labelTooLong),
        (name255 + "b", .nameTooLong),
        (name255 + ".b", .nameTooLong),
        ("bücher.example", .invalidCharacter),
        ("a b.example", .invalidCharacter),
        ("a\\.b", .invalidCharacter),
        ("tab\t.example", .invalidCharacter),
        ("nul\u{0}.example", .invalidCharacter),
    ]

    @Test(arguments: invalid)
    func rejectsText(text: String, code: DNSCodecError.Code) {
        #expect(throws: DNSCodecError(code)) { try DNSName(text) }
    }

    @Test func labelsAreCheckedToo() {
        #expect(throws: DNSCodecError(.emptyLabel)) { try DNSName(labels: [[]]) }
        #expect(throws: DNSCodecError(.labelTooLong)) { try DNSName(labels: [Array(repeating: 0x61, count: 64)]) }
        #expect((try? DNSName(labels: [Array(repeating: 0x61, count: 63)])) != nil)
    }

    @Test func comparesWithoutCase() {
        #expect(DNSName.valid("MX.Example.ORG") == .valid("mx.example.org"))
        #expect(Set([DNSName.valid("MX.Example.ORG"), .valid("mx.example.org")]).count == 1)
        #expect(DNSName.valid("mx.example.org") != .valid("mx.example.com"))
        #expect(DNSName.valid("a.example") != .valid("example"))
    }

    @Test func escapesOctetsThatAreNotPrintable() throws {
        let name = try DNSName(labels: [[0x61, 0x2E, 0x62], [0x00, 0xFF, 0x5C], Array("org".utf8)])
        #expect(name.description == "a\\046b.\\000\\255\\092.org")
    }
}

struct IPAddressTests {
    static let v4: [(String, UInt32?)] = [
        ("192.0.2.1", 0xC000_0201), ("0.0.0.0", 0), ("255.255.255.255", 0xFFFF_FFFF), ("256.0.0.1", nil), ("1.2.3", nil),
        ("1.2.3.4.5", nil), ("01.2.3.4", nil), ("1.2.3.", nil), ("a.b.c.d", nil), ("", nil), ("1.2.3.4 ", nil), ("1234.1.1.1", nil),
    ]

    @Test(arguments: v4)
    func parsesIPv4(text: String, value: UInt32?) {
        #expect(IPv4Address(text)?.rawValue == value)
        if value != nil { #expect(IPv4Address(text)?.description == text) }
    }

    /// Text in, RFC 5952 text out (nil: not an address).
    static let v6: [(String, String?)] = [
        ("::1", "::1"), ("::", "::"), ("2001:db8::1", "2001:db8::1"), ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"), ("2001:0db8:0000:0001:0000:0000:0000:0001", "2001:db8:0:1::1"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"), ("1:0:3:4:5:6:7:8", "1:0:3:4:5:6:7:8"), ("1::", "1::"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"), ("::ffff:192.0.2.1", "::ffff:192.0.2.1"), ("::ffff:c000:201", "::ffff:192.0.2.1"),
        ("64:ff9b::192.0.2.1", "64:ff9b::c000:201"), ("fe80::1%eth0", nil), (":::", nil), ("1:::2", nil), ("1::2::3", nil),
        (":1", nil), ("1:", nil), ("1:2:3:4:5:6:7:8:9", nil), ("1:2:3:4:5:6:7", nil), ("12345::", nil), ("g::", nil),
        ("1.2.3.4::", nil), ("::1.2.3", nil), ("", nil), ("1:2:3:4:5:6:7:8::", nil),
    ]

    @Test(arguments: v6)
    func parsesIPv6(text: String, canonical: String?) {
        #expect(IPv6Address(text)?.description == canonical)
        if let canonical { #expect(IPv6Address(canonical) == IPv6Address(text)) }
    }

    @Test func octetsRoundTrip() {
        let address = IPv6Address("2001:db8::fe:1")!
        #expect(IPv6Address(octets: address.octets) == address)
        #expect(IPv6Address(octets: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(IPv4Address(192, 0, 2, 1).octets == [192, 0, 2, 1])
    }

    @Test func eitherFamily() {
        #expect(IPAddress("192.0.2.1") == .v4(IPv4Address(192, 0, 2, 1)))
        #expect(IPAddress("::1")?.description == "::1")
        #expect(IPAddress("localhost") == nil)
    }
}
