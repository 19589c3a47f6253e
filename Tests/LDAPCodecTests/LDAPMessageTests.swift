import LDAPCodec
import NIOCore
import Testing

@Suite struct LDAPMessageTests {
    static let entry = LDAPSearchResultEntry(
        objectName: "cn=Ada Lovelace,ou=people,dc=example,dc=org",
        attributes: [
            LDAPAttribute(type: "cn", ["Ada Lovelace", "Ada"]), LDAPAttribute(type: "mail", ["ada@example.org"]),
            LDAPAttribute(type: "jpegPhoto", values: [[0xFF, 0xD8, 0x00, 0xFF]]), LDAPAttribute(type: "description", values: []),
        ])
    static let referral = LDAPResult(
        .referral, matchedDN: "dc=example,dc=org", diagnosticMessage: "elsewhere",
        referral: ["ldap://a.example.org/", "ldap://b.example.org/"])

    /// One message of every protocolOp, with every optional field both present and absent
    /// somewhere. Each must decode from its own encoding to itself, whole and framed.
    static let messages: [LDAPMessage] = [
        LDAPMessage(messageID: 1, .bindRequest(.anonymous)),
        LDAPMessage(
            messageID: 1,
            .bindRequest(LDAPBindRequest(name: "uid=ada,dc=example,dc=org", authentication: .simple(Array("pa\u{DF}word".utf8))))),
        LDAPMessage(messageID: 2, .bindRequest(LDAPBindRequest(name: "", authentication: .sasl(mechanism: "EXTERNAL", credentials: nil)))),
        LDAPMessage(
            messageID: 3, .bindRequest(LDAPBindRequest(name: "", authentication: .sasl(mechanism: "PLAIN", credentials: [0, 97, 0, 98])))),
        LDAPMessage(messageID: 4, .bindRequest(LDAPBindRequest(version: 2, name: "", authentication: .unrecognized([0x81, 0x00])))),
        LDAPMessage(messageID: 1, .bindResponse(LDAPBindResponse(.success))),
        LDAPMessage(
            messageID: 1, .bindResponse(LDAPBindResponse(LDAPResult(.saslBindInProgress), serverSASLCredentials: Array("challenge".utf8)))),
        LDAPMessage(messageID: 1, .bindResponse(LDAPBindResponse(LDAPResult(.success), serverSASLCredentials: []))),
        LDAPMessage(messageID: 1, .bindResponse(LDAPBindResponse(LDAPResult(.invalidCredentials, diagnosticMessage: "no")))),
        LDAPMessage(messageID: 9, .unbindRequest),
        LDAPMessage(
            messageID: 5,
            .searchRequest(
                LDAPSearchRequest(
                    baseObject: "ou=people,dc=example,dc=org", scope: .singleLevel, derefAliases: .derefFindingBaseObj,
                    sizeLimit: 2_147_483_647,
                    timeLimit: 30, typesOnly: true, filter: .equal("mail", "ada@example.org"), attributes: ["cn", "mail", "*", "1.1"]))),
        LDAPMessage(
            messageID: 2_147_483_647,
            .searchRequest(LDAPSearchRequest(baseObject: "", scope: .baseObject, filter: .present("objectClass"), attributes: ["+"]))),
        LDAPMessage(messageID: 5, .searchResultEntry(entry)),
        LDAPMessage(messageID: 5, .searchResultEntry(LDAPSearchResultEntry(objectName: "dc=example,dc=org", attributes: []))),
        LDAPMessage(messageID: 5, .searchResultReference(["ldap://b.example.org/ou=people,dc=example,dc=org??sub"])),
        LDAPMessage(messageID: 5, .searchResultDone(.success)),
        LDAPMessage(messageID: 5, .searchResultDone(referral)),
        LDAPMessage(messageID: 5, .searchResultDone(LDAPResult(.noSuchObject, matchedDN: "dc=example,dc=org"))),
        LDAPMessage(
            messageID: 6,
            .modifyRequest(
                LDAPModifyRequest(
                    object: "cn=a,dc=example,dc=org",
                    changes: LDAPModification.Operation.allCases.map { LDAPModification($0, LDAPAttribute(type: "sn", ["x"])) }))),
        LDAPMessage(messageID: 6, .modifyResponse(LDAPResult(.unwillingToPerform, diagnosticMessage: "read-only"))),
        LDAPMessage(
            messageID: 7, .addRequest(LDAPAddRequest(entry: "cn=b,dc=example,dc=org", attributes: [LDAPAttribute(type: "cn", ["b"])]))),
        LDAPMessage(messageID: 7, .addResponse(LDAPResult(.entryAlreadyExists))),
        LDAPMessage(messageID: 8, .deleteRequest("cn=b,dc=example,dc=org")),
        LDAPMessage(messageID: 8, .deleteRequest("")),
        LDAPMessage(messageID: 8, .deleteResponse(LDAPResult(.notAllowedOnNonLeaf))),
        LDAPMessage(
            messageID: 9, .modifyDNRequest(LDAPModifyDNRequest(entry: "cn=b,dc=example,dc=org", newRDN: "cn=c", deleteOldRDN: false))),
        LDAPMessage(
            messageID: 9, .modifyDNRequest(LDAPModifyDNRequest(entry: "cn=b,o=x", newRDN: "cn=c", deleteOldRDN: true, newSuperior: "o=y"))),
        LDAPMessage(messageID: 9, .modifyDNResponse(referral)),
        LDAPMessage(
            messageID: 10,
            .compareRequest(LDAPCompareRequest(entry: "cn=b,o=x", assertion: LDAPAttributeValueAssertion(attribute: "x", value: [0, 1])))),
        LDAPMessage(messageID: 10, .compareResponse(LDAPResult(.compareFalse))),
        LDAPMessage(messageID: 11, .abandonRequest(5)),
        LDAPMessage(messageID: 11, .abandonRequest(0)),
        LDAPMessage(messageID: 11, .abandonRequest(2_147_483_647)),
        LDAPMessage(messageID: 12, .extendedRequest(.startTLS)),
        LDAPMessage(messageID: 12, .extendedRequest(.whoAmI)),
        LDAPMessage(messageID: 12, .extendedRequest(LDAPExtendedRequest(name: "1.3.6.1.4.1.4203.1.11.1", value: [0x30, 0x00]))),
        LDAPMessage(messageID: 12, .extendedResponse(.startTLS(.success))),
        LDAPMessage(messageID: 12, .extendedResponse(.whoAmI(authorizationID: "dn:uid=ada,dc=example,dc=org"))),
        LDAPMessage(messageID: 12, .extendedResponse(LDAPExtendedResponse(LDAPResult(.protocolError), value: []))),
        .noticeOfDisconnection(.protocolError, diagnosticMessage: "bye"),
        .noticeOfDisconnection(.strongerAuthRequired),
        LDAPMessage(
            messageID: 13, .searchResultDone(.success),
            controls: [
                LDAPPagedResultsControl(size: 12, cookie: [0, 1, 2]).control(), LDAPControl(type: "1.2.3", criticality: true, value: []),
            ]),
    ]

