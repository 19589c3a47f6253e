import LineFraming
import NIOCore
import POP3Codec
import Testing

/// Whole conversations, as a client and the back-end would drive them.
@Suite struct POP3SessionTranscriptTests {
    static let ts = SessionDriver.timestamp
    static let capaAuthorization =
        "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\r\n"
        + "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nSTLS\r\nIMPLEMENTATION Loft\r\n.\r\n"
    static let loaded = "+OK maildrop has 2 messages (320 octets)\r\n"

    @Test func greetingCarriesTheAPOPTimestamp() {
        var session = POP3Session()
        let actions = session.receive(.opened(SessionDriver.configuration()))
        #expect(wire(actions) == "+OK Loft POP3 server ready \(Self.ts)\r\n")
        #expect(effects(actions).isEmpty)
    }

    @Test func userPassHappyPath() {
        var s = SessionDriver()
        s.expect("CAPA", Self.capaAuthorization)
        s.expect("USER alice", "+OK send PASS\r\n")
        s.expect(
            "PASS open sesame", "",
            effects: [.authenticate(.password(user: "alice", password: "open sesame", authorizationIdentity: nil))])
        #expect(s.session.isAwaitingBackend)
        s.expect(.authSucceeded(user: "alice", saslFinal: nil), "", effects: [.acquireMaildrop(user: "alice")])
        s.expect(.maildropLoaded(SessionDriver.maildrop), Self.loaded)
        #expect(s.session.state == .transaction)
        s.expect("STAT", "+OK 2 320\r\n")
        s.expect("LIST", "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n")
        s.expect("LIST 2", "+OK 2 200\r\n")
        s.expect("LIST 3", "-ERR no such message, only 2 messages in maildrop\r\n")
        s.expect("UIDL", "+OK unique-id listing follows\r\n1 uid-one\r\n2 uid-two\r\n.\r\n")
        s.expect("UIDL 1", "+OK 1 uid-one\r\n")
        s.expect("RETR 1", "", effects: [.fetchMessage(uid: "uid-one", topLines: nil)])
        s.expect(
            .messageChunk(ByteBuffer(string: "Subject: hi\r\n\r\n.hidden")),
            "+OK 120 octets\r\nSubject: hi\r\n\r\n..hidden")
        s.expect(.messageChunk(ByteBuffer(string: "\nend")), "\r\nend")
        s.expect(.messageEnd, "\r\n.\r\n")
        s.expect("NOOP", "+OK\r\n")
        s.expect("DELE 1", "+OK message 1 deleted\r\n")
        s.expect("QUIT", "", effects: [.commitDeletions(["uid-one"])])
        #expect(s.session.state == .update)
        s.expect(.updateCommitted, "+OK Loft POP3 server signing off (1 messages left)\r\n", effects: [.close])
        #expect(s.session.state == .closed)
        s.expect("NOOP", "")
    }

    /// What the gateway reads ahead: the next message in the snapshot not marked as deleted.
    @Test func messageFollowingSkipsDeletedMessages() {
        let maildrop = (1...4).map { POP3MaildropEntry(uid: "uid-\($0)", size: 10) }
        var s = SessionDriver()
        #expect(s.session.message(following: 0) == nil)
        s = SessionDriver.loggedIn(maildrop: maildrop)
        #expect(s.session.message(following: 0)?.uid == "uid-1")
        #expect(s.session.message(following: 1)?.number == 2)
        _ = s.line("DELE 2")
        _ = s.line("DELE 3")
        #expect(s.session.message(following: 1)?.number == 4)
        #expect(s.session.message(following: 1)?.uid == "uid-4")
        #expect(s.session.message(following: 4) == nil)
        _ = s.line("RSET")
        #expect(s.session.message(following: 1)?.uid == "uid-2")
        _ = s.line("QUIT")
        #expect(s.session.message(following: 1) == nil)
    }

