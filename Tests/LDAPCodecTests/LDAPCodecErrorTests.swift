import LDAPCodec
import Testing

/// Malformed messages: the code, what the error knows of the message, and what the server owes
/// the client (RFC 4511 §4.1.1), following slapd where the RFC leaves a choice (its answers to
/// the same octets are noted).
@Suite struct LDAPCodecErrorTests {
    static let base = tlv(0x04, Array("dc=example,dc=org".utf8))
    static let objectClass = tlv(0x87, Array("objectClass".utf8))

    /// A SearchRequest built field by field, so that one field can be wrong.
    static func search(
        base: [UInt8] = base, scope: UInt8 = 2, deref: UInt8 = 0, sizeLimit: [UInt8] = [0], filter: [UInt8] = objectClass,
        attributes: [UInt8]? = tlv(0x30, [])
    ) -> [UInt8] {
        tlv(
            0x63,
            base + tlv(0x0A, [scope]) + tlv(0x0A, [deref]) + tlv(0x02, sizeLimit) + tlv(0x02, [0]) + tlv(0x01, [0]) + filter
                + (attributes ?? []))
    }

    enum Reply: Sendable, CustomStringConvertible {
        /// The Notice of Disconnection, then close.
        case notice
        /// The request's own response with this code.
        case respond(LDAPOperation, LDAPResultCode)
        case ignore

        var description: String {
            switch self {
            case .notice: "notice"
            case .respond(let op, let code): "respond \(op) \(code)"
            case .ignore: "ignore"
            }
        }
    }

