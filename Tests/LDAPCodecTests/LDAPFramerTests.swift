import LDAPCodec
import NIOCore
import Testing

@Suite struct LDAPFramerTests {
    static let session = Captured.anonymousBind + Captured.thunderbirdSearch + Captured.complexSearch + Captured.unbind

    /// Every way of cutting a session into reads gives the same messages, one octet at a time too.
    @Test(arguments: [1, 2, 3, 5, 13, 14, 100, 10_000])
    func framesInAnyPieces(step: Int) throws {
        #expect(
            try frame(Self.session, step: step) == [
                Captured.anonymousBind, Captured.thunderbirdSearch, Captured.complexSearch, Captured.unbind,
            ])
    }

    @Test func byteBuffersAreRead() throws {
        var framer = LDAPFramer()
        try framer.append(ByteBuffer(bytes: Captured.unbind + Captured.unbind.prefix(3)))
        #expect(try framer.nextMessage() == Captured.unbind)
        #expect(try framer.nextMessage() == nil)
        #expect(framer.bufferedByteCount == 3)
        try framer.append(ByteBuffer(bytes: Captured.unbind.dropFirst(3)))
        #expect(try framer.nextMessage() == Captured.unbind)
        #expect(framer.bufferedByteCount == 0)
    }

    /// X.690 §8.1.3.5: the long form, with one to four length octets and leading zeros, as
    /// Active Directory's clients write `0x84`. The decoder reads such a message as well.
    static let longForms: [[UInt8]] = [[0x81, 0x05], [0x82, 0x00, 0x05], [0x83, 0x00, 0x00, 0x05], [0x84, 0x00, 0x00, 0x00, 0x05]]

    @Test(arguments: longForms)
    func longFormLengths(length: [UInt8]) throws {
        let message = [0x30] + length + Captured.unbind.dropFirst(2)
        #expect(try frame(message, step: 1) == [message])
        #expect(try LDAPMessage(decoding: message) == LDAPMessage(messageID: 3, .unbindRequest))
    }

    /// A whole search as AD's clients send it: 0x84 lengths at every level.
    @Test func fourOctetLengthsEverywhere() throws {
        func long(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
            let n = contents.count
            return [tag, 0x84, UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + contents
        }
        let request =
            long(
                0x63,
                long(0x04, Array("dc=example,dc=org".utf8)) + [
                    0x0A, 0x01, 0x02, 0x0A, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00,
                ]
                    + long(0xA1, long(0xA4, long(0x04, Array("cn".utf8)) + long(0x30, long(0x81, Array("ali".utf8)))))
                    + long(0x30, long(0x04, Array("cn".utf8))))
        let message = long(0x30, [0x02, 0x01, 0x07] + request)
        let framed = try frame(message, step: 1)
        #expect(framed == [message])
        let decoded = try LDAPMessage(decoding: message)
        #expect(
            decoded
                == LDAPMessage(
                    messageID: 7,
                    .searchRequest(
                        LDAPSearchRequest(
                            baseObject: "dc=example,dc=org", filter: .or([.substrings(LDAPSubstringFilter("cn", any: ["ali"]))]),
                            attributes: ["cn"]))))
    }

    // MARK: Refusals

    static let refusals: [(String, [UInt8], LDAPCodecError.Code)] = [
        ("indefinite length", [0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00], .indefiniteLength),
        ("five length octets", [0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x05], .lengthTooLong),
        ("the reserved 0xFF", [0x30, 0xFF], .lengthTooLong),
        ("a length of 2^31", [0x30, 0x84, 0x80, 0x00, 0x00, 0x00], .pduTooLarge),
        ("a length of 2^32 - 1", [0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], .pduTooLarge),
        ("not a SEQUENCE", [0x31, 0x05, 0x02, 0x01, 0x01, 0x42, 0x00], .notAMessage),
        ("a bare OCTET STRING", [0x04], .notAMessage),
        ("text", Array("GET / HTTP/1.1\r\n".utf8), .notAMessage),
    ]

    /// Each is refused from its header alone, fed whole or an octet at a time: nothing after
    /// the length octets is needed, so a length of 2^31 is never waited for.
    @Test(arguments: refusals, [1, 1000])
    func refusesFromTheHeader(refusal: (String, [UInt8], LDAPCodecError.Code), step: Int) {
        let (name, bytes, code) = refusal
        let header = bytes.prefix(bytes[0] == 0x30 ? min(bytes.count, 2 + Int(bytes[1] & 0x7F)) : 1)
        #expect(throws: LDAPCodecError.self, "\(name)") { try frame(Array(header), step: step) }
        do {
            _ = try frame(bytes, step: step)
            Issue.record("\(name) framed")
        } catch {
            #expect(error.code == code, "\(name)")
            #expect(error.code.isFraming && error.messageID == nil)
            guard case .disconnect(let notice?) = error.reply else {
                Issue.record("\(name): \(error.reply)")
                return
            }
            #expect(notice == .noticeOfDisconnection(.protocolError, diagnosticMessage: code.description))
        }
    }

    @Test func aFailureIsFinal() throws {
        var framer = LDAPFramer()
        try framer.append([0x30, 0x80])
        #expect(throws: LDAPCodecError(.indefiniteLength)) { try framer.nextMessage() }
        #expect(throws: LDAPCodecError(.indefiniteLength)) { try framer.append(Captured.unbind) }
        #expect(throws: LDAPCodecError(.indefiniteLength)) { try framer.nextMessage() }
        #expect(framer.bufferedByteCount == 0)
    }

    // MARK: Limits

    /// A message of exactly `pduSize` octets is framed; one more is refused from its length.
    @Test func pduSizeLimit() throws {
        let limits = LDAPLimits(pduSize: 300)
        func message(total: Int) -> [UInt8] {
            // SEQUENCE (2 + 1 length octets) { INTEGER 1, DelRequest of total - 11 octets }
            let dn = [UInt8](repeating: UInt8(ascii: "a"), count: total - 11)
            return [
                0x30, 0x82, UInt8((total - 4) >> 8), UInt8((total - 4) & 0xFF), 0x02, 0x01, 0x01, 0x4A, 0x82, UInt8(dn.count >> 8),
                UInt8(dn.count & 0xFF),
            ] + dn
        }
        let atLimit = message(total: 300)
        #expect(atLimit.count == 300)
        #expect(try frame(atLimit, step: 1, limits: limits) == [atLimit])
        #expect(try LDAPMessage(decoding: atLimit, limits: limits).protocolOp == .deleteRequest(String(repeating: "a", count: 289)))
        let over = message(total: 301)
        #expect(throws: LDAPCodecError(.pduTooLarge, "301 octets")) { try frame(Array(over.prefix(4)), step: 1, limits: limits) }
        #expect(decodeError(over, limits: limits)?.code == .pduTooLarge)
    }

    /// The framer holds at most `bufferedBytes` octets that it has not handed out.
    @Test func bufferedBytesLimit() throws {
        let limits = LDAPLimits(bufferedBytes: 3 * Captured.unbind.count)
        var framer = LDAPFramer(limits: limits)
        try framer.append(Captured.unbind + Captured.unbind + Captured.unbind)
        #expect(framer.bufferedByteCount == limits.bufferedBytes)
        #expect(throws: LDAPCodecError(.bufferLimitExceeded, "22 octets")) { try framer.append([0x30]) }

        var draining = LDAPFramer(limits: limits)
        for _ in 0..<100 {
            try draining.append(Captured.unbind + Captured.unbind + Captured.unbind)
            while try draining.nextMessage() != nil {}
        }
        #expect(draining.bufferedByteCount == 0)
    }

    /// The length octets alone of a too-long message are enough, however it is cut.
    @Test func refusesBeforeTheContents() throws {
        var framer = LDAPFramer(limits: LDAPLimits(pduSize: 1000, bufferedBytes: 2000))
        for octet: UInt8 in [0x30, 0x84, 0x00, 0x00, 0x03] {
            try framer.append([octet])
            #expect(try framer.nextMessage() == nil)
        }
        try framer.append([0xE9])  // 0x3E9 = 1001 octets of contents
        #expect(throws: LDAPCodecError.self) { try framer.nextMessage() }
    }
}