    @Test func capaInTransactionLeavesOutAuthorizationCapabilities() {
        var config = SessionDriver.configuration()
        config.expire = POP3Expire(.days(30), variesPerUser: true)
        config.loginDelay = POP3LoginDelay(seconds: 900)
        var s = SessionDriver(config)
        s.expect(
            "CAPA",
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\r\n"
                + "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nSTLS\r\nEXPIRE 30 USER\r\nLOGIN-DELAY 900\r\n"
                + "IMPLEMENTATION Loft\r\n.\r\n")
        s = SessionDriver.loggedIn(config)
        s.expect(
            "CAPA",
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
                + "EXPIRE 30\r\nLOGIN-DELAY 900\r\nIMPLEMENTATION Loft\r\n.\r\n")
        config.expire = POP3Expire(.never)
        config.implementation = nil
        s = SessionDriver.loggedIn(config)
        #expect(wire(s.line("CAPA")).hasSuffix("EXPIRE NEVER\r\nLOGIN-DELAY 900\r\n.\r\n"))
    }

    @Test func apop() {
        var s = SessionDriver()
        let digest = "c4c9334bac560ecc979e58001b3e22fb"
        s.expect(
            "APOP mrose \(digest.uppercased())", "",
            effects: [.authenticate(.apop(user: "mrose", timestamp: Self.ts, digest: digest))])
        s.expect(.authSucceeded(user: "mrose", saslFinal: nil), "", effects: [.acquireMaildrop(user: "mrose")])
        s.expect(.maildropLoaded([]), "+OK maildrop has 0 messages (0 octets)\r\n")
        s.expect("QUIT", "", effects: [.commitDeletions([])])
        s.expect(.updateCommitted, "+OK Loft POP3 server signing off (maildrop empty)\r\n", effects: [.close])
    }

    @Test func apopWithoutTimestampIsRefused() {
        var config = SessionDriver.configuration()
        config.greetingTimestamp = nil
        var s = SessionDriver(config)
        s.expect("APOP mrose c4c9334bac560ecc979e58001b3e22fb", "-ERR APOP not available\r\n")
    }

    @Test func authPlainWithInitialResponse() {
        var s = SessionDriver()
        s.expect(
            "AUTH PLAIN \(base64("\0alice\0pass word"))", "",
            effects: [.authenticate(.password(user: "alice", password: "pass word", authorizationIdentity: nil))])
        s.expect(.authSucceeded(user: "alice", saslFinal: nil), "", effects: [.acquireMaildrop(user: "alice")])
        s.expect(.maildropLoaded(SessionDriver.maildrop), Self.loaded)
    }

    @Test func authPlainWithContinuationAndAuthorizationIdentity() {
        var s = SessionDriver()
        s.expect("AUTH PLAIN", "+ \r\n")
        #expect(s.session.maximumLineLength == POP3Limits.default.saslLineLength)
        s.expect(
            base64("alice\0alice\0secret"), "",
            effects: [.authenticate(.password(user: "alice", password: "secret", authorizationIdentity: "alice"))])
        #expect(s.session.maximumLineLength == 255)
    }

    /// RFC 4616 §2: an authzid other than the authcid asks for proxy authentication, which Loft
    /// does not offer. The SASL exchange refuses it as the gateway did before (`-ERR [AUTH]`,
    /// counted), without asking the back-end.
    @Test func authPlainWithAnotherAuthorizationIdentityIsRefused() {
        var s = SessionDriver()
        s.expect("AUTH PLAIN", "+ \r\n")
        s.expect(base64("admin\0alice\0secret"), "-ERR [AUTH] authentication failed\r\n")
        #expect(s.session.state == .authorization)
    }

    @Test(arguments: ["alice\0secret", "\0\0secret", "\0alice\0", "\0alice\0secret\0x"])
    func malformedPlainCountsAsFailure(message: String) {
        var s = SessionDriver()
        s.expect("AUTH PLAIN \(base64(message))", "-ERR [AUTH] authentication failed\r\n")
        #expect(s.session.state == .authorization)
    }