    static let cases: [(String, [UInt8], LDAPCodecError.Code, LDAPMessageID?, Reply)] = [
        // The structure is wrong: the Notice of Disconnection, as slapd sends for these.
        ("an indefinite length inside", tlv(0x30, tlv(0x02, [2]) + [0x63, 0x80, 0x00, 0x00]), .indefiniteLength, 2, .notice),
        ("an element overrunning its parent", tlv(0x30, tlv(0x02, [2]) + [0x4A, 0x05, 0x61]), .malformed, 2, .notice),
        ("an element truncated", tlv(0x30, tlv(0x02, [2]) + [0x4A]), .malformed, 2, .notice),
        ("five length octets inside", tlv(0x30, tlv(0x02, [2]) + [0x4A, 0x85, 0, 0, 0, 0, 1, 0x61]), .lengthTooLong, 2, .notice),
        ("octets after the message", envelope(2, [0x42, 0x00]) + [0x00], .malformed, 2, .notice),
        ("a missing field", envelope(2, search(attributes: nil)), .malformed, 2, .notice),
        ("a constructed OCTET STRING", envelope(2, tlv(0x6A, tlv(0x04, [0x61]))), .malformed, 2, .notice),
        ("a filter with a broken equalityMatch", envelope(2, search(filter: tlv(0xA3, tlv(0x04, [0x61])))), .malformed, 2, .notice),
        ("a primitive and", envelope(2, search(filter: tlv(0x80, [0x61]))), .malformed, 2, .notice),
        ("not with two filters", envelope(2, search(filter: tlv(0xA2, objectClass + objectClass))), .malformed, 2, .notice),
        (
            "a substring choice [3]", envelope(2, search(filter: tlv(0xA4, tlv(0x04, [0x61]) + tlv(0x30, tlv(0x83, [0x61]))))), .malformed,
            2, .notice
        ),
        ("an UnbindRequest with contents", envelope(2, tlv(0x42, [0])), .malformed, 2, .notice),
        ("an empty INTEGER", envelope(2, tlv(0x50, [])), .malformed, 2, .notice),
        ("a messageID that is a string (slapd closes)", tlv(0x30, tlv(0x04, [2]) + [0x42, 0x00]), .invalidMessageID, nil, .notice),
        ("a negative messageID", tlv(0x30, tlv(0x02, [0xFF]) + [0x42, 0x00]), .invalidMessageID, nil, .notice),
        ("a messageID of 2^31", tlv(0x30, tlv(0x02, [0x00, 0x80, 0, 0, 0]) + [0x42, 0x00]), .invalidMessageID, nil, .notice),
        ("no protocolOp", tlv(0x30, tlv(0x02, [2])), .malformed, 2, .notice),
        ("[APPLICATION 30] (slapd: the notice)", envelope(2, [0x7E, 0x00]), .unknownOperation, 2, .notice),
        ("an IntermediateResponse", envelope(2, tlv(0x79, [])), .unknownOperation, 2, .notice),
        ("a universal protocolOp", envelope(2, tlv(0x30, [])), .unknownOperation, 2, .notice),
        (
            "a result code RFC 4511 does not list", envelope(2, tlv(0x65, [0x0A, 0x01, 0x09, 0x04, 0x00, 0x04, 0x00])), .invalidValue, 2,
            .notice
        ),
        ("controls that are not a SEQUENCE OF Control", envelope(2, [0x42, 0x00], controls: tlv(0x04, [])), .malformed, 2, .notice),
        ("a control without a type", envelope(2, [0x42, 0x00], controls: tlv(0x30, [])), .malformed, 2, .notice),

        // The message is well formed, a value is wrong: the request's own response.
        (
            "scope 7 (slapd: protocolError, invalid scope)", envelope(2, search(scope: 7)), .invalidValue, 2,
            .respond(.searchResultDone, .protocolError)
        ),
        (
            "derefAliases 9 (slapd: invalid deref)", envelope(2, search(deref: 9)), .invalidValue, 2,
            .respond(.searchResultDone, .protocolError)
        ),
        ("a negative sizeLimit", envelope(2, search(sizeLimit: [0xFF])), .invalidValue, 2, .respond(.searchResultDone, .protocolError)),
        (
            "a base that is not UTF-8 (slapd: invalidDNSyntax)", envelope(2, search(base: tlv(0x04, [0x64, 0x63, 0x3D, 0xFF]))), .invalidDN,
            2,
            .respond(.searchResultDone, .invalidDNSyntax)
        ),
        (
            "an attribute that is not UTF-8", envelope(2, search(filter: tlv(0x87, [0xC3, 0x28]))), .invalidString, 2,
            .respond(.searchResultDone, .protocolError)
        ),
        (
            "initial after any",
            envelope(2, search(filter: tlv(0xA4, tlv(0x04, [0x61]) + tlv(0x30, tlv(0x81, [0x61]) + tlv(0x80, [0x62]))))),
            .invalidValue, 2, .respond(.searchResultDone, .protocolError)
        ),
        (
            "final before any",
            envelope(2, search(filter: tlv(0xA4, tlv(0x04, [0x61]) + tlv(0x30, tlv(0x82, [0x61]) + tlv(0x81, [0x62]))))),
            .invalidValue, 2, .respond(.searchResultDone, .protocolError)
        ),
        (
            "no substrings", envelope(2, search(filter: tlv(0xA4, tlv(0x04, [0x61]) + tlv(0x30, [])))), .invalidValue, 2,
            .respond(.searchResultDone, .protocolError)
        ),
        (
            "extensibleMatch without rule or type", envelope(2, search(filter: tlv(0xA9, tlv(0x83, [0x61])))), .invalidValue, 2,
            .respond(.searchResultDone, .protocolError)
        ),
        (
            "Bind version 0 (slapd: protocolError)", envelope(1, tlv(0x60, tlv(0x02, [0]) + tlv(0x04, []) + tlv(0x80, []))), .invalidValue,
            1,
            .respond(.bindResponse, .protocolError)
        ),
        (
            "Bind version 128", envelope(1, tlv(0x60, tlv(0x02, [0, 128]) + tlv(0x04, []) + tlv(0x80, []))), .invalidValue, 1,
            .respond(.bindResponse, .protocolError)
        ),
        (
            "an ExtendedRequest named by a descriptor", envelope(3, tlv(0x77, tlv(0x80, Array("startTLS".utf8)))), .invalidOID, 3,
            .respond(.extendedResponse, .protocolError)
        ),
        (
            "a control type that is not an OID", envelope(3, tlv(0x4A, []), controls: tlv(0x30, tlv(0x04, Array("paged".utf8)))),
            .invalidOID, 3,
            .respond(.deleteResponse, .protocolError)
        ),
        (
            "a modify operation of 7",
            envelope(4, tlv(0x66, tlv(0x04, []) + tlv(0x30, tlv(0x30, tlv(0x0A, [7]) + tlv(0x30, tlv(0x04, [0x61]) + tlv(0x31, [])))))),
            .invalidValue, 4, .respond(.modifyResponse, .protocolError)
        ),
        ("Abandon of -1", envelope(5, tlv(0x50, [0xFF])), .invalidValue, 5, .ignore),
    ]

