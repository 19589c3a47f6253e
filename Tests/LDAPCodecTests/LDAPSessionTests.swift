import LDAPCodec
import Testing

/// Drives a session with messages as a client sends them and checks the actions it returns.
struct SessionDriver {
    var session: LDAPSession

    init(_ configuration: LDAPSessionConfiguration = LDAPSessionConfiguration()) {
        session = LDAPSession(configuration: configuration)
    }

    mutating func send(_ message: LDAPMessage) -> [LDAPSessionAction] { session.receive(.received(message.encoded())) }
    mutating func send(_ octets: [UInt8]) -> [LDAPSessionAction] { session.receive(.received(octets)) }
}

@Suite struct LDAPSessionTests {
    static let search = LDAPSearchRequest(baseObject: "dc=example,dc=org", filter: .present("mail"))
    static func request(_ id: LDAPMessageID, _ op: LDAPProtocolOp, controls: [LDAPControl] = []) -> LDAPMessage {
        LDAPMessage(messageID: id, op, controls: controls)
    }
    static func response(_ id: LDAPMessageID, _ op: LDAPProtocolOp) -> LDAPSessionAction { .send(LDAPMessage(messageID: id, op)) }
    static func bindResponse(_ id: LDAPMessageID, _ code: LDAPResultCode, _ message: String = "") -> LDAPSessionAction {
        response(id, .bindResponse(LDAPBindResponse(LDAPResult(code, diagnosticMessage: message))))
    }
    static let alice = "cn=alice,dc=example,dc=org"
    static let password = Array("wonder".utf8)