    @Test func authLogin() {
        var s = SessionDriver()
        s.expect("AUTH LOGIN", "+ VXNlcm5hbWU6\r\n")
        s.expect(base64("alice"), "+ UGFzc3dvcmQ6\r\n")
        s.expect(
            base64("secret"), "",
            effects: [.authenticate(.password(user: "alice", password: "secret", authorizationIdentity: nil))])
        s.expect(.authSucceeded(user: "alice", saslFinal: nil), "", effects: [.acquireMaildrop(user: "alice")])
    }

    @Test func authLoginWithInitialResponse() {
        var s = SessionDriver()
        s.expect("AUTH LOGIN \(base64("alice"))", "+ UGFzc3dvcmQ6\r\n")
        s.expect(
            base64("secret"), "",
            effects: [.authenticate(.password(user: "alice", password: "secret", authorizationIdentity: nil))])
    }

    /// RFC 2195 §3's example exchange.
    @Test func cramMD5() {
        var s = SessionDriver()
        let challenge = "<1896.697170952@postoffice.reston.mci.net>"
        s.expect("AUTH CRAM-MD5", "", effects: [.saslStart(mechanism: .cramMD5, initialResponse: nil)])
        s.expect(
            .saslChallenge(ByteBuffer(string: challenge)),
            "+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n")
        s.expect(
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw", "",
            effects: [
                .authenticate(.cramMD5(user: "tim", challenge: challenge, digest: "b913a602c7eda7a495b4e6e7334d3890"))
            ])
        s.expect(.authFailed(.invalidCredentials), "-ERR [AUTH] authentication failed\r\n")
    }

    @Test func cramMD5RejectsInitialResponseAndBadDigest() {
        var s = SessionDriver()
        s.expect("AUTH CRAM-MD5 \(base64("x"))", "-ERR CRAM-MD5 takes no initial response\r\n")
        s.expect("AUTH CRAM-MD5", "", effects: [.saslStart(mechanism: .cramMD5, initialResponse: nil)])
        s.expect(.saslChallenge(ByteBuffer(string: "<1.2@h>")), "+ PDEuMkBoPg==\r\n")
        s.expect(base64("tim nothex"), "-ERR [AUTH] authentication failed\r\n")
    }

    /// RFC 7677 §3's SCRAM-SHA-256 messages, relayed without interpretation.
    @Test func scramPassThroughWithFinalData() {
        var s = SessionDriver()
        let clientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
        let serverFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        let clientFinal =
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        let serverFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        s.expect("AUTH SCRAM-SHA-256", "+ \r\n")
        s.expect(
            base64(clientFirst), "",
            effects: [.saslStart(mechanism: .scramSHA256, initialResponse: ByteBuffer(string: clientFirst))])
        s.expect(.saslChallenge(ByteBuffer(string: serverFirst)), "+ \(base64(serverFirst))\r\n")
        s.expect(base64(clientFinal), "", effects: [.saslContinue(ByteBuffer(string: clientFinal))])
        s.expect(
            .authSucceeded(user: "user", saslFinal: ByteBuffer(string: serverFinal)), "+ \(base64(serverFinal))\r\n")
        s.expect("", "", effects: [.acquireMaildrop(user: "user")])
        s.expect(.maildropLoaded(SessionDriver.maildrop), Self.loaded)
    }

    @Test func scramWithInitialResponseAndCancel() {
        var s = SessionDriver()
        s.expect(
            "AUTH SCRAM-SHA-256 \(base64("n,,n=u,r=x"))", "",
            effects: [.saslStart(mechanism: .scramSHA256, initialResponse: ByteBuffer(string: "n,,n=u,r=x"))])
        s.expect(
            .saslChallenge(ByteBuffer(string: "r=xy,s=c2FsdA==,i=4096")), "+ \(base64("r=xy,s=c2FsdA==,i=4096"))\r\n")
        s.expect("*", "-ERR authentication cancelled\r\n", effects: [.saslAbort])
        s.expect("USER alice", "+OK send PASS\r\n")
    }

