import LDAPCodec
import Testing

/// What OpenLDAP's tools and slapd really send (CapturedFixtures.swift) decodes to the messages
/// below, and every one of them encodes back to the very same octets: OpenLDAP writes the
/// shortest lengths, TRUE as 0xFF and no defaults, as this encoder does.
@Suite struct CapturedFixtureTests {
    static let base = "dc=example,dc=org"
    static let alice = "cn=alice,dc=example,dc=org"
    static func search(
        _ id: LDAPMessageID, _ filter: LDAPFilter, _ attributes: [String], base: String = base, scope: LDAPSearchScope = .wholeSubtree,
        controls: [LDAPControl] = []
    ) -> LDAPMessage {
        LDAPMessage(
            messageID: id, .searchRequest(LDAPSearchRequest(baseObject: base, scope: scope, filter: filter, attributes: attributes)),
            controls: controls)
    }
    static func restricted(_ op: (LDAPResult) -> LDAPProtocolOp) -> LDAPMessage {
        LDAPMessage(messageID: 2, op(LDAPResult(.unwillingToPerform, diagnosticMessage: "operation restricted")))
    }
    static let objectClassPresent = LDAPFilter.present("objectClass")
    static func paged(_ size: Int32, _ cookie: [UInt8], critical: Bool = false) -> LDAPControl {
        LDAPPagedResultsControl(size: size, cookie: cookie).control(criticality: critical)
    }
    static let cookie: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0]

    static let fixtures: [(String, [UInt8], LDAPMessage)] = [
        ("anonymous bind", Captured.anonymousBind, LDAPMessage(messageID: 1, .bindRequest(.anonymous))),
        ("bind success", Captured.bindSuccess, LDAPMessage(messageID: 1, .bindResponse(LDAPBindResponse(.success)))),
        (
            "Thunderbird's search", Captured.thunderbirdSearch,
            search(
                2,
                .or(["cn", "mail", "sn", "givenName"].map { .substrings(LDAPSubstringFilter($0, any: ["ali"])) }),
                ["cn", "mail"])
        ),
        (
            "Outlook's search", Captured.outlookSearch,
            search(2, .or(["cn", "mail"].map { .substrings(LDAPSubstringFilter($0, initial: "ali")) }), ["cn", "mail"])
        ),
        ("unbind", Captured.unbind, LDAPMessage(messageID: 3, .unbindRequest)),
        (
            "simple bind with a password", Captured.adminBind,
            LDAPMessage(
                messageID: 1,
                .bindRequest(LDAPBindRequest(name: "cn=admin,dc=example,dc=org", authentication: .simple(Array("secret".utf8)))))
        ),
        (
            "one-level search, every option", Captured.oneLevelSearch,
            LDAPMessage(
                messageID: 2,
                .searchRequest(
                    LDAPSearchRequest(
                        baseObject: base, scope: .singleLevel, derefAliases: .derefAlways, sizeLimit: 5, timeLimit: 7, typesOnly: true,
                        filter: objectClassPresent)))
        ),
        ("root DSE search", Captured.rootDSESearch, search(2, objectClassPresent, ["+"], base: "", scope: .baseObject)),
        ("paged search", Captured.pagedSearch, search(2, objectClassPresent, ["1.1"], controls: [paged(1, [])])),
        ("paged search, next page", Captured.pagedNextSearch, search(3, objectClassPresent, ["1.1"], controls: [paged(1, cookie)])),
        (
            "filter of every kind", Captured.complexSearch,
            search(
                2,
                .and([
                    .equal("objectClass", "person"),
                    .not(.lessOrEqual(LDAPAttributeValueAssertion("sn", "M"))),
                    .approxMatch(LDAPAttributeValueAssertion("cn", "alise")),
                    .greaterOrEqual(LDAPAttributeValueAssertion("mail", "a")),
                    .extensibleMatch(
                        LDAPMatchingRuleAssertion(matchingRule: "caseExactMatch", type: "cn", matchValue: Array("alice".utf8))),
                    .extensibleMatch(
                        LDAPMatchingRuleAssertion(matchingRule: "2.5.13.5", matchValue: Array("example".utf8), dnAttributes: true)),
                    .equal("sn", "Lu\u{10D}i\u{107}"),
                    .substrings(LDAPSubstringFilter("cn", any: ["*"])),
                ]), [])
        ),
        ("search done", Captured.searchDone, LDAPMessage(messageID: 2, .searchResultDone(.success))),
        ("Who am I?", Captured.whoAmI, LDAPMessage(messageID: 2, .extendedRequest(.whoAmI))),
        ("Who am I? anonymous", Captured.whoAmIAnonymous, LDAPMessage(messageID: 2, .extendedResponse(.whoAmI(authorizationID: "")))),
        ("StartTLS", Captured.startTLS, LDAPMessage(messageID: 1, .extendedRequest(.startTLS))),
        (
            "StartTLS refused", Captured.startTLSRefused,
            LDAPMessage(
                messageID: 1,
                .extendedResponse(LDAPExtendedResponse(LDAPResult(.protocolError, diagnosticMessage: "unsupported extended operation"))))
        ),
        (
            "compare", Captured.compare,
            LDAPMessage(
                messageID: 2, .compareRequest(LDAPCompareRequest(entry: alice, assertion: LDAPAttributeValueAssertion("sn", "Liddell"))))
        ),
        ("compare true", Captured.compareTrue, LDAPMessage(messageID: 2, .compareResponse(LDAPResult(.compareTrue)))),
        (
            "unknown controls", Captured.controlsSearch,
            search(
                2, objectClassPresent, ["1.1"],
                controls: [LDAPControl(type: "1.2.3.4", criticality: true, value: [1, 2, 3]), LDAPControl(type: "1.2.3.5")])
        ),
        (
            "critical control refused", Captured.criticalRefused,
            LDAPMessage(
                messageID: 2,
                .searchResultDone(LDAPResult(.unavailableCriticalExtension, diagnosticMessage: "critical extension is not recognized")))
        ),
        ("absolute true", Captured.absoluteTrueSearch, search(2, .and([]), ["1.1"])),
        (
            "add", Captured.add,
            LDAPMessage(
                messageID: 2,
                .addRequest(
                    LDAPAddRequest(
                        entry: "cn=bob,dc=example,dc=org",
                        attributes: [
                            LDAPAttribute(type: "objectClass", ["inetOrgPerson"]), LDAPAttribute(type: "cn", ["bob"]),
                            LDAPAttribute(type: "sn", ["B"]),
                        ])))
        ),
        ("add refused", Captured.addRefused, restricted { .addResponse($0) }),
        (
            "modify", Captured.modify,
            LDAPMessage(
                messageID: 2,
                .modifyRequest(
                    LDAPModifyRequest(
                        object: alice,
                        changes: [
                            LDAPModification(.replace, LDAPAttribute(type: "sn", ["X"])),
                            LDAPModification(.add, LDAPAttribute(type: "mail", ["a@x.org"])),
                            LDAPModification(.delete, LDAPAttribute(type: "description", values: [])),
                        ])))
        ),
        ("modify refused", Captured.modifyRefused, restricted { .modifyResponse($0) }),
        ("delete", Captured.delete, LDAPMessage(messageID: 2, .deleteRequest(alice))),
        ("delete refused", Captured.deleteRefused, restricted { .deleteResponse($0) }),
        (
            "modify DN", Captured.modifyDN,
            LDAPMessage(
                messageID: 2,
                .modifyDNRequest(
                    LDAPModifyDNRequest(entry: alice, newRDN: "cn=alicia", deleteOldRDN: true, newSuperior: "ou=people,dc=example,dc=org")))
        ),
        ("modify DN refused", Captured.modifyDNRefused, restricted { .modifyDNResponse($0) }),
        (
            "paged control without a value", Captured.pagedCriticalNoValue,
            search(
                2, objectClassPresent, ["1.1"], scope: .baseObject,
                controls: [LDAPControl(type: LDAPPagedResultsControl.oid, criticality: true), paged(2, [])])
        ),
        (
            "paged control refused", Captured.pagedNoValueRefused,
            LDAPMessage(
                messageID: 2, .searchResultDone(LDAPResult(.protocolError, diagnosticMessage: "paged results control value is absent")))
        ),
        (
            "SASL bind", Captured.saslBindStart,
            LDAPMessage(
                messageID: 1, .bindRequest(LDAPBindRequest(name: "", authentication: .sasl(mechanism: "CRAM-MD5", credentials: nil))))
        ),
        (
            "SASL challenge", Captured.saslChallenge,
            LDAPMessage(
                messageID: 1,
                .bindResponse(
                    LDAPBindResponse(
                        LDAPResult(.saslBindInProgress, diagnosticMessage: "SASL(0): successful result: "),
                        serverSASLCredentials: Array("<209890417.1034099@vm>".utf8))))
        ),
        (
            "SASL response", Captured.saslBindResponse,
            LDAPMessage(
                messageID: 2,
                .bindRequest(
                    LDAPBindRequest(
                        name: "",
                        authentication: .sasl(mechanism: "CRAM-MD5", credentials: Array("alice 30506f5c6f05cc6e2d01f1b1941ae612".utf8)))))
        ),
        (
            "SASL failed", Captured.saslFailed,
            LDAPMessage(
                messageID: 2,
                .bindResponse(
                    LDAPBindResponse(LDAPResult(.invalidCredentials, diagnosticMessage: "SASL(-13): user not found: no secret in database"))
                ))
        ),
        (
            "slapd's Notice of Disconnection", Captured.slapdNotice,
            .noticeOfDisconnection(.protocolError, diagnosticMessage: "unknown LDAP request")
        ),
    ]

    @Test(arguments: fixtures)
    func decodes(name: String, octets: [UInt8], message: LDAPMessage) throws {
        #expect(try LDAPMessage(decoding: octets) == message, "\(name)")
    }

    @Test(arguments: fixtures)
    func encodesTheSameOctets(name: String, octets: [UInt8], message: LDAPMessage) {
        #expect(hexString(message.encoded()) == hexString(octets), "\(name)")
    }

    /// A read holding several PDUs, or a PDU in pieces, frames the same, one octet at a time too.
    @Test(arguments: [1, 2, 7, 64, 4096])
    func serverReadsFrame(step: Int) throws {
        let entries = try frame(Captured.aliceEntry, step: step)
        #expect(entries.count == 2)
        guard entries.count == 2 else { return }
        let entry = try LDAPMessage(decoding: entries[0])
        #expect(
            entry.protocolOp
                == .searchResultEntry(
                    LDAPSearchResultEntry(
                        objectName: Self.alice,
                        attributes: [LDAPAttribute(type: "cn", ["alice"]), LDAPAttribute(type: "mail", ["alice@example.org"])])))
        #expect(try LDAPMessage(decoding: entries[1]) == LDAPMessage(messageID: 2, .searchResultDone(.success)))

        let typesOnly = try frame(Captured.typesOnlyEntry, step: step).map { try LDAPMessage(decoding: $0) }
        #expect(
            typesOnly.first?.protocolOp
                == .searchResultEntry(
                    LDAPSearchResultEntry(
                        objectName: Self.alice, attributes: ["objectClass", "cn", "sn", "mail"].map { LDAPAttribute(type: $0, values: []) })
                ))
    }

    /// slapd's root DSE: one PDU of 829 octets with a two-octet length, as a client reads it.
    @Test func rootDSE() throws {
        let messages = try frame(Captured.rootDSEEntry, step: 100)
        #expect(messages.count == 2)
        let entry = try LDAPMessage(decoding: messages[0])
        guard case .searchResultEntry(let dse) = entry.protocolOp else {
            Issue.record("not an entry: \(entry)")
            return
        }
        #expect(dse.objectName == "")
        let controls = dse.attributes.first { $0.type == "supportedControl" }?.values.map { String(decoding: $0, as: UTF8.self) }
        #expect(controls?.contains(LDAPPagedResultsControl.oid) == true)
        let extensions = dse.attributes.first { $0.type == "supportedExtension" }?.values.map { String(decoding: $0, as: UTF8.self) }
        #expect(extensions?.contains(LDAPExtendedOperation.whoAmI) == true)
        #expect(messages[0].count == 829 && messages[0][1] == 0x82)
        #expect(entry.encoded() == messages[0])
    }

    /// slapd's pages: the control in SearchResultDone, size 0 (no estimate) and its cookie.
    @Test func pagedResponses() throws {
        let first = try frame(Captured.pagedFirstPage, step: 3).map { try LDAPMessage(decoding: $0) }
        #expect(first.count == 2)
        #expect(first.last?.controls.map { try? LDAPPagedResultsControl($0) } == [LDAPPagedResultsControl(size: 0, cookie: Self.cookie)])
        let last = try frame(Captured.pagedLastPage, step: 3).map { try LDAPMessage(decoding: $0) }
        #expect(last.last?.controls.map { try? LDAPPagedResultsControl($0) } == [LDAPPagedResultsControl(size: 0, cookie: [])])
        for message in first + last { #expect(try LDAPMessage(decoding: message.encoded()) == message) }
    }
}