    /// ldapsearch's whole conversation, as captured: bind, search, entries, done, unbind.
    @Test func ldapsearchTranscript() {
        var driver = SessionDriver()
        #expect(driver.send(Captured.anonymousBind) == [Self.bindResponse(1, .success)])
        let actions = driver.send(Captured.thunderbirdSearch)
        guard case .search(2, let request, let controls, .anonymous) = actions.first, actions.count == 1 else {
            Issue.record("\(actions)")
            return
        }
        #expect(request.attributes == ["cn", "mail"])
        #expect(controls == LDAPRequestControls())
        let entry = LDAPSearchResultEntry(objectName: Self.alice, attributes: [LDAPAttribute(type: "cn", ["alice"])])
        #expect(driver.session.receive(.searchEntry(messageID: 2, entry)) == [Self.response(2, .searchResultEntry(entry))])
        #expect(
            driver.session.receive(.searchCompleted(messageID: 2, .success, controls: [])) == [
                Self.response(2, .searchResultDone(.success))
            ])
        #expect(driver.session.outstandingSearches.isEmpty)
        #expect(driver.send(Captured.unbind) == [.close])
        #expect(driver.send(Captured.anonymousBind) == [])
    }

    // MARK: Bind

    @Test func passwordBind() {
        var driver = SessionDriver(LDAPSessionConfiguration(implicitTLS: true))
        let bind = Self.request(3, .bindRequest(LDAPBindRequest(name: Self.alice, authentication: .simple(Self.password))))
        #expect(driver.send(bind) == [.authenticate(messageID: 3, name: Self.alice, password: Self.password)])
        // "servers SHOULD NOT process or respond to requests received while processing a
        // BindRequest" (RFC 4511 §4.2.1): held, then read in order.
        #expect(driver.send(Self.request(4, .extendedRequest(.whoAmI))) == [])
        #expect(driver.session.receive(.bindCompleted(messageID: 9, result: .success)) == [])
        #expect(
            driver.session.receive(.bindCompleted(messageID: 3, result: .success)) == [
                Self.bindResponse(3, .success), Self.response(4, .extendedResponse(.whoAmI(authorizationID: "dn:" + Self.alice))),
            ])
        #expect(driver.session.bindState == .bound("dn:" + Self.alice))
        // A failed bind leaves the client anonymous.
        #expect(driver.send(bind).count == 1)
        #expect(driver.session.bindState == .anonymous)
        #expect(
            driver.session.receive(.bindCompleted(messageID: 3, result: LDAPResult(.invalidCredentials))) == [
                Self.bindResponse(3, .invalidCredentials)
            ])
        #expect(driver.session.bindState == .anonymous)
    }

    /// A bind by mail address: Who am I? answers the identity the gateway bound, not the name.
    @Test func mailAddressBindAnswersTheEntryDN() {
        var driver = SessionDriver(LDAPSessionConfiguration(implicitTLS: true))
        let name = Array("alice@example.org".utf8)
        let bind = Self.request(3, .bindRequest(LDAPBindRequest(name: "alice@example.org", authentication: .simple(Self.password))))
        #expect(driver.send(bind) == [.authenticate(messageID: 3, name: String(decoding: name, as: UTF8.self), password: Self.password)])
        #expect(
            driver.session.receive(.bindCompleted(messageID: 3, result: .success, authorizationID: "dn:" + Self.alice)) == [
                Self.bindResponse(3, .success)
            ])
        #expect(
            driver.send(Self.request(4, .extendedRequest(.whoAmI))) == [
                Self.response(4, .extendedResponse(.whoAmI(authorizationID: "dn:" + Self.alice)))
            ])
    }

    /// RFC 4513 §5.1: each simple mechanism, and what this server answers.
    static let simpleBinds: [(String, LDAPBindRequest, LDAPSessionConfiguration, [LDAPSessionAction])] = [
        ("anonymous", .anonymous, LDAPSessionConfiguration(), [bindResponse(1, .success)]),
        (
            "unauthenticated", LDAPBindRequest(name: alice, authentication: .simple([])), LDAPSessionConfiguration(),
            [bindResponse(1, .unwillingToPerform, "unauthenticated bind (DN with no password) disallowed")]
        ),
        (
            "password without a name", LDAPBindRequest(name: "", authentication: .simple(password)), LDAPSessionConfiguration(),
            [bindResponse(1, .invalidCredentials)]
        ),
        (
            "password in the clear", LDAPBindRequest(name: alice, authentication: .simple(password)), LDAPSessionConfiguration(),
            [bindResponse(1, .confidentialityRequired, "a password needs TLS: use StartTLS first")]
        ),
        (
            "password in the clear, allowed", LDAPBindRequest(name: alice, authentication: .simple(password)),
            LDAPSessionConfiguration(allowsPlaintextBind: true), [.authenticate(messageID: 1, name: alice, password: password)]
        ),
        (
            "LDAPv2", LDAPBindRequest(version: 2, name: "", authentication: .simple([])), LDAPSessionConfiguration(),
            [bindResponse(1, .protocolError, "only LDAPv3 is supported")]
        ),
        (
            "SASL", LDAPBindRequest(name: "", authentication: .sasl(mechanism: "PLAIN", credentials: [0])), LDAPSessionConfiguration(),
            [bindResponse(1, .authMethodNotSupported, "SASL PLAIN is not supported")]
        ),
        (
            "SASL without a mechanism", LDAPBindRequest(name: "", authentication: .sasl(mechanism: "", credentials: nil)),
            LDAPSessionConfiguration(),
            [bindResponse(1, .authMethodNotSupported, "no SASL mechanism")]
        ),
        (
            "an unknown choice", LDAPBindRequest(name: "", authentication: .unrecognized([0x81, 0x00])), LDAPSessionConfiguration(),
            [bindResponse(1, .authMethodNotSupported, "unknown authentication method")]
        ),
    ]

    @Test(arguments: simpleBinds)
    func simpleBind(name: String, request: LDAPBindRequest, configuration: LDAPSessionConfiguration, actions: [LDAPSessionAction]) {
        var driver = SessionDriver(configuration)
        #expect(driver.send(Self.request(1, .bindRequest(request))) == actions, "\(name)")
    }

    /// RFC 4511 §4.2.1: a bind abandons what is outstanding.
    @Test func bindCancelsSearches() {
        var driver = SessionDriver()
        _ = driver.send(Self.request(2, .searchRequest(Self.search)))
        _ = driver.send(Self.request(3, .searchRequest(Self.search)))
        #expect(
            driver.send(Self.request(4, .bindRequest(.anonymous))) == [
                .cancel(messageID: 2), .cancel(messageID: 3), Self.bindResponse(4, .success),
            ])
        #expect(driver.session.receive(.searchCompleted(messageID: 2, .success, controls: [])) == [])
    }

    @Test func deferredLimit() {
        var driver = SessionDriver(LDAPSessionConfiguration(allowsPlaintextBind: true, maximumDeferredRequests: 2))
        _ = driver.send(Self.request(1, .bindRequest(LDAPBindRequest(name: Self.alice, authentication: .simple(Self.password)))))
        #expect(driver.send(Captured.whoAmI) == [])
        #expect(driver.send(Captured.whoAmI) == [])
        #expect(
            driver.send(Captured.whoAmI) == [
                .send(.noticeOfDisconnection(.busy, diagnosticMessage: "too many requests during a bind")), .close,
            ])
    }

    // MARK: StartTLS

    @Test func startTLS() {
        var driver = SessionDriver()
        #expect(driver.send(Captured.startTLS) == [Self.response(1, .extendedResponse(.startTLS(.success))), .startTLS])
        // Anything read before the handshake is the client out of step.
        var early = driver
        #expect(early.send(Captured.anonymousBind) == [.close])
        #expect(driver.session.receive(.tlsEstablished) == [])
        #expect(driver.session.isTLSActive)
        #expect(
            driver.send(Captured.startTLS) == [
                Self.response(
                    1, .extendedResponse(.startTLS(LDAPResult(.operationsError, diagnosticMessage: "TLS is already established"))))
            ])
        let bind = Self.request(2, .bindRequest(LDAPBindRequest(name: Self.alice, authentication: .simple(Self.password))))
        #expect(driver.send(bind) == [.authenticate(messageID: 2, name: Self.alice, password: Self.password)])
    }

    /// RFC 4513 §3.1.1: not while an operation is outstanding.
    @Test func startTLSWithASearchOutstanding() {
        var driver = SessionDriver()
        _ = driver.send(Self.request(2, .searchRequest(Self.search)))
        #expect(
            driver.send(Self.request(3, .extendedRequest(.startTLS))) == [
                Self.response(
                    3, .extendedResponse(.startTLS(LDAPResult(.operationsError, diagnosticMessage: "operations are outstanding"))))
            ])
        _ = driver.session.receive(.searchCompleted(messageID: 2, .success, controls: []))
        #expect(driver.send(Self.request(4, .extendedRequest(.startTLS))).last == .startTLS)
    }

    @Test func startTLSUnavailable() {
        var driver = SessionDriver(LDAPSessionConfiguration(startTLSAvailable: false))
        #expect(
            driver.send(Captured.startTLS) == [
                Self.response(
                    1, .extendedResponse(LDAPExtendedResponse(LDAPResult(.protocolError, diagnosticMessage: "StartTLS is not available"))))
            ])
    }

    // MARK: Abandon, controls, refusals, errors

    @Test func abandon() {
        var driver = SessionDriver()
        _ = driver.send(Self.request(2, .searchRequest(Self.search)))
        #expect(driver.send(Self.request(3, .abandonRequest(7))) == [])
        #expect(driver.send(Self.request(3, .abandonRequest(2))) == [.cancel(messageID: 2)])
        // §4.11: an abandoned search sends no more entries and no SearchResultDone.
        let entry = LDAPSearchResultEntry(objectName: "o=x", attributes: [])
        #expect(driver.session.receive(.searchEntry(messageID: 2, entry)) == [])
        #expect(driver.session.receive(.searchCompleted(messageID: 2, .success, controls: [])) == [])
        #expect(driver.send(Self.request(4, .abandonRequest(2))) == [])
    }

    @Test func pagedSearch() {
        var driver = SessionDriver()
        let actions = driver.send(Captured.pagedSearch)
        #expect(actions.count == 1)
        guard case .search(2, _, let controls, _) = actions.first else {
            Issue.record("\(actions)")
            return
        }
        #expect(controls.pagedResults == LDAPPagedResultsControl(size: 1))
        let page = LDAPPagedResultsControl(size: 0, cookie: [1]).control()
        #expect(
            driver.session.receive(.searchCompleted(messageID: 2, .success, controls: [page]))
                == [.send(LDAPMessage(messageID: 2, .searchResultDone(.success), controls: [page]))])
    }

    /// Captured requests against slapd's answers: the same result codes.
    static let refusals: [(String, [UInt8], [LDAPSessionAction])] = [
        (
            "an unknown critical control", Captured.controlsSearch,
            [
                response(
                    2, .searchResultDone(LDAPResult(.unavailableCriticalExtension, diagnosticMessage: "control 1.2.3.4 is not supported")))
            ]
        ),
        (
            "a paged control without a value", Captured.pagedCriticalNoValue,
            [response(2, .searchResultDone(LDAPResult(.protocolError, diagnosticMessage: "invalid value")))]
        ),
        (
            "add", Captured.add,
            [response(2, .addResponse(LDAPResult(.unwillingToPerform, diagnosticMessage: "the directory is read-only")))]
        ),
        (
            "modify", Captured.modify,
            [response(2, .modifyResponse(LDAPResult(.unwillingToPerform, diagnosticMessage: "the directory is read-only")))]
        ),
        (
            "delete", Captured.delete,
            [response(2, .deleteResponse(LDAPResult(.unwillingToPerform, diagnosticMessage: "the directory is read-only")))]
        ),
        (
            "modify DN", Captured.modifyDN,
            [response(2, .modifyDNResponse(LDAPResult(.unwillingToPerform, diagnosticMessage: "the directory is read-only")))]
        ),
        (
            "compare", Captured.compare,
            [response(2, .compareResponse(LDAPResult(.unwillingToPerform, diagnosticMessage: "compare is not supported")))]
        ),
        (
            "an unknown extended operation",
            LDAPMessage(messageID: 5, .extendedRequest(LDAPExtendedRequest(name: "1.3.6.1.4.1.4203.1.11.1"))).encoded(),
            [
                response(
                    5,
                    .extendedResponse(LDAPExtendedResponse(LDAPResult(.protocolError, diagnosticMessage: "unsupported extended operation")))
                )
            ]
        ),
        ("who am I, anonymous", Captured.whoAmI, [response(2, .extendedResponse(.whoAmI(authorizationID: "")))]),
        (
            "a malformed message", envelope(2, tlv(0x63, [])),
            [.send(.noticeOfDisconnection(.protocolError, diagnosticMessage: "malformed message")), .close]
        ),
        (
            "a response from the client", Captured.searchDone,
            [.send(.noticeOfDisconnection(.protocolError, diagnosticMessage: "not a request")), .close]
        ),
        (
            "slapd's unknown operation", envelope(2, [0x7E, 0x00]),
            [.send(.noticeOfDisconnection(.protocolError, diagnosticMessage: "unknown LDAP operation")), .close]
        ),
    ]

    @Test(arguments: refusals)
    func refuses(name: String, octets: [UInt8], actions: [LDAPSessionAction]) {
        var driver = SessionDriver()
        #expect(driver.send(octets) == actions, "\(name)")
    }

    @Test func framingFailure() {
        var driver = SessionDriver()
        _ = driver.send(Self.request(2, .searchRequest(Self.search)))
        #expect(
            driver.session.receive(.framingFailed(LDAPCodecError(.pduTooLarge))) == [
                .send(.noticeOfDisconnection(.protocolError, diagnosticMessage: "message too large")), .cancel(messageID: 2), .close,
            ])
        #expect(driver.session.receive(.peerClosed) == [])
    }

    @Test func peerClosedCancelsSearches() {
        var driver = SessionDriver()
        _ = driver.send(Self.request(2, .searchRequest(Self.search)))
        #expect(driver.session.receive(.peerClosed) == [.cancel(messageID: 2), .close])
    }
}