    @Test func saslCancelAndGarbage() {
        var s = SessionDriver()
        s.expect("AUTH LOGIN", "+ VXNlcm5hbWU6\r\n")
        s.expect("*", "-ERR authentication cancelled\r\n")
        s.expect("AUTH PLAIN", "+ \r\n")
        s.expect("not base64!", "-ERR invalid base64 in SASL response\r\n")
        s.expect("AUTH GSSAPI", "-ERR unsupported authentication mechanism\r\n")
        s.expect("AUTH", "+OK Supported SASL mechanisms follow\r\nPLAIN\r\nLOGIN\r\nCRAM-MD5\r\nSCRAM-SHA-256\r\n.\r\n")
    }

    @Test func wrongPasswordThenCorrect() {
        var s = SessionDriver()
        s.expect("USER alice", "+OK send PASS\r\n")
        s.expect(
            "PASS wrong", "",
            effects: [.authenticate(.password(user: "alice", password: "wrong", authorizationIdentity: nil))])
        s.expect(.authFailed(.invalidCredentials), "-ERR [AUTH] authentication failed\r\n")
        s.expect("PASS right", "-ERR PASS not valid in this state\r\n")
        s.expect("USER alice", "+OK send PASS\r\n")
        s.expect(
            "PASS right", "",
            effects: [.authenticate(.password(user: "alice", password: "right", authorizationIdentity: nil))])
        s.expect(.authSucceeded(user: "alice", saslFinal: nil), "", effects: [.acquireMaildrop(user: "alice")])
        s.expect(.maildropLoaded(SessionDriver.maildrop), Self.loaded)
    }

    @Test func tooManyFailuresClose() {
        var s = SessionDriver()
        for attempt in 1...3 {
            s.expect("USER alice", "+OK send PASS\r\n")
            _ = s.line("PASS wrong")
            s.expect(
                .authFailed(attempt == 2 ? .throttled(retryAfterSeconds: 30) : .invalidCredentials),
                attempt == 2
                    ? "-ERR [LOGIN-DELAY] too many failed logins, try again in 30 seconds\r\n"
                    : "-ERR [AUTH] authentication failed\r\n",
                effects: attempt == 3 ? [.close] : [])
        }
        #expect(s.session.state == .closed)
    }

    @Test func temporaryAuthFailureIsNotCounted() {
        var limits = POP3Limits()
        limits.authenticationFailures = 1
        var s = SessionDriver(SessionDriver.configuration(limits: limits))
        _ = s.line("USER alice")
        _ = s.line("PASS x")
        s.expect(.authFailed(.temporaryFailure), "-ERR [SYS/TEMP] authentication temporarily unavailable\r\n")
        _ = s.line("USER alice")
        _ = s.line("PASS x")
        s.expect(
            .authFailed(.throttled(retryAfterSeconds: nil)),
            "-ERR [LOGIN-DELAY] too many failed logins, try again later\r\n", effects: [.close])
    }

    /// RFC 2595 §4, CVE-2011-0411: commands pipelined behind STLS are never executed.
    @Test func stlsDiscardsPipelinedCommands() {
        var s = SessionDriver(SessionDriver.configuration(plaintextAllowed: false))
        var framer = LineFramer(maximumLineLength: POP3Command.maximumLineLength)
        var inbound = ByteBuffer(string: "STLS\r\nUSER evil\r\nPASS evil\r\n")
        var actions: [POP3Action] = []
        while let outcome = framer.next(from: &inbound) {
            guard case .line(let line) = outcome else { break }
            actions += s.session.receive(.line(line))
            if actions.contains(.startTLS) { framer.discardBuffered(&inbound) }
        }
        #expect(wire(actions) == "+OK Begin TLS negotiation\r\n")
        #expect(effects(actions) == [.startTLS])
        // Even a gateway that forgot to discard its buffer gets nothing executed.
        s.expect("USER evil", "")
        s.expect(.tlsEstablished, "")
        #expect(s.session.tlsActive)
        s.expect(
            "CAPA",
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nUSER\r\nSASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256\r\n"
                + "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nIMPLEMENTATION Loft\r\n.\r\n")
        s.expect("STLS", "-ERR command not permitted when TLS active\r\n")
        s.expect("USER alice", "+OK send PASS\r\n")
    }