    @Test(arguments: messages)
    func roundTrips(message: LDAPMessage) throws {
        let octets = message.encoded()
        #expect(try LDAPMessage(decoding: octets) == message)
        #expect(try frame(octets + octets, step: 1) == [octets, octets])
        var buffer = ByteBuffer()
        message.write(into: &buffer)
        #expect(Array(buffer.readableBytesView) == octets)
    }

    /// Every result code of RFC 4511 §4.1.9 goes out and comes back.
    @Test(arguments: LDAPResultCode.allCases)
    func resultCodes(code: LDAPResultCode) throws {
        let message = LDAPMessage(messageID: 1, .searchResultDone(LDAPResult(code)))
        #expect(try LDAPMessage(decoding: message.encoded()) == message)
        #expect(message.encoded()[9] == UInt8(code.rawValue))
    }

    @Test func resultCodeNames() {
        #expect(LDAPResultCode.unwillingToPerform.description == "unwillingToPerform (53)")
        #expect(LDAPResultCode.allCases.count == 39)
    }

    // MARK: Octets from the RFCs

    /// RFC 4532 §2.1 and §2.2, as printed there.
    @Test func whoAmIExamples() throws {
        let request = hex("30 1e 02 01 02 77 19 80  17 31 2e 33 2e 36 2e 31 2e 34 2e 31 2e 34 32 30  33 2e 31 2e 31 31 2e 33")
        #expect(try LDAPMessage(decoding: request) == LDAPMessage(messageID: 2, .extendedRequest(.whoAmI)))
        let response = hex(
            """
            30 21 02 01 02 78 1c 0a  01 00 04 00 04 00 8b 13
            75 3a 78 78 79 79 7a 40  45 58 41 4d 50 4c 45 2e
            4e 45 54
            """)
        let expected = LDAPMessage(messageID: 2, .extendedResponse(.whoAmI(authorizationID: "u:xxyyz@EXAMPLE.NET")))
        #expect(try LDAPMessage(decoding: response) == expected)
        #expect(expected.encoded() == response)
    }

    @Test func noticeOfDisconnectionOctets() {
        #expect(
            LDAPMessage.noticeOfDisconnection(.protocolError).encoded()
                == envelope(0, tlv(0x78, [0x0A, 0x01, 0x02, 0x04, 0x00, 0x04, 0x00] + tlv(0x8A, Array("1.3.6.1.4.1.1466.20036".utf8)))))
    }

    // MARK: BER details

    /// RFC 4511 §4: trailing SEQUENCE components with tags the receiver does not know are
    /// ignored, in the envelope and in an operation.
    @Test func trailingComponentsAreIgnored() throws {
        let unbind = envelope(3, [0x42, 0x00] + tlv(0xA0, []) + [0x9F, 0x20, 0x01, 0x01] + tlv(0x85, []))
        #expect(try LDAPMessage(decoding: unbind) == LDAPMessage(messageID: 3, .unbindRequest))
        let extended = envelope(2, tlv(0x77, tlv(0x80, Array(LDAPExtendedOperation.whoAmI.utf8)) + tlv(0x85, [9])))
        #expect(try LDAPMessage(decoding: extended) == LDAPMessage(messageID: 2, .extendedRequest(.whoAmI)))
    }

    /// BER's TRUE is any non-zero octet (X.690 §8.2.2); it is written back as 0xFF (§5.1).
    @Test func booleansAreAnyNonZeroOctet() throws {
        var octets = Captured.oneLevelSearch
        let index = octets.firstIndex(of: 0xFF)!
        #expect(octets[index - 2] == 0x01)
        octets[index] = 0x01
        guard case .searchRequest(let search) = try LDAPMessage(decoding: octets).protocolOp else {
            Issue.record("not a search")
            return
        }
        #expect(search.typesOnly)
    }

    /// BER INTEGERs need not be minimal; messageID 2 in two octets is still 2.
    @Test func longIntegers() throws {
        let message = tlv(0x30, tlv(0x02, [0x00, 0x02]) + [0x42, 0x00])
        #expect(try LDAPMessage(decoding: message) == LDAPMessage(messageID: 2, .unbindRequest))
    }
}