/// Every request in every state (STYLE §13): while a bind is with the back-end a request
/// waits; between the StartTLS response and the handshake it ends the session; once closed,
/// nothing is answered.
@Suite struct LDAPSessionMatrixTests {
    static let requests: [LDAPMessage] = [
        LDAPMessage(messageID: 10, .bindRequest(.anonymous)),
        LDAPMessage(messageID: 10, .unbindRequest),
        LDAPMessage(messageID: 10, .searchRequest(LDAPSearchRequest(baseObject: "", filter: .present("objectClass")))),
        LDAPMessage(messageID: 10, .modifyRequest(LDAPModifyRequest(object: "o=x", changes: []))),
        LDAPMessage(messageID: 10, .addRequest(LDAPAddRequest(entry: "o=x", attributes: []))),
        LDAPMessage(messageID: 10, .deleteRequest("o=x")),
        LDAPMessage(messageID: 10, .modifyDNRequest(LDAPModifyDNRequest(entry: "o=x", newRDN: "o=y", deleteOldRDN: true))),
        LDAPMessage(messageID: 10, .compareRequest(LDAPCompareRequest(entry: "o=x", assertion: LDAPAttributeValueAssertion("o", "x")))),
        LDAPMessage(messageID: 10, .abandonRequest(1)),
        LDAPMessage(messageID: 10, .extendedRequest(.whoAmI)),
        LDAPMessage(messageID: 10, .extendedRequest(.startTLS)),
    ]