    @Test func stlsPipelinedBehindABackendCallIsDiscardedToo() {
        var s = SessionDriver()
        _ = s.line("USER alice")
        _ = s.line("PASS wrong")
        s.expect("STLS", "")
        s.expect("USER evil", "")
        s.expect(
            .authFailed(.invalidCredentials), "-ERR [AUTH] authentication failed\r\n+OK Begin TLS negotiation\r\n",
            effects: [.startTLS])
        s.expect(.tlsEstablished, "")
        s.expect("NOOP", "-ERR NOOP not valid in this state\r\n")
    }

    @Test func plaintextRefusedWithoutTLS() {
        var s = SessionDriver(SessionDriver.configuration(plaintextAllowed: false))
        let refusal = "-ERR [AUTH] plaintext authentication disallowed without TLS, use STLS\r\n"
        s.expect(
            "CAPA",
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nSASL CRAM-MD5 SCRAM-SHA-256\r\n"
                + "RESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\nSTLS\r\nIMPLEMENTATION Loft\r\n.\r\n")
        s.expect("USER alice", refusal)
        s.expect("PASS secret", "-ERR PASS not valid in this state\r\n")
        s.expect("AUTH PLAIN \(base64("\0alice\0secret"))", refusal)
        s.expect("AUTH LOGIN", refusal)
        s.expect("AUTH", "+OK Supported SASL mechanisms follow\r\nCRAM-MD5\r\nSCRAM-SHA-256\r\n.\r\n")
        s.expect("AUTH CRAM-MD5", "", effects: [.saslStart(mechanism: .cramMD5, initialResponse: nil)])
    }

    @Test func implicitTLSAllowsPlaintextAndHidesSTLS() {
        var s = SessionDriver(SessionDriver.configuration(plaintextAllowed: false, tlsActive: true))
        #expect(!wire(s.line("CAPA")).contains("STLS"))
        s.expect("USER alice", "+OK send PASS\r\n")
    }

    @Test func stlsUnavailable() {
        var s = SessionDriver(SessionDriver.configuration(stlsAvailable: false))
        #expect(!wire(s.line("CAPA")).contains("STLS"))
        s.expect("STLS", "-ERR STLS not available\r\n")
    }

    @Test func deleRsetQuitSemantics() {
        var s = SessionDriver.loggedIn()
        s.expect("DELE 1", "+OK message 1 deleted\r\n")
        s.expect("DELE 1", "-ERR message 1 already deleted\r\n")
        s.expect("RETR 1", "-ERR message 1 already deleted\r\n")
        s.expect("TOP 1 0", "-ERR message 1 already deleted\r\n")
        s.expect("LIST 1", "-ERR message 1 already deleted\r\n")
        s.expect("UIDL 1", "-ERR message 1 already deleted\r\n")
        s.expect("STAT", "+OK 1 200\r\n")
        s.expect("LIST", "+OK 1 messages (200 octets)\r\n2 200\r\n.\r\n")
        s.expect("UIDL", "+OK unique-id listing follows\r\n2 uid-two\r\n.\r\n")
        s.expect("RSET", "+OK maildrop has 2 messages (320 octets)\r\n")
        s.expect("STAT", "+OK 2 320\r\n")
        s.expect("DELE 2", "+OK message 2 deleted\r\n")
        s.expect("DELE 3", "-ERR no such message, only 2 messages in maildrop\r\n")
        s.expect("LIST", "+OK 1 messages (120 octets)\r\n1 120\r\n.\r\n")
        s.expect("QUIT", "", effects: [.commitDeletions(["uid-two"])])
        s.expect("NOOP", "")
        s.expect(.updateCommitted, "+OK Loft POP3 server signing off (1 messages left)\r\n", effects: [.close])
    }

