import MailCore
import NIOCore
import Testing

@testable import SMTPCodec

/// Whole conversations driven through `SMTPSession` against a simulated back-end (STYLE §13).
struct SMTPSessionTranscriptTests {
    /// The reply to the end of the data says what happened to the message: "delivered" when
    /// every recipient that did not fail has it in a mailbox, "queued" when any waits for the
    /// relay, and the (first) failure when every recipient failed.
    @Test(arguments: [
        (["bob": RecipientOutcome.delivered], "250 2.0.0 OK: delivered as Q1"),
        (["bob": .delivered, "carol": .delivered], "250 2.0.0 OK: delivered as Q1"),
        (["bob": .delivered, "carol": .queued], "250 2.0.0 OK: queued as Q1"),
        (["bob": .queued], "250 2.0.0 OK: queued as Q1"),
        (["bob": .failed(.unknownRecipient), "carol": .delivered], "250 2.0.0 OK: delivered as Q1"),
        (["bob": .failed(.unknownRecipient), "carol": .queued], "250 2.0.0 OK: queued as Q1"),
        (["bob": .failed(.unknownRecipient), "carol": .failed(.unknownRecipient)], "550 5.1.1 No such user"),
    ])
    func endOfDataSaysDeliveredOrQueued(outcomes: [String: RecipientOutcome], reply: String) {
        var t = Transcript(.mx)
        t.outcome = { recipient in
            guard case .mailbox(let mailbox) = recipient.forwardPath else { return .delivered }
            return outcomes[String(mailbox.description.prefix { $0 != "@" })] ?? .delivered
        }
        _ = t.send("EHLO client.example\r\n")
        #expect(t.command("MAIL FROM:<alice@example.net>") == [250])
        for name in outcomes.keys.sorted() { #expect(t.command("RCPT TO:<\(name)@example.org>") == [250]) }
        #expect(t.command("DATA") == [354])
        #expect(t.send("Subject: test\r\n\r\nbody\r\n.\r\n").map(\.description) == [reply + "\r\n"])
    }

    @Test func inboundMessageWithOneRejectedRecipient() throws {
        var t = Transcript(.mx)
        #expect(t.replies.map(\.description) == ["220 mx.example.org ESMTP Loft\r\n"])
        let ehlo = t.send("EHLO client.example\r\n")
        #expect(
            ehlo.first?.lines == [
                "mx.example.org", "SIZE 52428800", "8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES", "STARTTLS",
                "AUTH PLAIN LOGIN CRAM-MD5", "CHUNKING", "DSN", "SMTPUTF8",
            ])
        #expect(t.command("MAIL FROM:<alice@example.net> SIZE=120") == [250])
        // DSN is offered (RFC 3461): a malformed NOTIFY is refused, a good one kept.
        #expect(t.command("RCPT TO:<bob@example.org> NOTIFY=SOMETIMES") == [501])
        #expect(t.command("RCPT TO:<bob@example.org> NOTIFY=FAILURE ORCPT=rfc822;Bob@Example.org") == [250])
        let rejected = t.send("RCPT TO:<unknown@example.org>\r\n")
        #expect(rejected.map(\.description) == ["550 5.1.1 No such user\r\n"])
        #expect(t.command("DATA") == [354])
        #expect(t.send("Subject: test\r\n\r\n..dot\r\nbody\r\n").isEmpty)
        #expect(t.send(".\r\n").map(\.description) == ["250 2.0.0 OK: delivered as Q1\r\n"])
        let message = try #require(t.committed.first)
        #expect(message.message == "Subject: test\r\n\r\n.dot\r\nbody\r\n")
        #expect(message.size == message.message.utf8.count)
        #expect(message.envelope.recipients.map(\.forwardPath.description) == ["<bob@example.org>"])
        #expect(message.envelope.recipients.first?.parameters.notify == .on([.failure]))
        #expect(message.envelope.recipients.first?.parameters.originalRecipient?.address == "Bob@Example.org")
        #expect(message.envelope.reversePath.description == "<alice@example.net>")
        #expect(message.envelope.clientName == "client.example")
        #expect(t.session.phase == .identified)
        #expect(t.command("QUIT") == [221])
        #expect(t.closed == .quit)
        #expect(t.session.isClosed)
        #expect(t.send("NOOP\r\n").isEmpty)
    }