    enum State: CaseIterable { case binding, startingTLS, closed }

    static func session(in state: State) -> LDAPSession {
        var session = LDAPSession(configuration: LDAPSessionConfiguration(allowsPlaintextBind: true))
        switch state {
        case .binding:
            let bind = LDAPMessage(messageID: 1, .bindRequest(LDAPBindRequest(name: "cn=a", authentication: .simple([1]))))
            _ = session.receive(.received(bind.encoded()))
        case .startingTLS: _ = session.receive(.received(Captured.startTLS))
        case .closed: _ = session.receive(.received(Captured.unbind))
        }
        return session
    }

    @Test(arguments: State.allCases, requests)
    func request(in state: State, message: LDAPMessage) {
        var session = Self.session(in: state)
        let actions = session.receive(.received(message.encoded()))
        switch state {
        case .binding: #expect(actions == [])
        case .startingTLS: #expect(actions == [.close])
        case .closed: #expect(actions == [])
        }
    }

    /// In the open state each request kind gets its own response type, or none (Unbind closes,
    /// Abandon of nothing is dropped, a search goes to the back-end).
    @Test(arguments: requests)
    func openState(message: LDAPMessage) {
        var session = LDAPSession()
        let actions = session.receive(.received(message.encoded()))
        switch message.protocolOp.operation {
        case .unbindRequest: #expect(actions == [.close])
        case .abandonRequest: #expect(actions == [])
        case .searchRequest: #expect(actions.count == 1 && session.outstandingSearches == [10])
        default:
            guard case .send(let response) = actions.first else {
                Issue.record("\(actions)")
                return
            }
            #expect(response.messageID == 10)
            #expect(response.protocolOp.operation == message.protocolOp.operation.response)
        }
    }
}