    @Test func quitInAuthorizationDeletesNothing() {
        var s = SessionDriver()
        s.expect("QUIT", "+OK Loft POP3 server signing off\r\n", effects: [.close])
    }

    @Test func maildropInUse() {
        var s = SessionDriver()
        _ = s.line("USER alice")
        _ = s.line("PASS secret")
        s.expect(.authSucceeded(user: "alice", saslFinal: nil), "", effects: [.acquireMaildrop(user: "alice")])
        s.expect(.maildropInUse, "-ERR [IN-USE] maildrop is locked by another session\r\n", effects: [.close])
        #expect(s.session.state == .closed)
    }

    @Test func maildropFailure() {
        var s = SessionDriver()
        _ = s.line("USER alice")
        _ = s.line("PASS secret")
        _ = s.event(.authSucceeded(user: "alice", saslFinal: nil))
        s.expect(.maildropFailed, "-ERR [SYS/TEMP] unable to open maildrop\r\n", effects: [.close])
    }

    @Test func updateFailure() {
        var s = SessionDriver.loggedIn()
        s.expect("DELE 2", "+OK message 2 deleted\r\n")
        s.expect("QUIT", "", effects: [.commitDeletions(["uid-two"])])
        s.expect(.updateFailed, "-ERR [SYS/TEMP] some deleted messages not removed\r\n", effects: [.close])
    }

    /// RFC 1939 §3: the autologout timer ends the session without UPDATE and without a reply.
    @Test func timeoutInTransactionReleasesWithoutDeleting() {
        var s = SessionDriver.loggedIn()
        s.expect("DELE 1", "+OK message 1 deleted\r\n")
        s.expect(.timeout, "", effects: [.releaseMaildrop, .close])
        s.expect(.timeout, "")
    }

    @Test func peerCloseWhileLockIsBeingTakenGivesTheLockBack() {
        var s = SessionDriver()
        _ = s.line("USER alice")
        _ = s.line("PASS secret")
        _ = s.event(.authSucceeded(user: "alice", saslFinal: nil))
        s.expect(.peerClosed, "", effects: [.close])
        s.expect(.maildropLoaded(SessionDriver.maildrop), "", effects: [.releaseMaildrop])
    }

    @Test func topThroughTheSession() {
        var s = SessionDriver.loggedIn()
        s.expect("TOP 2 1", "", effects: [.fetchMessage(uid: "uid-two", topLines: 1)])
        s.expect(
            .messageChunk(ByteBuffer(string: "A: b\r\n\r\n.one\r\ntwo\r\n")),
            "+OK top of message follows\r\nA: b\r\n\r\n..one\r\n")
        s.expect(.messageChunk(ByteBuffer(string: "three\r\n")), "")
        s.expect(.messageEnd, ".\r\n")
        s.expect("TOP 1 0", "", effects: [.fetchMessage(uid: "uid-one", topLines: 0)])
        s.expect(.messageEnd, "+OK top of message follows\r\n.\r\n")
    }

    @Test func messageFetchFailures() {
        var s = SessionDriver.loggedIn()
        _ = s.line("RETR 1")
        s.expect(.messageFailed, "-ERR [SYS/TEMP] unable to read message\r\n")
        _ = s.line("RETR 2")
        s.expect(.messageChunk(ByteBuffer(string: "partial")), "+OK 200 octets\r\npartial")
        let actions = s.event(.messageFailed)
        #expect(wire(actions) == "")
        #expect(effects(actions).count == 3)
        #expect(effects(actions).suffix(2) == [.releaseMaildrop, .close])
    }

