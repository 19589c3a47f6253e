import LDAPCodec
import Testing

@Suite struct LDAPControlTests {
    static func message(_ op: LDAPProtocolOp, _ controls: [LDAPControl]) -> LDAPMessage {
        LDAPMessage(messageID: 3, op, controls: controls)
    }
    static let search = LDAPProtocolOp.searchRequest(LDAPSearchRequest(baseObject: "o=x", filter: .present("cn")))
    static let paged = LDAPPagedResultsControl(size: 50, cookie: [7, 7])

    /// RFC 2696 §2: the value is a BER SEQUENCE { size, cookie } inside the OCTET STRING.
    @Test func pagedResultsValue() throws {
        let control = Self.paged.control()
        #expect(control == LDAPControl(type: "1.2.840.113556.1.4.319", value: [0x30, 0x07, 0x02, 0x01, 0x32, 0x04, 0x02, 0x07, 0x07]))
        #expect(try LDAPPagedResultsControl(control) == Self.paged)
        #expect(try LDAPPagedResultsControl(LDAPPagedResultsControl(size: 2_147_483_647).control()).size == 2_147_483_647)
    }

    static let badValues: [[UInt8]?] = [
        nil, [], [0x30, 0x00], [0x30, 0x03, 0x02, 0x01, 0x05], [0x30, 0x05, 0x02, 0x01, 0xFF, 0x04, 0x00], [0x04, 0x00],
    ]

    @Test(arguments: badValues)
    func pagedResultsBadValues(value: [UInt8]?) {
        let control = LDAPControl(type: LDAPPagedResultsControl.oid, value: value)
        #expect(throws: LDAPCodecError.self) { try LDAPPagedResultsControl(control) }
        do {
            _ = try LDAPRequestControls(of: Self.message(Self.search, [control]))
            Issue.record("accepted")
        } catch {
            #expect(error.code == .invalidValue)
            #expect(
                error.reply
                    == .respond(
                        LDAPMessage(messageID: 3, .searchResultDone(LDAPResult(.protocolError, diagnosticMessage: "invalid value")))))
        }
    }

    /// RFC 4511 §4.1.11: an unknown control is ignored unless it is critical; a critical one is
    /// flagged for unavailableCriticalExtension. Paged results is known only on a search.
    static let verdicts: [(String, LDAPProtocolOp, [LDAPControl], LDAPRequestControls)] = [
        ("no controls", search, [], LDAPRequestControls()),
        ("paged results", search, [paged.control()], LDAPRequestControls(pagedResults: paged)),
        ("paged results, critical", search, [paged.control(criticality: true)], LDAPRequestControls(pagedResults: paged)),
        ("an unknown control", search, [LDAPControl(type: "1.2.3.5")], LDAPRequestControls()),
        (
            "an unknown critical control", search, [paged.control(), LDAPControl(type: "1.2.3.4", criticality: true, value: [1])],
            LDAPRequestControls(
                pagedResults: paged, unavailableCriticalControl: LDAPControl(type: "1.2.3.4", criticality: true, value: [1]))
        ),
        (
            "two unknown critical controls", search,
            [LDAPControl(type: "1.2.3.4", criticality: true), LDAPControl(type: "1.2.3.6", criticality: true)],
            LDAPRequestControls(unavailableCriticalControl: LDAPControl(type: "1.2.3.4", criticality: true))
        ),
        ("paged results on a bind", .bindRequest(.anonymous), [paged.control()], LDAPRequestControls()),
        (
            "paged results on a bind, critical", .bindRequest(.anonymous), [paged.control(criticality: true)],
            LDAPRequestControls(unavailableCriticalControl: paged.control(criticality: true))
        ),
        (
            "an unknown critical control on an unbind", .unbindRequest, [LDAPControl(type: "1.2.3.4", criticality: true)],
            LDAPRequestControls()
        ),
    ]

    @Test(arguments: verdicts)
    func verdict(name: String, op: LDAPProtocolOp, controls: [LDAPControl], expected: LDAPRequestControls) throws {
        let message = Self.message(op, controls)
        #expect(try LDAPRequestControls(of: LDAPMessage(decoding: message.encoded())) == expected, "\(name)")
    }

    @Test func pagedResultsTwice() {
        #expect(throws: LDAPCodecError(.invalidValue, "paged results control given twice", messageID: 3, operation: .searchRequest)) {
            try LDAPRequestControls(of: Self.message(Self.search, [Self.paged.control(), Self.paged.control()]))
        }
    }

    /// The captured ldapsearch controls, as slapd judged them.
    @Test func capturedControls() throws {
        let controls = try LDAPRequestControls(of: LDAPMessage(decoding: Captured.controlsSearch))
        #expect(controls.unavailableCriticalControl?.type == "1.2.3.4")
        #expect(controls.pagedResults == nil)
        #expect(throws: LDAPCodecError.self) { try LDAPRequestControls(of: LDAPMessage(decoding: Captured.pagedCriticalNoValue)) }
        #expect(try LDAPRequestControls(of: LDAPMessage(decoding: Captured.pagedSearch)).pagedResults == LDAPPagedResultsControl(size: 1))
    }
}