    /// RFC 6409 §6.1: with `verifiesSender` the session asks before accepting MAIL, and a
    /// refused sender leaves no transaction behind.
    @Test func senderVerificationWaitsAndRefuses() {
        var configuration = SMTPSessionConfiguration.mx
        configuration.verifiesSender = true
        var t = Transcript(configuration)
        t.command("EHLO client.example")
        let refused = t.send("MAIL FROM:<forged@example.org>\r\nRCPT TO:<bob@example.org>\r\n")
        #expect(refused.map(\.description) == ["553 5.7.1 Sender not owned\r\n", "503 5.5.1 Need MAIL command\r\n"])
        #expect(t.actions.contains { if case .checkSender = $0 { true } else { false } })
        #expect(t.command("MAIL FROM:<alice@example.org>") == [250])
        #expect(t.session.envelope.reversePath.description == "<alice@example.org>")
        #expect(t.command("RCPT TO:<bob@example.org>") == [250])
    }

    /// RFC 4954 §4 with a relayed mechanism: the server-final data goes out as a last 334, and
    /// 235 follows the client's empty response.
    @Test func scramIsRelayedStepByStep() {
        var configuration = SMTPSessionConfiguration.mx
        configuration.authMechanisms = [.scramSHA256]
        var t = Transcript(configuration)
        #expect(t.send("EHLO client.example\r\n").first?.lines.contains("AUTH SCRAM-SHA-256") == true)
        let first = Base64.encode(Array("n,,n=alice,r=abc".utf8))
        #expect(
            t.send("AUTH SCRAM-SHA-256 \(first)\r\n").map(\.description) == ["334 \(Base64.encode(Array("r=nonce,s=salt,i=16".utf8)))\r\n"])
        let final = Base64.encode(Array("c=biws,r=nonce,p=good".utf8))
        #expect(t.send("\(final)\r\n").map(\.description) == ["334 \(Base64.encode(Array("v=signature".utf8)))\r\n"])
        #expect(t.session.authenticatedIdentity == nil)
        #expect(t.command("") == [235])
        #expect(t.session.authenticatedIdentity == "alice")