    @Test func pipelinedCommandsAreAnsweredInOrder() {
        var s = SessionDriver()
        s.expect("USER alice", "+OK send PASS\r\n")
        s.expect(
            "PASS secret", "",
            effects: [.authenticate(.password(user: "alice", password: "secret", authorizationIdentity: nil))])
        s.expect("STAT", "")
        s.expect("RETR 1", "")
        s.expect("NOOP", "")
        s.expect(.authSucceeded(user: "alice", saslFinal: nil), "", effects: [.acquireMaildrop(user: "alice")])
        s.expect(
            .maildropLoaded(SessionDriver.maildrop), Self.loaded + "+OK 2 320\r\n",
            effects: [.fetchMessage(uid: "uid-one", topLines: nil)])
        s.expect(.messageEnd, "+OK 120 octets\r\n.\r\n+OK\r\n")
    }

    @Test func pipelineLimitCloses() {
        var limits = POP3Limits()
        limits.pipelinedCommands = 2
        var s = SessionDriver.loggedIn(SessionDriver.configuration(limits: limits))
        _ = s.line("RETR 1")
        s.expect("NOOP", "")
        s.expect("NOOP", "")
        s.expect("NOOP", "", effects: [.releaseMaildrop, .close])
    }

    @Test func overlongLines() {
        var s = SessionDriver()
        s.expect(.lineTooLong, "-ERR line too long\r\n")
        s.expect("USER " + String(repeating: "a", count: 300), "-ERR line too long\r\n")
        s.expect("AUTH PLAIN", "+ \r\n")
        s.expect(.lineTooLong, "-ERR line too long\r\n")
        #expect(s.session.state == .authorization)
    }

    @Test func invalidCommandLimit() {
        var limits = POP3Limits()
        limits.invalidCommands = 3
        var s = SessionDriver(SessionDriver.configuration(limits: limits))
        s.expect("HELO", "-ERR unknown command\r\n")
        s.expect("RETR x", "-ERR RETR: invalid number\r\n")
        s.expect("XYZZY", "-ERR too many invalid commands\r\n", effects: [.close])
    }

    @Test func commandsBeforeAuthenticationLimit() {
        var limits = POP3Limits()
        limits.commandsBeforeAuthentication = 2
        var s = SessionDriver(SessionDriver.configuration(limits: limits))
        s.expect("CAPA", Self.capaAuthorization)
        s.expect("USER alice", "+OK send PASS\r\n")
        s.expect("CAPA", "-ERR too many commands before authentication\r\n", effects: [.close])
    }

    @Test func unexpectedEventEndsTheSessionWithATypedError() {
        var s = SessionDriver.loggedIn()
        let actions = s.event(.messageChunk(ByteBuffer(string: "stray")))
        #expect(wire(actions) == "-ERR [SYS/TEMP] internal server error\r\n")
        guard case .reportError(let error)? = effects(actions).first else {
            Issue.record("no error reported")
            return
        }
        #expect(error.code == .unexpectedEvent)
        #expect(effects(actions).suffix(2) == [.releaseMaildrop, .close])
        var fresh = POP3Session()
        #expect(effects(fresh.receive(.line(ByteBuffer(string: "CAPA")))).last == .close)
    }

    /// RFC 2449 §4 for commands, POP3Limits.saslLineLength for SASL responses: both at the limit.
    @Test func lineLimitsAtTheEdge() {
        var s = SessionDriver()
        s.expect("USER alice", "+OK send PASS\r\n")
        let password = String(repeating: "p", count: 248)
        s.expect(
            "PASS " + password, "",
            effects: [.authenticate(.password(user: "alice", password: password, authorizationIdentity: nil))])
        s.expect(.authFailed(.invalidCredentials), "-ERR [AUTH] authentication failed\r\n")
        s.expect("USER " + String(repeating: "a", count: 249), "-ERR line too long\r\n")

        s.expect("AUTH SCRAM-SHA-256", "+ \r\n")
        let large = String(repeating: "A", count: (POP3Limits.default.saslLineLength - 2) / 4 * 4)
        let actions = s.line(large)
        #expect(effects(actions).count == 1)
        s.expect(.authFailed(.invalidCredentials), "-ERR [AUTH] authentication failed\r\n")
        s.expect("AUTH SCRAM-SHA-256", "+ \r\n")
        s.expect(large + "AAAA", "-ERR line too long\r\n")
    }
}
