import Testing

@testable import DNSCodec

struct DNSMessageTests {
    // MARK: Queries

    @Test func encodesAQuery() throws {
        let query = DNSMessage.query(id: 0xBEEF, name: .valid("Example.org"), type: .mx)
        #expect(
            try query.encoded() == [
                0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,  // id, RD, one question
                7, 0x45, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 3, 0x6F, 0x72, 0x67, 0,  // Example.org
                0, 15, 0, 1,  // MX IN
            ])
    }

    @Test(arguments: [DNSRecordType.mx, .a, .aaaa, .cname])
    func queriesRoundTrip(type: DNSRecordType) throws {
        let query = DNSMessage.query(id: 1, name: .valid("mx1.example.net"), type: type)
        let parsed = try DNSMessage.parse(try query.encoded())
        #expect(parsed == query)
        #expect(parsed.header.recursionDesired && !parsed.header.isResponse)
        #expect(parsed.questions.first?.recordClass == .in)
    }

    // MARK: Responses, hand-built

    /// The answers to `MX example.org`: `10 mx1.example.org` and `20 mx2.example.org`, with
    /// every name after the question compressed, and an A record in the additional section.
    static var compressedMX: [UInt8] {
        var wire = WireBuilder.header(id: 0x1234, flags: 0x8580, questions: 1, answers: 2, additionals: 1)
        wire.question("example.org")  // at 12
        wire.pointer(to: 12)
        wire.recordTail(type: 15, ttl: 3600, data: [0, 10, 3] + Array("mx1".utf8) + [0xC0, 12])
        let mx2 = wire.count + 12 + 2  // where the second exchange's labels start
        wire.pointer(to: 12)
        wire.recordTail(type: 15, ttl: 3600, data: [0, 20, 3] + Array("mx2".utf8) + [0xC0, 12])
        wire.pointer(to: mx2)
        wire.recordTail(type: 1, ttl: 60, data: [192, 0, 2, 25])
        return wire.bytes
    }

    @Test func parsesCompressedNames() throws {
        let message = try DNSMessage.parse(Self.compressedMX)
        #expect(message.header.id == 0x1234)
        #expect(message.header.isResponse && message.header.isAuthoritative && message.header.recursionDesired)
        #expect(message.header.recursionAvailable && !message.header.isTruncated && message.header.responseCode == .noError)
        #expect(message.questions == [DNSQuestion(name: .valid("example.org"), type: .mx)])
        #expect(
            message.answers == [mx("example.org", 10, "mx1.example.org", ttl: 3600), mx("example.org", 20, "mx2.example.org", ttl: 3600)])
        #expect(message.additionals == [a("mx2.example.org", "192.0.2.25", ttl: 60)])
    }

    static let headerFlags: [(UInt16, DNSHeader)] = [
        (0x8180, DNSHeader(id: 9, isResponse: true, recursionDesired: true, recursionAvailable: true)),
        (0x8183, DNSHeader(id: 9, isResponse: true, recursionDesired: true, recursionAvailable: true, responseCode: .nameError)),
        (
            0x8382,
            DNSHeader(
                id: 9, isResponse: true, isTruncated: true, recursionDesired: true, recursionAvailable: true, responseCode: .serverFailure)
        ),
        (0x8405, DNSHeader(id: 9, isResponse: true, isAuthoritative: true, recursionDesired: false, responseCode: .refused)),
        (0x2800, DNSHeader(id: 9, opcode: 5, recursionDesired: false)),
        (0x0100, DNSHeader(id: 9)),
    ]

    @Test(arguments: headerFlags)
    func parsesHeaderFlags(flags: UInt16, header: DNSHeader) throws {
        let message = try DNSMessage.parse(WireBuilder.header(id: 9, flags: flags).bytes)
        #expect(message.header == header)
        #expect(try DNSMessage(header: header).encoded() == WireBuilder.header(id: 9, flags: flags).bytes)
    }

    @Test func parsesSOAAndAAAA() throws {
        var wire = WireBuilder.header(questions: 1, answers: 1, authorities: 1)
        wire.question("example.org", type: 28)
        wire.pointer(to: 12)
        wire.recordTail(type: 28, data: IPv6Address("2001:db8::25")!.octets)
        wire.pointer(to: 12)
        var soaData = WireBuilder()
        soaData.raw([3] + Array("ns1".utf8) + [0xC0, 12, 0xC0, 12])
        for value: UInt32 in [1, 7200, 900, 1_209_600, 300] { soaData.u32(value) }
        wire.recordTail(type: 6, ttl: 900, data: soaData.bytes)
        let message = try DNSMessage.parse(wire.bytes)
        #expect(message.answers == [aaaa("example.org", "2001:db8::25")])
        let expected = DNSStartOfAuthority(
            primaryServer: .valid("ns1.example.org"), mailbox: .valid("example.org"), serial: 1, refresh: 7200, retry: 900,
            expire: 1_209_600, minimum: 300)
        #expect(message.authorities.first?.data == .soa(expected))
        #expect(message.authorities.first?.ttl == 900)
    }

    @Test func keepsUnknownTypesOpaque() throws {
        var wire = WireBuilder.header(questions: 1, answers: 3)
        wire.question("example.org")
        wire.pointer(to: 12)
        wire.recordTail(type: 16, data: [5] + Array("hello".utf8))  // TXT
        wire.pointer(to: 12)
        wire.recordTail(type: 0xFF00, data: [])  // private use, empty
        wire.pointer(to: 12)
        wire.recordTail(type: 15, data: [0, 5, 0])  // MX 5 .
        let message = try DNSMessage.parse(wire.bytes)
        #expect(message.answers.map(\.type) == [.txt, DNSRecordType(rawValue: 0xFF00), .mx])
        #expect(message.answers[0].data == .opaque([5] + Array("hello".utf8)))
        #expect(message.answers[1].data == .opaque([]))
        #expect(message.answers[2].data == .mx(preference: 5, exchange: .root))
    }

    @Test func ignoresOctetsAfterTheLastRecord() throws {
        var wire = WireBuilder.header(questions: 1)
        wire.question("example.org")
        wire.raw([0xDE, 0xAD])
        #expect(try DNSMessage.parse(wire.bytes).questions.count == 1)
    }

    @Test func readsTheQuestionsOfACutMessage() throws {
        var wire = WireBuilder.header(flags: 0x8380, questions: 1, answers: 5)
        wire.question("example.org")
        wire.raw([0xC0])
        let (header, questions) = try DNSMessage.parseQuestions(wire.bytes)
        #expect(header.isTruncated)
        #expect(questions == [DNSQuestion(name: .valid("example.org"), type: .mx)])
        #expect(throws: DNSCodecError.self) { try DNSMessage.parse(wire.bytes) }
    }

    // MARK: Malformed input

    static var malformed: [(String, [UInt8], DNSCodecError.Code)] {
        var cases: [(String, [UInt8], DNSCodecError.Code)] = []
        func add(_ label: String, _ code: DNSCodecError.Code, _ build: (inout WireBuilder) -> Void) {
            var wire = WireBuilder()
            build(&wire)
            cases.append((label, wire.bytes, code))
        }
        add("empty", .truncated) { _ in }
        add("pointer to itself", .invalidPointer) {
            $0 = .header(questions: 1)
            $0.pointer(to: 12)
            $0.raw([0, 15, 0, 1])
        }
        add("label then a pointer back to it", .invalidPointer) {
            $0 = .header(questions: 1)
            $0.raw([1, 0x61])
            $0.pointer(to: 12)
            $0.raw([0, 15, 0, 1])
        }
        add("two pointers to each other", .invalidPointer) {
            $0 = .header(questions: 2)
            $0.pointer(to: 18)  // at 12, forward
            $0.raw([0, 15, 0, 1])
            $0.pointer(to: 12)  // at 18
            $0.raw([0, 15, 0, 1])
        }
        add("pointer forward", .invalidPointer) {
            $0 = .header(questions: 1)
            $0.pointer(to: 20)
            $0.raw([0, 15, 0, 1, 1, 0x61, 0])
        }
        add("pointer into the header", .truncated) {
            // Offset 4 is QDCOUNT (0, 1): the root, then the question's type and class run out.
            $0 = .header(questions: 1)
            $0.pointer(to: 4)
        }
        add("label type 01", .invalidLabelType) {
            $0 = .header(questions: 1)
            $0.raw([0x41, 0])
        }
        add("label type 10", .invalidLabelType) {
            $0 = .header(questions: 1)
            $0.raw([0x80, 0])
        }
        add("A of 5 octets", .invalidRecordData) {
            $0 = .header(answers: 1)
            $0.name("a.example")
            $0.recordTail(type: 1, data: [1, 2, 3, 4, 5])
        }
        add("AAAA of 4 octets", .invalidRecordData) {
            $0 = .header(answers: 1)
            $0.name("a.example")
            $0.recordTail(type: 28, data: [1, 2, 3, 4])
        }
        add("MX of 2 octets", .invalidRecordData) {
            $0 = .header(answers: 1)
            $0.name("a.example")
            $0.recordTail(type: 15, data: [0, 10])
        }
        add("MX with octets after its exchange", .invalidRecordData) {
            $0 = .header(answers: 1)
            $0.name("a.example")
            $0.recordTail(type: 15, data: [0, 10, 0, 0xFF])
        }
        add("MX exchange past RDLENGTH", .invalidRecordData) {
            $0 = .header(answers: 2)
            $0.name("a.example")
            $0.recordTail(type: 15, data: [0, 10, 2, 0x6D])  // the label runs into the next record
            $0.raw([0x78, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4])
        }
        add("CNAME with octets after its name", .invalidRecordData) {
            $0 = .header(answers: 1)
            $0.name("a.example")
            $0.recordTail(type: 5, data: [0, 0])
        }
        add("SOA with a short tail", .invalidRecordData) {
            $0 = .header(authorities: 1)
            $0.name("example")
            $0.recordTail(type: 6, data: [0, 0] + [UInt8](repeating: 0, count: 19))
        }
        add("RDLENGTH past the end", .truncated) {
            $0 = .header(answers: 1)
            $0.name("a.example")
            $0.recordTail(type: 1, data: [1, 2, 3, 4])
            $0.bytes.removeLast()
        }
        add("more questions than there are", .truncated) {
            $0 = .header(questions: 2)
            $0.question("example.org")
        }
        return cases
    }

    @Test(arguments: malformed)
    func rejectsMalformedMessages(label: String, wire: [UInt8], code: DNSCodecError.Code) {
        #expect(parseError(wire) == code, "\(label)")
    }

    /// Every prefix of a valid response is an error, never a trap (STYLE §12's one byte at a
    /// time, for a protocol that parses whole datagrams).
    @Test(arguments: 0..<4)
    func everyPrefixThrows(fixture: Int) throws {
        let wire = try Self.validResponses[fixture]()
        #expect((try? DNSMessage.parse(wire)) != nil)
        for length in 0..<wire.count {
            #expect(parseError(wire.prefix(length)) == .truncated, "prefix \(length)")
        }
    }

    static let validResponses: [@Sendable () throws -> [UInt8]] = [
        { compressedMX },
        {
            let question = DNSQuestion(name: .valid("example.net"), type: .mx)
            return try response(
                to: question, code: .nameError, authorities: [soa("example.net", ttl: 900, minimum: 300)]
            ).encoded()
        },
        {
            let question = DNSQuestion(name: .valid("www.example.com"), type: .aaaa)
            return try response(
                to: question,
                answers: [cname("www.example.com", "web.example.com"), aaaa("web.example.com", "2001:db8::80")],
                additionals: [DNSResourceRecord(name: .root, type: .opt, recordClass: DNSClass(rawValue: 1232), ttl: 0, data: .opaque([]))]
            ).encoded()
        },
        {
            let question = DNSQuestion(name: .valid("example.com"), type: .mx)
            return try response(to: question, answers: [mx("example.com", 0, ".")]).encoded(compressingNames: false)
        },
    ]

    // MARK: Round trips

    @Test(arguments: [true, false])
    func responsesRoundTrip(compressing: Bool) throws {
        let question = DNSQuestion(name: .valid("Example.ORG"), type: .mx)
        let message = response(
            to: question, id: 0xFFFF,
            answers: [
                mx("example.org", 10, "mx1.example.org"), mx("EXAMPLE.org", 10, "mx2.example.org"),
                cname("alias.example.org", "example.org"),
                a("mx1.example.org", "192.0.2.1"), aaaa("mx1.example.org", "2001:db8::1"),
                DNSResourceRecord(name: .valid("example.org"), type: .txt, ttl: 1, data: .opaque([3, 0x61, 0x62, 0x63])),
            ],
            authorities: [soa("example.org", ttl: 60, minimum: 30)])
        let wire = try message.encoded(compressingNames: compressing)
        #expect(try DNSMessage.parse(wire) == message)
        let uncompressed = try message.encoded(compressingNames: false)
        if compressing { #expect(wire.count < uncompressed.count) }
        // Uncompressed, names keep the case they were written in; compressed, the case of the
        // first occurrence (equal all the same: RFC 1035 §2.3.3).
        #expect(try DNSMessage.parse(wire).answers[1].name.description == (compressing ? "Example.ORG" : "EXAMPLE.org"))
    }

    @Test func ttlWithTheTopBitSetIsZero() {
        #expect(a("x.example", "192.0.2.1", ttl: 0x8000_0001).effectiveTTL == 0)
        #expect(a("x.example", "192.0.2.1", ttl: 0x7FFF_FFFF).effectiveTTL == 0x7FFF_FFFF)
    }

    // MARK: Limits, at the limit and one over

    @Test(arguments: [(DNSLimits.maximumMessageSize, true), (DNSLimits.maximumMessageSize + 1, false)])
    func messageSize(size: Int, accepted: Bool) throws {
        var wire = WireBuilder.header(questions: 1, answers: 1)
        wire.question("a")
        wire.pointer(to: 12)
        wire.recordTail(type: 0xFF01, data: [UInt8](repeating: 7, count: DNSLimits.maximumMessageSize - wire.count - 10))
        #expect(wire.count == DNSLimits.maximumMessageSize)
        wire.raw([UInt8](repeating: 0, count: size - wire.count))
        if accepted {
            #expect(try DNSMessage.parse(wire.bytes).answers.count == 1)
        } else {
            #expect(throws: DNSCodecError(.messageTooLarge)) { try DNSMessage.parse(wire.bytes) }
        }
    }

    @Test(arguments: [(0, true), (1, false)])
    func recordCount(extra: Int, accepted: Bool) throws {
        let limits = DNSLimits()
        let count = limits.maximumRecords + extra
        var wire = WireBuilder.header(questions: 1, answers: count - 2, authorities: 1, additionals: 1)
        wire.question("a")
        for _ in 0..<count {
            wire.pointer(to: 12)
            wire.recordTail(type: 1, data: [192, 0, 2, 1])
        }
        if accepted {
            #expect(try DNSMessage.parse(wire.bytes).answers.count == count - 2)
        } else {
            #expect(throws: DNSCodecError(.tooManyRecords, offset: 6)) { try DNSMessage.parse(wire.bytes) }
        }
    }

    @Test(arguments: [(0, true), (1, false)])
    func questionCount(extra: Int, accepted: Bool) throws {
        let count = DNSLimits.default.maximumQuestions + extra
        var wire = WireBuilder.header(questions: count)
        for _ in 0..<count { wire.question("example.org") }
        if accepted {
            #expect(try DNSMessage.parse(wire.bytes).questions.count == count)
        } else {
            #expect(throws: DNSCodecError(.tooManyQuestions, offset: 4)) { try DNSMessage.parse(wire.bytes) }
        }
    }

    /// A name reached through a chain of pointers, each pointing at the one before: the last
    /// name is `hops` pointers from its labels.
    @Test(arguments: [(DNSLimits.default.maximumPointerHops, true), (DNSLimits.default.maximumPointerHops + 1, false)])
    func pointerHops(hops: Int, accepted: Bool) throws {
        var wire = WireBuilder.header(answers: 2)
        wire.raw([0])  // a root owner name; the chain sits in its RDATA
        let rdataStart = wire.count + 10
        var chain: [UInt8] = [1, 0x61, 0]
        for index in 0..<(hops - 1) {
            let target = rdataStart + (index == 0 ? 0 : 3 + 2 * (index - 1))
            chain += [0xC0 | UInt8(target >> 8), UInt8(target & 0xFF)]
        }
        wire.recordTail(type: 0xFF02, data: chain)
        wire.pointer(to: rdataStart + chain.count - (hops == 1 ? 3 : 2))
        wire.recordTail(type: 1, data: [192, 0, 2, 1])
        if accepted {
            #expect(try DNSMessage.parse(wire.bytes).answers.last?.name == .valid("a"))
        } else {
            #expect(parseError(wire.bytes) == .tooManyPointers)
        }
    }

    /// Three labels of 63 in one place, then a name of one more label pointing at them: 255
    /// octets with a label of 61, 256 with 62.
    @Test(arguments: [(61, true), (62, false)])
    func decompressedNameLength(lastLabel: Int, accepted: Bool) throws {
        var wire = WireBuilder.header(answers: 2)
        wire.raw([0])
        let rdataStart = wire.count + 10
        let label = [UInt8(63)] + [UInt8](repeating: 0x61, count: 63)
        wire.recordTail(type: 0xFF03, data: label + label + label + [0])
        wire.raw([UInt8(lastLabel)] + [UInt8](repeating: 0x62, count: lastLabel))
        wire.pointer(to: rdataStart)
        wire.recordTail(type: 1, data: [192, 0, 2, 1])
        if accepted {
            #expect(try DNSMessage.parse(wire.bytes).answers.last?.name.wireLength == 255)
        } else {
            #expect(parseError(wire.bytes) == .nameTooLong)
        }
    }

    @Test(arguments: [(63, true), (64, false)])
    func wireLabelLength(length: Int, accepted: Bool) throws {
        var wire = WireBuilder.header(questions: 1)
        wire.raw([UInt8(length)] + [UInt8](repeating: 0x61, count: length) + [0, 0, 1, 0, 1])
        if accepted {
            #expect(try DNSMessage.parse(wire.bytes).questions.first?.name.labels.first?.count == 63)
        } else {
            // 64 is 0x40: a reserved label type, not a long label.
            #expect(throws: DNSCodecError(.invalidLabelType, offset: 12)) { try DNSMessage.parse(wire.bytes) }
        }
    }

    @Test func encodingRefusesOversizedMessages() {
        let big = DNSResourceRecord(name: .root, type: .txt, ttl: 0, data: .opaque([UInt8](repeating: 0, count: 65_536)))
        #expect(throws: DNSCodecError(.invalidRecordData)) { try DNSMessage(header: DNSHeader(id: 1), answers: [big]).encoded() }
        let large = DNSResourceRecord(name: .root, type: .txt, ttl: 0, data: .opaque([UInt8](repeating: 0, count: 40_000)))
        #expect(throws: DNSCodecError(.messageTooLarge)) { try DNSMessage(header: DNSHeader(id: 1), answers: [large, large]).encoded() }
    }
}

struct DNSTCPFramerTests {
    @Test func framesAndUnframesOneOctetAtATime() throws {
        let first = try DNSMessage.query(id: 1, name: .valid("example.org"), type: .mx).encoded()
        let second = try DNSMessage.query(id: 2, name: .valid("example.net"), type: .a).encoded()
        let stream = DNSTCPFramer.frame(first) + DNSTCPFramer.frame(second)
        #expect(stream.prefix(2) == [0, UInt8(first.count)])
        var framer = DNSTCPFramer()
        var messages: [[UInt8]] = []
        for byte in stream {
            framer.append([byte])
            while let message = try framer.nextMessage() { messages.append(message) }
        }
        #expect(messages == [first, second])
    }

    @Test func aLengthShorterThanAHeaderIsAnError() {
        var framer = DNSTCPFramer()
        framer.append([0, 11] + [UInt8](repeating: 0, count: 11))
        #expect(throws: DNSCodecError(.truncated)) { try framer.nextMessage() }
    }
}