        var u = Transcript(configuration)
        u.command("EHLO client.example")
        #expect(u.command("AUTH SCRAM-SHA-256") == [334])
        #expect(u.command(first) == [334])
        #expect(u.command(Base64.encode(Array("c=biws,r=nonce,p=bad".utf8))) == [535])
        #expect(u.command("AUTH SCRAM-SHA-256") == [334])
        #expect(u.command("*") == [501])
    }

    @Test func pipelinedCommandsAreAnsweredInOrder() {
        var t = Transcript(.mx)
        let replies = t.send(
            "EHLO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<unknown@example.org>\r\nRCPT TO:<b@example.org>\r\n"
                + "RCPT TO:<unknown@example.org>\r\nDATA\r\n")
        #expect(replies.map(\.code) == [250, 250, 550, 250, 550, 354])
        #expect(t.send("hi\r\n.\r\nQUIT\r\n").map(\.code) == [250, 221])
        #expect(t.committed.map(\.message) == ["hi\r\n"])
    }

    @Test func sessionWaitsForTheBackEndAndHoldsInput() {
        var session = SMTPSession()
        _ = session.receive(.opened(.mx))
        _ = session.receive(.received(buffer("EHLO c\r\nMAIL FROM:<>\r\n")))
        let actions = session.receive(.received(buffer("RCPT TO:<b@example.org>\r\nRSET\r\n")))
        guard case .checkRecipient(let recipient, let envelope) = actions.first else {
            Issue.record("expected a recipient check, got \(actions)")
            return
        }
        #expect(actions.count == 1)
        #expect(recipient.forwardPath == .mailbox(Mailbox(localPart: "b", domain: "example.org")))
        #expect(envelope.reversePath == .null)
        #expect(session.isWaiting)
        #expect(session.bufferedByteCount == 6)
        #expect(session.receive(.received(buffer("NOOP\r\n"))).isEmpty)
        let after = session.receive(.recipientChecked(.accepted))
        #expect(after == [.send(.recipientOK), .send(.ok), .send(.ok)])
        // An answer nobody asked for ends the connection instead of crashing.
        let stray = session.receive(.recipientChecked(.accepted))
        #expect(stray.first == .send(.serviceUnavailable("mx.example.org")))
        #expect(session.isClosed)
    }

    @Test func startTLSDiscardsPipelinedPlaintext() {
        var t = Transcript(.mx)
        #expect(t.command("EHLO c") == [250])
        // CVE-2011-0411: commands injected after STARTTLS in the same packet must not run.
        let replies = t.send("STARTTLS\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<x@example.org>\r\n")
        #expect(replies.map(\.description) == ["220 2.0.0 Ready to start TLS\r\n"])
        #expect(t.tlsRequested)
        #expect(t.actions.last == .startTLS)
        #expect(t.send("RSET\r\n").isEmpty)
        #expect(t.event(.tlsEstablished).isEmpty)
        #expect(t.session.tlsActive)
        // RFC 3207 §4.2: the client starts over with EHLO; STARTTLS is no longer offered.
        #expect(t.command("MAIL FROM:<a@example.net>") == [503])
        let ehlo = t.send("EHLO c\r\n")
        #expect(ehlo.first?.lines.contains("STARTTLS") == false)
        #expect(t.command("STARTTLS") == [503])
        #expect(t.command("MAIL FROM:<a@example.net>") == [250])
    }

    @Test func tlsFailureCloses() {
        var t = Transcript(.mx)
        t.command("EHLO c")
        t.command("STARTTLS")
        #expect(t.event(.tlsFailed).isEmpty)
        #expect(t.closed == .tlsFailed)
    }

    @Test func submissionWithAuthPlain() {
        let configuration = SMTPSessionConfiguration(
            hostname: "mx.example.org", portKind: .submission, tlsAvailable: true, authMechanisms: [.plain, .login, .cramMD5])
        var t = Transcript(configuration)
        let ehlo = t.send("EHLO c\r\n")
        // Plaintext mechanisms are hidden until TLS is up.
        #expect(ehlo.first?.lines.contains("AUTH CRAM-MD5") == true)
        #expect(t.command("MAIL FROM:<alice@example.org>") == [530])
        #expect(t.command("AUTH PLAIN \(alicePlain)") == [538])
        t.command("STARTTLS")
        _ = t.event(.tlsEstablished)
        #expect(t.send("EHLO c\r\n").first?.lines.contains("AUTH PLAIN LOGIN CRAM-MD5") == true)
        let challenge = t.send("AUTH PLAIN\r\n")
        #expect(challenge.map(\.description) == ["334 \r\n"])
        #expect(t.send(alicePlain + "\r\n").map(\.description) == ["235 2.7.0 Authentication successful\r\n"])
        #expect(t.actions.contains(.authenticate(.plain(authorizationID: "", authenticationID: "alice", password: "secret"))))
        #expect(t.session.authenticatedIdentity == "alice")
        #expect(t.command("AUTH PLAIN \(alicePlain)") == [503])
        #expect(t.command("MAIL FROM:<alice@example.org>") == [250])
        #expect(t.command("RCPT TO:<bob@example.net>") == [250])
        #expect(t.command("DATA") == [354])
        #expect(t.send("hello\r\n.\r\n").map(\.code) == [250])
        #expect(t.committed.first?.envelope.authenticatedIdentity == "alice")
        #expect(t.committed.first?.envelope.tlsActive == true)
    }

    @Test func authLoginFlows() {
        var t = Transcript(.mx)
        t.command("EHLO c")
        #expect(t.send("AUTH LOGIN\r\n").map(\.description) == ["334 VXNlcm5hbWU6\r\n"])
        #expect(t.send("YWxpY2U=\r\n").map(\.description) == ["334 UGFzc3dvcmQ6\r\n"])
        #expect(t.send("d3Jvbmc=\r\n").map(\.description) == ["535 5.7.8 Authentication credentials invalid\r\n"])
        // "*" cancels (RFC 4954 §4).
        #expect(t.command("AUTH LOGIN") == [334])
        #expect(t.send("*\r\n").map(\.description) == ["501 5.7.0 Authentication aborted\r\n"])
        // Malformed base64 in a continuation.
        #expect(t.command("AUTH LOGIN") == [334])
        #expect(t.command("not base64!") == [501])
        // Initial response carries the user name; pipelined password line.
        #expect(t.send("AUTH LOGIN YWxpY2U=\r\nc2VjcmV0\r\n").map(\.code) == [334, 235])
        #expect(t.session.authenticatedIdentity == "alice")
    }

    @Test func authPlainEdgeCases() {
        var t = Transcript(.mx)
        t.command("EHLO c")
        // "=" is an empty initial response, which PLAIN cannot use.
        #expect(t.command("AUTH PLAIN =") == [501])
        // authzid NUL authcid NUL passwd with an empty password.
        #expect(t.command("AUTH PLAIN \(Base64.encode(Array("\0alice\0".utf8)))") == [501])
        #expect(t.command("AUTH PLAIN \(Base64.encode(Array("\0alice\0nope".utf8)))") == [535])
        // A continuation line over 12288 octets.
        #expect(t.command("AUTH PLAIN") == [334])
        #expect(
            t.send(String(repeating: "A", count: 13000) + "\r\n").map(\.description) == [
                "500 5.5.6 Authentication exchange line is too long\r\n"
            ])
        #expect(t.command("NOOP") == [250])
    }

    @Test func cramMD5UsesTheGatewayChallenge() {
        var t = Transcript(.mx)
        t.command("EHLO c")
        let challenge = t.send("AUTH CRAM-MD5\r\n")
        #expect(t.actions.contains(.issueChallenge(.cramMD5)))
        #expect(challenge.map(\.description) == ["334 PDE4OTYuNjk3MTcwOTUyQG14LmV4YW1wbGUub3JnPg==\r\n"])
        let response = Base64.encode(Array("alice b913a602c7eda7a495b4e6e7334d3890".utf8))
        #expect(t.command(response) == [235])
        #expect(
            t.actions.contains(
                .authenticate(
                    .cramMD5(
                        username: "alice", digest: "b913a602c7eda7a495b4e6e7334d3890",
                        challenge: "<1896.697170952@mx.example.org>"))))
    }

    @Test func chunkedMessage() throws {
        var t = Transcript(.mx)
        t.command("EHLO c")
        let replies = t.send(
            "MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nBDAT 7\r\nhi\r\n.\r\nBDAT 4\r\n\n\0\r\rBDAT 0 LAST\r\n"
        )
        #expect(
            replies.map(\.description) == [
                "250 2.1.0 Sender OK\r\n", "250 2.1.5 Recipient OK\r\n", "250 2.0.0 7 octets received\r\n",
                "250 2.0.0 4 octets received\r\n", "250 2.0.0 OK: delivered as Q1\r\n",
            ])
        let message = try #require(t.committed.first)
        #expect(message.message == "hi\r\n.\r\n\n\0\r\r")
        #expect(message.size == 11)
        #expect(t.command("DATA") == [503])
    }

    @Test func binaryMIMEOverDataIsRefused() {
        var configuration = SMTPSessionConfiguration.mx
        configuration.extensions.insert(.binaryMIME)
        var t = Transcript(configuration)
        t.command("EHLO c")
        #expect(t.send("EHLO c\r\n").first?.lines.contains("BINARYMIME") == true)
        #expect(t.send("MAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<b@example.org>\r\nDATA\r\n").map(\.code) == [250, 250, 503])
    }

    @Test func refusedBDATIsDiscarded() {
        var t = Transcript(.mx)
        t.command("EHLO c")
        // RFC 3030 §2: the chunk's octets are consumed before the error reply.
        #expect(t.send("BDAT 12\r\nRSET\r\nQUIT\r\nNOOP\r\n").map(\.code) == [503, 250])
        #expect(t.send("MAIL FROM:<a@b.example>\r\nBDAT 6\r\nQUIT\r\n").map(\.code) == [250, 554])
        #expect(!t.session.isClosed)
    }

    @Test func oversizedChunkedMessage() {
        var configuration = SMTPSessionConfiguration.mx
        configuration.maximumMessageSize = 10
        var t = Transcript(configuration)
        t.command("EHLO c")
        let replies = t.send(
            "MAIL FROM:<a@b.example>\r\nRCPT TO:<b@example.org>\r\nBDAT 6\r\n123456BDAT 5\r\n12345BDAT 0 LAST\r\nNOOP\r\n")
        #expect(replies.map(\.code) == [250, 250, 250, 552, 503, 250])
        #expect(t.aborted == 1 && t.refused == [552], "refused, and said so for the log")
        #expect(t.committed.isEmpty)
    }

    @Test func oversizedDataMessage() {
        var configuration = SMTPSessionConfiguration.mx
        configuration.maximumMessageSize = 10
        var t = Transcript(configuration)
        t.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
        #expect(
            t.send("0123456789\r\n.\r\nNOOP\r\n").map(\.description) == [
                "552 5.3.4 Message size exceeds fixed limit\r\n", "250 2.0.0 OK\r\n",
            ])
        #expect(t.aborted == 1 && t.refused == [552])
        #expect(t.committed.isEmpty)
        #expect(t.session.phase == .identified)
    }

    @Test func smuggledCommandsInsideDataAreNotExecuted() {
        var t = Transcript(.mx)
        t.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
        let replies = t.send("Subject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@b.example>\nRCPT TO:<c@example.org>\nDATA\nevil\n.\n\r\n.\r\n")
        #expect(replies.map(\.description) == ["550 5.6.0 Bare LF/CR not allowed\r\n"])
        #expect(t.committed.isEmpty)
        #expect(t.aborted == 1 && t.refused == [550])
    }

    @Test func dataInOneByteStepsMatchesWhole() {
        let body = "Subject: x\r\n\r\n..one\r\ntwo\r\n.\r\nQUIT\r\n"
        var whole = Transcript(.mx)
        whole.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n" + body)
        var bytewise = Transcript(.mx)
        for byte in ("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n" + body).utf8 {
            bytewise.send(String(decoding: [byte], as: UTF8.self))
        }
        #expect(whole.replies == bytewise.replies)
        #expect(whole.committed.map(\.message) == bytewise.committed.map(\.message))
        #expect(whole.committed.map(\.message) == ["Subject: x\r\n\r\n.one\r\ntwo\r\n"])
    }

    @Test func tooManyErrorsCloses() {
        var configuration = SMTPSessionConfiguration.mx
        configuration.maximumErrors = 3
        var t = Transcript(configuration)
        #expect(t.command("FOO") == [500])
        #expect(t.command("MAIL FROM:<a@b.example>") == [503])
        let last = t.send("BAR\r\nNOOP\r\n")
        #expect(last.map(\.description) == ["500 5.5.2 Command unrecognized\r\n", "421 4.7.0 mx.example.org Error: too many errors\r\n"])
        #expect(t.closed == .tooManyErrors)
    }

    @Test func tooManyRecipients() {
        var configuration = SMTPSessionConfiguration.mx
        configuration.maximumRecipients = 2
        var t = Transcript(configuration)
        let replies = t.send(
            "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<b@example.org>\r\nRCPT TO:<c@example.org>\r\nRCPT TO:<d@example.org>\r\n")
        #expect(replies.map(\.code) == [250, 250, 250, 250, 452])
        #expect(replies.last?.enhancedCode?.description == "4.5.3")
    }

    @Test func commandLineLimit() {
        var t = Transcript(.mx)
        let ok = "NOOP " + String(repeating: "x", count: 505)
        #expect(ok.utf8.count + 2 == 512)
        #expect(t.command(ok) == [250])
        let replies = t.send(ok + "x\r\nNOOP\r\n")
        #expect(replies.map(\.description) == ["500 5.5.6 Line too long\r\n", "250 2.0.0 OK\r\n"])
    }

    @Test func nonASCIIRecipientNeedsSMTPUTF8() {
        var t = Transcript(.mx)
        let replies = t.send(
            "EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<jürgen@example.org>\r\nRSET\r\n"
                + "MAIL FROM:<a@b.example> SMTPUTF8\r\nRCPT TO:<jürgen@example.org>\r\n")
        #expect(replies.map(\.code) == [250, 250, 553, 250, 250, 250])
    }

    @Test func timeoutDuringDataAbortsTheUpload() {
        var t = Transcript(.mx)
        t.send("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<b@example.org>\r\nDATA\r\npartial")
        #expect(t.event(.timeout).map(\.description) == ["421 4.4.2 mx.example.org Error: timeout exceeded\r\n"])
        #expect(t.aborted == 1)
        #expect(t.closed == .timeout)
    }

    @Test func commitFailuresReachTheClient() {
        var session = SMTPSession()
        _ = session.receive(.opened(.mx))
        _ = session.receive(.received(buffer("EHLO c\r\nMAIL FROM:<a@b.example>\r\n")))
        _ = session.receive(.received(buffer("RCPT TO:<b@example.org>\r\n")))
        _ = session.receive(.recipientChecked(.accepted))
        let actions = session.receive(.received(buffer("DATA\r\nx\r\n.\r\n")))
        #expect(actions.contains(.commitMessage(session.envelope, size: 3)))
        #expect(session.receive(.messageCommitted(.failed(.localError))) == [.send(.localError)])
        #expect(session.envelope.recipients.isEmpty)
    }

    @Test func heloGivesNoExtensions() {
        var t = Transcript(.mx)
        #expect(t.send("HELO c\r\n").map(\.description) == ["250 mx.example.org\r\n"])
    }
}