    @Test(arguments: cases)
    func refuses(name: String, bytes: [UInt8], code: LDAPCodecError.Code, messageID: LDAPMessageID?, reply: Reply) {
        guard let error = decodeError(bytes) else {
            Issue.record("\(name) decoded")
            return
        }
        #expect(error.code == code, "\(name): \(error)")
        #expect(error.messageID == messageID, "\(name)")
        switch (reply, error.reply) {
        case (.notice, .disconnect(let notice?)):
            #expect(notice == .noticeOfDisconnection(.protocolError, diagnosticMessage: code.description), "\(name)")
        case (.respond(let operation, let resultCode), .respond(let response)):
            #expect(response.messageID == messageID, "\(name)")
            #expect(response.protocolOp.operation == operation, "\(name)")
            #expect(
                response.protocolOp
                    == LDAPProtocolOp.response(to: error.operation!, LDAPResult(resultCode, diagnosticMessage: code.description)))
        case (.ignore, .ignore): break
        default: Issue.record("\(name): \(error.reply), expected \(reply)")
        }
        // However the octets arrive, the framer hands them over whole (or refuses them first).
        if let framed = try? frame(bytes, step: 1) { #expect(framed == [bytes]) }
    }

    /// Nesting far past what swift-asn1 allows (50) fails with a code and the messageID, in the
    /// first pass, however deep: 49 and 10,000 nested `not`s, 100,000 nested SETs.
    @Test(arguments: [49, 10_000])
    func deepNesting(levels: Int) {
        let filter = nested(0xA2, levels, around: Self.objectClass)
        let error = decodeError(envelope(7, Self.search(filter: filter)), limits: LDAPLimits(pduSize: 1 << 20))
        #expect(error?.code == .nestingTooDeep)
        #expect(error?.messageID == 7 && error?.operation == .searchRequest)
        let sets = nested(0x31, 100_000, around: [])
        #expect(decodeError(envelope(7, sets), limits: LDAPLimits(pduSize: 1 << 22))?.code == .nestingTooDeep)
    }

    /// `levels` elements tagged `tag`, each holding the next, the innermost holding `inner`.
    func nested(_ tag: UInt8, _ levels: Int, around inner: [UInt8]) -> [UInt8] {
        var lengths = [inner.count]
        for _ in 0..<levels { lengths.append(1 + lengthOctets(lengths.last!).count + lengths.last!) }
        var octets: [UInt8] = []
        for level in stride(from: levels - 1, through: 0, by: -1) { octets += [tag] + lengthOctets(lengths[level]) }
        return octets + inner
    }

    // MARK: What decodes although a server would not expect it

    /// A filter choice RFC 4511 does not define is kept: it evaluates to Undefined (§4.5.1.7),
    /// which slapd answers with an empty success. So is an unknown authentication choice,
    /// answered with authMethodNotSupported (§4.2).
    @Test func unknownChoicesDecode() throws {
        let unknown = tlv(0x8F, [0x61])
        let message = try LDAPMessage(decoding: envelope(2, Self.search(filter: tlv(0xA0, Self.objectClass + unknown))))
        guard case .searchRequest(let search) = message.protocolOp else {
            Issue.record("not a search")
            return
        }
        #expect(search.filter == .and([.present("objectClass"), .unrecognized(unknown)]))
        #expect(message.encoded() == envelope(2, Self.search(filter: tlv(0xA0, Self.objectClass + unknown))))
        let bind = try LDAPMessage(decoding: envelope(1, tlv(0x60, tlv(0x02, [3]) + tlv(0x04, []) + tlv(0x81, []))))
        #expect(bind.protocolOp == .bindRequest(LDAPBindRequest(name: "", authentication: .unrecognized([0x81, 0x00]))))
    }

    /// Responses decode (a client needs them); telling requests apart is the server's, by
    /// `LDAPOperation.isRequest`.
    @Test func responsesAreNotRequests() throws {
        let message = try LDAPMessage(decoding: Captured.searchDone)
        #expect(!message.protocolOp.operation.isRequest)
        #expect(LDAPOperation.allCases.filter(\.isRequest).count == 10)
        #expect(LDAPOperation.allCases.filter { $0.response != nil }.count == 8)
    }
}
