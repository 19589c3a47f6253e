import IMAPCodec
import NIOCore
import Testing

/// Transcripts of the session alone (STYLE §13): greeting, login rules, SASL, APPEND's
/// continuation, limits on failures.
@Suite struct IMAPSessionTests {
    @Test func greetingCarriesCapabilities() {
        var session = IMAPSession()
        var configuration = IMAPSessionConfiguration()
        configuration.startTLSAvailable = true
        let text = IMAPSessionHarness.text(session.receive(.opened(configuration)))
        #expect(text.hasPrefix("* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED "))
        // RFC 3501 §6.2.3: no plaintext mechanism before TLS.
        #expect(!text.contains("AUTH=PLAIN"))
        #expect(text.contains("AUTH=SCRAM-SHA-256"))
    }

    /// RFC 4978 §3: OK then compression, once; BAD for another mechanism or a second time.
    @Test func compressOnceAfterLogin() {
        var harness = IMAPSessionHarness()
        #expect(IMAPSessionHarness.text(harness.send("c0 COMPRESS DEFLATE")).hasPrefix("c0 BAD"), "not before login")
        _ = harness.send("a LOGIN alice secret")
        _ = harness.session.receive(.authSucceeded(user: "alice", saslFinal: nil))
        #expect(
            IMAPSessionHarness.text(harness.send("c1 COMPRESS LZ4")) == "c1 BAD unknown compression mechanism; DEFLATE is supported\r\n")
        let actions = harness.send("c2 compress deflate")
        #expect(IMAPSessionHarness.text(actions) == "c2 OK DEFLATE active\r\n")
        #expect(actions.last == .startCompression)
        #expect(IMAPSessionHarness.text(harness.send("c3 COMPRESS DEFLATE")) == "c3 BAD [COMPRESSIONACTIVE] DEFLATE is already active\r\n")
    }

    /// Every tagged result the session sends is handed over once by `takeCompletions` (what
    /// the gateway counts as `loft_commands_total`): the session's own and the runner's.
    @Test func completionsAreHandedOverOnce() {
        var harness = IMAPSessionHarness()
        _ = harness.send("c1 CAPABILITY")
        _ = harness.send("c2 NOOP")
        _ = harness.send("c3 BOGUS")
        #expect(harness.session.takeCompletions() == [.ok, .ok, .bad])
        #expect(harness.session.takeCompletions() == [])
        _ = harness.send("a LOGIN alice secret")
        _ = harness.session.receive(.authFailed(.invalidCredentials))
        #expect(harness.session.takeCompletions() == [.no])
    }

    @Test func loginRefusedBeforeTLSUnlessAllowed() {
        var harness = IMAPSessionHarness(startTLS: true, plaintext: false)
        let text = IMAPSessionHarness.text(harness.send("a1 LOGIN alice secret"))
        #expect(text == "a1 NO [PRIVACYREQUIRED] LOGIN is disabled before STARTTLS\r\n")
        let plain = IMAPSessionHarness.text(harness.send("a2 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA=="))
        #expect(plain.hasPrefix("a2 NO [PRIVACYREQUIRED]"))
    }

    @Test func loginSucceedsWithCapabilities() {
        var harness = IMAPSessionHarness()
        let actions = harness.send("a1 LOGIN alice \"se cret\"")
        #expect(actions == [.authenticate(.password(user: "alice", password: "se cret", authorizationIdentity: nil))])
        #expect(harness.session.isWaiting)
        let ok = IMAPSessionHarness.text(harness.session.receive(.authSucceeded(user: "alice", saslFinal: nil)))
        #expect(ok.hasPrefix("a1 OK [CAPABILITY IMAP4rev1"))
        #expect(harness.session.state == .authenticated)
    }

    @Test func threeFailuresClose() {
        var harness = IMAPSessionHarness()
        for n in 1...3 {
            _ = harness.send("a\(n) LOGIN alice wrong")
            let actions = harness.session.receive(.authFailed(.invalidCredentials))
            let text = IMAPSessionHarness.text(actions)
            #expect(text.hasPrefix("a\(n) NO [AUTHENTICATIONFAILED]"))
            #expect(actions.contains(.close) == (n == 3))
        }
    }

    @Test func authenticatePlainWithContinuation() {
        var harness = IMAPSessionHarness()
        let first = IMAPSessionHarness.text(harness.send("a1 AUTHENTICATE PLAIN"))
        #expect(first == "+ \r\n")
        let actions = harness.send("AGFsaWNlAHNlY3JldA==")
        #expect(actions == [.authenticate(.password(user: "alice", password: "secret", authorizationIdentity: nil))])
    }

    @Test func authenticateCancelledIsBad() {
        var harness = IMAPSessionHarness()
        _ = harness.send("a1 AUTHENTICATE LOGIN")
        let text = IMAPSessionHarness.text(harness.send("*"))
        #expect(text == "a1 BAD authentication cancelled\r\n")
        #expect(harness.session.state == .notAuthenticated)
    }

    @Test func logoutSaysByeThenOK() {
        var harness = IMAPSessionHarness()
        let actions = harness.send("a1 LOGOUT")
        #expect(IMAPSessionHarness.text(actions) == "* BYE logging out\r\na1 OK LOGOUT completed\r\n")
        #expect(actions.last == .close)
    }

    @Test func commandsWaitWhileOneRuns() {
        var harness = IMAPSessionHarness()
        _ = harness.send("a LOGIN alice secret")
        _ = harness.session.receive(.authSucceeded(user: "alice", saslFinal: nil))
        // Pipelined: the second waits for the first (the framer reads no further meanwhile).
        harness.inbound.writeString("b1 LIST \"\" *\r\nb2 NOOP\r\n")
        let first = harness.drain()
        guard case .execute(let command)? = first.first else {
            Issue.record("expected execute, got \(first)")
            return
        }
        #expect(command.tag == "b1")
        #expect(harness.drain().isEmpty)
        let done = harness.session.receive(.executed("b1", IMAPCompletion(.ok, "LIST completed")))
        #expect(IMAPSessionHarness.text(done) == "b1 OK LIST completed\r\n")
        guard case .execute(let next)? = harness.drain().first else {
            Issue.record("expected the second command")
            return
        }
        #expect(next.tag == "b2")
    }

    @Test func appendWaitsForTheCheckBeforeContinuation() {
        var harness = IMAPSessionHarness()
        _ = harness.send("a LOGIN alice secret")
        _ = harness.session.receive(.authSucceeded(user: "alice", saslFinal: nil))
        let begin = harness.send("b APPEND INBOX (\\Seen) {5}")
        #expect(begin == [.appendBegin(tag: "b", mailbox: IMAPMailbox("INBOX"), flags: ["\\Seen"], date: nil, size: 5)])
        let accepted = harness.session.receive(.appendAccepted)
        #expect(IMAPSessionHarness.text(accepted).hasPrefix("+ "))
        harness.inbound.writeString("hello\r\n")
        let rest = harness.drain()
        var data = ""
        for action in rest {
            if case .appendData(let bytes) = action { data += String(buffer: bytes) }
        }
        #expect(data == "hello")
        #expect(rest.last == .appendEnd(tag: "b"))
        #expect(harness.session.isWaiting)
        let done = harness.session.receive(.executed("b", IMAPCompletion(.ok, code: "APPENDUID 1 1", "APPEND completed")))
        #expect(IMAPSessionHarness.text(done) == "b OK [APPENDUID 1 1] APPEND completed\r\n")
        #expect(!harness.session.isWaiting)
    }

    @Test func appendRefusedSendsNoContinuation() {
        var harness = IMAPSessionHarness()
        _ = harness.send("a LOGIN alice secret")
        _ = harness.session.receive(.authSucceeded(user: "alice", saslFinal: nil))
        _ = harness.send("b APPEND INBOX {50000000}")
        let refused = harness.session.receive(.appendRefused(IMAPCompletion(.no, code: "TOOBIG", "too big")))
        #expect(IMAPSessionHarness.text(refused) == "b NO [TOOBIG] too big\r\n")
        // The client did not send the literal: the next line is a command.
        #expect(IMAPSessionHarness.text(harness.send("c CAPABILITY")).contains("c OK"))
    }

    @Test func startTLSDiscardsPipelinedInput() {
        var harness = IMAPSessionHarness(startTLS: true, plaintext: false)
        harness.inbound.writeString("a STARTTLS\r\nb LOGIN alice secret\r\n")
        let actions = harness.drain()
        #expect(actions.last == .startTLS)
        harness.session.discardBufferedInput()
        harness.inbound.clear()
        _ = harness.session.receive(.tlsEstablished)
        // After TLS, LOGIN is allowed and STARTTLS no longer advertised.
        #expect(!harness.session.capabilities.contains("STARTTLS"))
        #expect(!harness.session.capabilities.contains("LOGINDISABLED"))
    }

    /// A back-end's error text with a line break must not end the tagged line early (a second
    /// "response" smuggled in after it).
    @Test func completionTextStaysOneLine() {
        var harness = IMAPSessionHarness()
        _ = harness.send("a LOGIN alice secret")
        _ = harness.session.receive(.authSucceeded(user: "alice", saslFinal: nil))
        _ = harness.send("b LIST \"\" *")
        let done = harness.session.receive(.executed("b", IMAPCompletion(.no, code: "LIMIT", "bad\r\n* OK fake")))
        #expect(IMAPSessionHarness.text(done) == "b NO [LIMIT] bad  * OK fake\r\n")
    }

    @Test func tooManyBadCommandsClose() {
        var harness = IMAPSessionHarness()
        var closed = false
        for n in 0..<20 {
            let actions = harness.send("x\(n) FROB")
            closed = actions.contains(.close)
        }
        #expect(closed)
    }

    /// RFC 7888 §4 with LITERAL-: a literal over 4096 octets is BAD [TOOBIG] and read past; the
    /// client meant no harm, so it does not count toward the invalid-command limit. One too
    /// large to read past ends the connection with a BYE that says why.
    @Test func literalMinusRefusalsAreNotInvalidCommands() {
        var configuration = IMAPSessionConfiguration()
        configuration.limits.nonSynchronizingLiteralSize = 4096
        configuration.limits.literalSize = 10_000
        configuration.maximumInvalidCommands = 2
        var session = IMAPSession()
        _ = session.receive(.opened(configuration))
        var inbound = ByteBuffer()
        func send(_ bytes: String) -> String {
            inbound.writeString(bytes)
            var actions: [IMAPAction] = []
            while !session.isWaiting, let event = session.nextEvent(from: &inbound) { actions += session.receive(event) }
            return IMAPSessionHarness.text(actions)
        }
        for tag in ["a", "b", "c"] {
            let answer = send("\(tag) LOGIN {5000+}\r\n" + String(repeating: "x", count: 5000) + " y\r\n")
            #expect(answer.hasPrefix("\(tag) BAD [TOOBIG]"), "\(answer)")
            #expect(!answer.contains("BYE"))
        }
        let fatal = send("d LOGIN {20000+}\r\n")
        #expect(fatal.contains("* BYE [TOOBIG]"), "\(fatal)")
    }
}
