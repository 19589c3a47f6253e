import NIOCore
import Testing

@testable import SMTPCodec

/// Drives an `SMTPClientSession` like the relay's connection does, with a body to send, and
/// records what the server would receive (STYLE §13).
struct ClientTranscript {
    var session: SMTPClientSession
    var body: [UInt8]
    /// BDAT chunk size for `.sendBody(.bdat)`.
    var chunkSize: Int
    /// Everything the client wrote since the last `take()`.
    var wire = ""
    var actions: [SMTPClientAction] = []
    var outcomes: [SMTPRecipientOutcome]?
    var readyCount = 0
    var closed = false
    var tlsRequested = false
    var reconnectRequested = false
    var failures: [SMTPClientFailure] = []
    private var chunkOffset: Int?

    init(
        tls: SMTPClientTLSPolicy = .none, body: String = "Hello\r\n", chunkSize: Int = 1 << 20,
        timeouts: SMTPClientTimeouts = SMTPClientTimeouts(), limits: SMTPReplyLimits = SMTPReplyLimits(),
        credentials: SMTPClientCredentials? = nil
    ) {
        session = SMTPClientSession(
            configuration: SMTPClientSessionConfiguration(
                heloName: "relay.example.org", tls: tls, timeouts: timeouts, replyLimits: limits, credentials: credentials))
        self.body = Array(body.utf8)
        self.chunkSize = chunkSize
        run(session.receive(.connected))
    }

    /// The server says `text`; returns what the client wrote in answer.
    @discardableResult
    mutating func server(_ text: String) -> String {
        run(session.receive(.received(buffer(text))))
        return take()
    }

    @discardableResult
    mutating func event(_ event: SMTPClientEvent) -> String {
        run(session.receive(event))
        return take()
    }

    @discardableResult
    mutating func deliver(_ envelope: OutboundEnvelope) -> String {
        outcomes = nil
        run(session.deliver(envelope))
        return take()
    }

    @discardableResult
    mutating func quit() -> String {
        run(session.quit())
        return take()
    }

    mutating func take() -> String {
        defer { wire = "" }
        return wire
    }

    mutating func run(_ list: [SMTPClientAction]) {
        for action in list {
            actions.append(action)
            switch action {
            case .send(let bytes): wire += bytes.text
            case .startTLS: tlsRequested = true
            case .sendBody(.data):
                wire += SMTPClientDotStuffer.encode(body).text
                run(session.receive(.bodySent))
            case .sendBody(.bdat): chunkOffset = 0
            case .recipientOutcomes(let list):
                #expect(outcomes == nil, "one set of outcomes per envelope")
                outcomes = list
            case .ready: readyCount += 1
            case .reconnectWithoutTLS: reconnectRequested = true
            case .failed(let failure): failures.append(failure)
            case .close: closed = true
            }
        }
        sendChunks()
    }

    /// Writes BDAT chunks while the session lets it, as the driver does.
    private mutating func sendChunks() {
        while var offset = chunkOffset, session.mayWriteChunk {
            let end = min(offset + chunkSize, body.count)
            let last = end == body.count
            for action in session.sendChunk(size: end - offset, last: last) {
                if case .send(let header) = action { wire += header.text }
            }
            wire += String(decoding: body[offset..<end], as: UTF8.self)
            offset = end
            chunkOffset = last ? nil : offset
        }
        if !session.wantsChunks { chunkOffset = nil }
    }

    var statuses: [DeliveryStatus]? { outcomes?.map(\.status) }
    var codes: [Int]? { outcomes?.map(\.reply.code) }
    var enhancedCodes: [String]? { outcomes?.map { $0.reply.enhancedCode?.description ?? "" } }
}

func envelope(
    from sender: String? = "alice@example.org", to recipients: [String] = ["bob@example.net"], size: Int = 7,
    body: BodyType = .sevenBit, smtpUTF8: Bool = false, ret: DSNReturn? = nil, envelopeID: String? = nil,
    notify: DSNNotify? = nil, originalRecipient: OriginalRecipient? = nil
) -> OutboundEnvelope {
    func mailbox(_ text: String) -> Mailbox {
        let at = text.lastIndex(of: "@")!
        return Mailbox(localPart: String(text[..<at]), domain: String(text[text.index(after: at)...]))
    }
    return OutboundEnvelope(
        sender: sender.map { .mailbox(mailbox($0)) } ?? .null,
        recipients: recipients.map { OutboundRecipient(mailbox($0), notify: notify, originalRecipient: originalRecipient) },
        size: size, body: body, requiresSMTPUTF8: smtpUTF8, ret: ret, envelopeID: envelopeID)
}

/// A positive EHLO reply with these keyword lines.
func ehlo(_ keywords: [String]) -> String {
    let lines = ["mx.example.net"] + keywords
    return lines.enumerated().map { index, line in "250\(index == lines.count - 1 ? " " : "-")\(line)\r\n" }.joined()
}

func ehlo(_ keywords: String...) -> String { ehlo(keywords) }

extension ClientTranscript {
    /// Connected and past EHLO with `keywords`, ready for an envelope.
    static func ready(_ keywords: String..., body: String = "Hello\r\n", chunkSize: Int = 1 << 20) -> ClientTranscript {
        var t = ClientTranscript(body: body, chunkSize: chunkSize)
        #expect(t.server("220 mx.example.net ESMTP\r\n") == "EHLO relay.example.org\r\n")
        #expect(t.server(ehlo(keywords)) == "")
        #expect(t.session.isReady)
        return t
    }
}

/// One transcript: the envelope, then pairs of server text and the exact client bytes that
/// answer it, then the outcomes.
struct TranscriptCase: Sendable, CustomTestStringConvertible {
    var name: String
    var keywords: [String]
    var envelope: OutboundEnvelope
    var body = "Hello\r\n"
    var first: String
    var steps: [(server: String, client: String)]
    var statuses: [DeliveryStatus]
    var codes: [Int]
    var endsReady = true

    var testDescription: String { name }
}

struct SMTPClientSessionTests {
    static let cases: [TranscriptCase] = [
        TranscriptCase(
            name: "happy path, one command at a time", keywords: ["SIZE 1000", "8BITMIME"], envelope: envelope(),
            first: "MAIL FROM:<alice@example.org> SIZE=7\r\n",
            steps: [
                ("250 2.1.0 OK\r\n", "RCPT TO:<bob@example.net>\r\n"),
                ("250 2.1.5 OK\r\n", "DATA\r\n"),
                ("354 Go ahead\r\n", "Hello\r\n.\r\n"),
                ("250 2.0.0 Queued as 1\r\n", ""),
            ], statuses: [.delivered], codes: [250]),
        TranscriptCase(
            name: "happy path, pipelined", keywords: ["PIPELINING", "SIZE"],
            envelope: envelope(to: ["bob@example.net", "carol@example.net"]),
            first: "MAIL FROM:<alice@example.org> SIZE=7\r\nRCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\nDATA\r\n",
            steps: [
                ("250 OK\r\n250 OK\r\n", ""),
                ("250 OK\r\n354 Go ahead\r\n", "Hello\r\n.\r\n"),
                ("250 Queued\r\n", ""),
            ], statuses: [.delivered, .delivered], codes: [250, 250]),
        TranscriptCase(
            name: "the null sender", keywords: [], envelope: envelope(from: nil), first: "MAIL FROM:<>\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<bob@example.net>\r\n"), ("250 OK\r\n", "DATA\r\n"), ("354 Go\r\n", "Hello\r\n.\r\n"),
                ("250 OK\r\n", ""),
            ],
            statuses: [.delivered], codes: [250]),
        TranscriptCase(
            name: "one refused 550, one 451, one accepted (pipelined)", keywords: ["PIPELINING"],
            envelope: envelope(to: ["a@example.net", "b@example.net", "c@example.net"]),
            first:
                "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n",
            steps: [
                ("250 OK\r\n550 5.1.1 No such user\r\n451 4.3.0 Try later\r\n250 OK\r\n354 Go\r\n", "Hello\r\n.\r\n"),
                ("250 OK\r\n", ""),
            ], statuses: [.failed, .deferred, .delivered], codes: [550, 451, 250]),
        TranscriptCase(
            name: "one refused, one at a time", keywords: [], envelope: envelope(to: ["a@example.net", "b@example.net"]),
            first: "MAIL FROM:<alice@example.org>\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<a@example.net>\r\n"),
                ("550 5.1.1 No such user\r\n", "RCPT TO:<b@example.net>\r\n"),
                ("250 OK\r\n", "DATA\r\n"),
                ("354 Go\r\n", "Hello\r\n.\r\n"),
                ("250 OK\r\n", ""),
            ], statuses: [.failed, .delivered], codes: [550, 250]),
        TranscriptCase(
            name: "all refused, one at a time: RSET, no DATA", keywords: [], envelope: envelope(to: ["a@example.net", "b@example.net"]),
            first: "MAIL FROM:<alice@example.org>\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<a@example.net>\r\n"),
                ("550 5.1.1 No such user\r\n", "RCPT TO:<b@example.net>\r\n"),
                ("452 4.2.2 Over quota\r\n", "RSET\r\n"),
                ("250 OK\r\n", ""),
            ], statuses: [.failed, .deferred], codes: [550, 452]),
        TranscriptCase(
            name: "all refused, pipelined: DATA refused too, then RSET", keywords: ["PIPELINING"],
            envelope: envelope(to: ["a@example.net"]),
            first: "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\n",
            steps: [("250 OK\r\n550 No\r\n554 5.5.1 No valid recipients\r\n", "RSET\r\n"), ("250 OK\r\n", "")],
            statuses: [.failed], codes: [550]),
        TranscriptCase(
            name: "all refused, pipelined, but DATA accepted: a single dot (RFC 2920 §3.1)", keywords: ["PIPELINING"],
            envelope: envelope(to: ["a@example.net"]),
            first: "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\n",
            steps: [("250 OK\r\n550 No\r\n354 Go\r\n", ".\r\n"), ("554 No recipients\r\n", "RSET\r\n"), ("250 OK\r\n", "")],
            statuses: [.failed], codes: [550]),
        TranscriptCase(
            name: "MAIL refused: every recipient takes its reply", keywords: [],
            envelope: envelope(to: ["a@example.net", "b@example.net"]),
            first: "MAIL FROM:<alice@example.org>\r\n", steps: [("553 5.7.1 Sender refused\r\n", "")],
            statuses: [.failed, .failed], codes: [553, 553]),
        TranscriptCase(
            name: "MAIL refused, pipelined", keywords: ["PIPELINING"], envelope: envelope(to: ["a@example.net"]),
            first: "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\n",
            steps: [("451 4.3.0 Later\r\n503 5.5.1 MAIL first\r\n503 5.5.1 MAIL first\r\n", "RSET\r\n"), ("250 OK\r\n", "")],
            statuses: [.deferred], codes: [451]),
        TranscriptCase(
            name: "DATA refused with 554 after the dot", keywords: [], envelope: envelope(), first: "MAIL FROM:<alice@example.org>\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<bob@example.net>\r\n"), ("250 OK\r\n", "DATA\r\n"), ("354 Go\r\n", "Hello\r\n.\r\n"),
                ("554 5.7.1 Spam\r\n", ""),
            ], statuses: [.failed], codes: [554]),
        TranscriptCase(
            name: "451 after the dot", keywords: ["PIPELINING"], envelope: envelope(),
            first: "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n",
            steps: [("250 OK\r\n250 OK\r\n354 Go\r\n", "Hello\r\n.\r\n"), ("451 4.3.0 Disk full\r\n", "")],
            statuses: [.deferred], codes: [451]),
        TranscriptCase(
            name: "DATA itself refused with 451", keywords: [], envelope: envelope(), first: "MAIL FROM:<alice@example.org>\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<bob@example.net>\r\n"), ("250 OK\r\n", "DATA\r\n"), ("451 Later\r\n", "RSET\r\n"),
                ("250 OK\r\n", ""),
            ],
            statuses: [.deferred], codes: [451]),
        TranscriptCase(
            name: "the body is dot-stuffed and its bare line ends become CRLF", keywords: ["PIPELINING"], envelope: envelope(),
            body: ".top\nmiddle\r\n.\r\nend",
            first: "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n",
            steps: [("250 OK\r\n250 OK\r\n354 Go\r\n", "..top\r\nmiddle\r\n..\r\nend\r\n.\r\n"), ("250 OK\r\n", "")],
            statuses: [.delivered], codes: [250]),
        TranscriptCase(
            name: "8BITMIME offered: BODY=8BITMIME", keywords: ["8BITMIME"], envelope: envelope(body: .eightBitMIME),
            first: "MAIL FROM:<alice@example.org> BODY=8BITMIME\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<bob@example.net>\r\n"), ("250 OK\r\n", "DATA\r\n"), ("354 Go\r\n", "Hello\r\n.\r\n"),
                ("250 OK\r\n", ""),
            ],
            statuses: [.delivered], codes: [250]),
        TranscriptCase(
            name: "8-bit without 8BITMIME: sent anyway, without BODY=", keywords: [], envelope: envelope(body: .eightBitMIME),
            first: "MAIL FROM:<alice@example.org>\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<bob@example.net>\r\n"), ("250 OK\r\n", "DATA\r\n"), ("354 Go\r\n", "Hello\r\n.\r\n"),
                ("250 OK\r\n", ""),
            ],
            statuses: [.delivered], codes: [250]),
        TranscriptCase(
            name: "SMTPUTF8 offered and needed", keywords: ["SMTPUTF8", "PIPELINING"], envelope: envelope(to: ["j\u{F6}rg@example.net"]),
            first: "MAIL FROM:<alice@example.org> SMTPUTF8\r\nRCPT TO:<j\u{F6}rg@example.net>\r\nDATA\r\n",
            steps: [("250 OK\r\n250 OK\r\n354 Go\r\n", "Hello\r\n.\r\n"), ("250 OK\r\n", "")], statuses: [.delivered], codes: [250]),
        TranscriptCase(
            name: "BINARYMIME through BDAT", keywords: ["PIPELINING", "CHUNKING", "BINARYMIME"],
            envelope: envelope(size: 5, body: .binaryMIME), body: "ab\r.c",
            first: "MAIL FROM:<alice@example.org> BODY=BINARYMIME\r\nRCPT TO:<bob@example.net>\r\n",
            steps: [("250 OK\r\n250 OK\r\n", "BDAT 5 LAST\r\nab\r.c"), ("250 2.0.0 Queued\r\n", "")], statuses: [.delivered], codes: [250]),
        TranscriptCase(
            name: "BDAT refused on the last chunk", keywords: ["CHUNKING", "BINARYMIME"], envelope: envelope(size: 5, body: .binaryMIME),
            body: "abcde", first: "MAIL FROM:<alice@example.org> BODY=BINARYMIME\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<bob@example.net>\r\n"), ("250 OK\r\n", "BDAT 5 LAST\r\nabcde"),
                // RFC 3030 §2: after a failed chunk the state is indeterminate; RSET.
                ("552 5.3.4 Too big\r\n", "RSET\r\n"), ("250 OK\r\n", ""),
            ],
            statuses: [.failed], codes: [552]),
        TranscriptCase(
            name: "DSN offered: NOTIFY, ORCPT, RET and ENVID passed on, xtext-encoded", keywords: ["DSN"],
            envelope: envelope(
                ret: .headers, envelopeID: "id+1=x", notify: .on([.failure, .success]),
                originalRecipient: OriginalRecipient(addressType: "rfc822", address: "Bob=B@example.net")),
            first: "MAIL FROM:<alice@example.org> RET=HDRS ENVID=id+2B1+3Dx\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+3DB@example.net\r\n"),
                ("250 OK\r\n", "DATA\r\n"), ("354 Go\r\n", "Hello\r\n.\r\n"), ("250 OK\r\n", ""),
            ], statuses: [.delivered], codes: [250]),
        TranscriptCase(
            name: "DSN not offered: no DSN parameters", keywords: [],
            envelope: envelope(
                ret: .full, envelopeID: "x", notify: .never, originalRecipient: OriginalRecipient(addressType: "rfc822", address: "b@x")),
            first: "MAIL FROM:<alice@example.org>\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<bob@example.net>\r\n"), ("250 OK\r\n", "DATA\r\n"), ("354 Go\r\n", "Hello\r\n.\r\n"),
                ("250 OK\r\n", ""),
            ],
            statuses: [.delivered], codes: [250]),
        TranscriptCase(
            name: "421 to RCPT: deferred and closed", keywords: [], envelope: envelope(to: ["a@example.net", "b@example.net"]),
            first: "MAIL FROM:<alice@example.org>\r\n",
            steps: [
                ("250 OK\r\n", "RCPT TO:<a@example.net>\r\n"), ("550 No\r\n", "RCPT TO:<b@example.net>\r\n"),
                ("421 4.3.2 Shutting down\r\n", ""),
            ],
            statuses: [.failed, .deferred], codes: [550, 421], endsReady: false),
        TranscriptCase(
            name: "garbled reply: closed, open recipients deferred", keywords: [],
            envelope: envelope(to: ["a@example.net", "b@example.net"]),
            first: "MAIL FROM:<alice@example.org>\r\n",
            steps: [("250 OK\r\n", "RCPT TO:<a@example.net>\r\n"), ("250 OK\r\n", "RCPT TO:<b@example.net>\r\n"), ("2x0 what\r\n", "")],
            statuses: [.deferred, .deferred], codes: [451, 451], endsReady: false),
        TranscriptCase(
            name: "a 3yz reply to RCPT is a protocol error", keywords: [], envelope: envelope(), first: "MAIL FROM:<alice@example.org>\r\n",
            steps: [("250 OK\r\n", "RCPT TO:<bob@example.net>\r\n"), ("354 What\r\n", "")], statuses: [.deferred], codes: [451],
            endsReady: false),
    ]

    @Test(arguments: cases)
    func transcript(_ c: TranscriptCase) {
        var t = ClientTranscript(body: c.body)
        #expect(t.server("220 mx.example.net ESMTP\r\n") == "EHLO relay.example.org\r\n")
        #expect(t.server(ehlo(c.keywords)) == "")
        #expect(t.session.isReady)
        #expect(t.deliver(c.envelope) == c.first)
        for (index, step) in c.steps.enumerated() {
            #expect(t.server(step.server) == step.client, "step \(index)")
        }
        #expect(t.statuses == c.statuses)
        #expect(t.codes == c.codes)
        #expect(t.session.isReady == c.endsReady)
        #expect(t.closed == !c.endsReady)
        if c.endsReady { #expect(t.session.currentTimeout == nil) }
    }

    /// The same transcripts with the server's replies fed one byte at a time.
    @Test(arguments: cases)
    func transcriptOneByteAtATime(_ c: TranscriptCase) {
        var t = ClientTranscript(body: c.body)
        var wire = ""
        for byte in "220 mx.example.net ESMTP\r\n".utf8 { wire += t.server(String(decoding: [byte], as: UTF8.self)) }
        for byte in ehlo(c.keywords).utf8 { wire += t.server(String(decoding: [byte], as: UTF8.self)) }
        #expect(wire == "EHLO relay.example.org\r\n")
        #expect(t.deliver(c.envelope) == c.first)
        for step in c.steps {
            var answer = ""
            for byte in step.server.utf8 { answer += t.server(String(decoding: [byte], as: UTF8.self)) }
            #expect(answer == step.client)
        }
        #expect(t.statuses == c.statuses)
    }

    @Test func dsnPassedOnIsRecordedPerRecipient() {
        var with = ClientTranscript.ready("DSN", "PIPELINING")
        with.deliver(envelope(notify: .on([.success])))
        with.server("250 OK\r\n250 OK\r\n354 Go\r\n")
        with.server("250 OK\r\n")
        #expect(with.outcomes?.map(\.dsnPassedOn) == [true])
        var without = ClientTranscript.ready("PIPELINING")
        without.deliver(envelope(notify: .on([.success])))
        without.server("250 OK\r\n250 OK\r\n354 Go\r\n")
        without.server("250 OK\r\n")
        #expect(without.outcomes?.map(\.dsnPassedOn) == [false])
    }

    @Test func outcomesKeepTheServersReply() {
        var t = ClientTranscript.ready("PIPELINING", "ENHANCEDSTATUSCODES")
        t.deliver(envelope(to: ["a@example.net", "b@example.net"]))
        t.server("250 2.1.0 OK\r\n550-5.1.1 No such\r\n550 5.1.1 user here\r\n250 2.1.5 OK\r\n354 Go\r\n")
        t.server("250 2.0.0 Queued as X\r\n")
        let refused = t.outcomes![0]
        #expect(refused.reply == SMTPReply(550, .init(5, 1, 1), ["No such", "user here"]))
        #expect(refused.fromServer)
        #expect(t.outcomes![1].reply.lines == ["Queued as X"])
        #expect(t.session.capabilities.enhancedStatusCodes)
    }

    // MARK: - Requirements the server cannot meet

    @Test func sizeOverTheServersLimitFailsWithoutSending() {
        var t = ClientTranscript.ready("SIZE 1000")
        #expect(t.session.capabilities.maximumSize == 1000)
        #expect(t.deliver(envelope(size: 1001)) == "")
        #expect(t.statuses == [.failed])
        #expect(t.enhancedCodes == ["5.3.4"])
        #expect(t.session.isReady)
        #expect(t.deliver(envelope(size: 1000)) == "MAIL FROM:<alice@example.org> SIZE=1000\r\n")
    }

    @Test func sizeZeroMeansNoLimit() {
        var t = ClientTranscript.ready("SIZE 0")
        #expect(t.session.capabilities.maximumSize == nil)
        #expect(t.deliver(envelope(size: 1 << 40)) == "MAIL FROM:<alice@example.org> SIZE=1099511627776\r\n")
    }

    @Test func smtpUTF8MissingFails() {
        var t = ClientTranscript.ready("8BITMIME")
        #expect(t.deliver(envelope(to: ["j\u{F6}rg@example.net", "bob@example.net"])) == "")
        #expect(t.statuses == [.failed, .failed])
        #expect(t.enhancedCodes == ["5.6.7", "5.6.7"])
        #expect(t.deliver(envelope(smtpUTF8: true)) == "")
        #expect(t.enhancedCodes == ["5.6.7"])
        #expect(t.session.isReady)
    }

    @Test func binaryMIMEWithoutChunkingFails() {
        var t = ClientTranscript.ready("BINARYMIME", "8BITMIME")
        #expect(t.session.capabilities.extensions.contains(.binaryMIME) == false)
        #expect(t.deliver(envelope(body: .binaryMIME)) == "")
        #expect(t.statuses == [.failed])
        #expect(t.enhancedCodes == ["5.6.3"])
    }

    @Test func noRecipientsIsANoOp() {
        var t = ClientTranscript.ready()
        #expect(t.deliver(envelope(to: [])) == "")
        #expect(t.outcomes == [])
        #expect(t.session.isReady)
    }

    // MARK: - BDAT

    @Test func bdatChunksWithoutPipeliningWaitForEachReply() {
        var t = ClientTranscript.ready("CHUNKING", "BINARYMIME", body: "abcdefgh", chunkSize: 3)
        t.deliver(envelope(size: 8, body: .binaryMIME))
        #expect(t.server("250 OK\r\n") == "RCPT TO:<bob@example.net>\r\n")
        #expect(t.server("250 OK\r\n") == "BDAT 3\r\nabc")
        #expect(t.session.currentTimeout?.phase == .dataBlock)
        #expect(t.server("250 OK\r\n") == "BDAT 3\r\ndef")
        #expect(t.server("250 OK\r\n") == "BDAT 2 LAST\r\ngh")
        #expect(t.session.currentTimeout?.phase == .dataTermination)
        #expect(t.server("250 Queued\r\n") == "")
        #expect(t.statuses == [.delivered])
        #expect(t.session.isReady)
    }

    @Test func bdatChunksArePipelinedWithPipelining() {
        var t = ClientTranscript.ready("PIPELINING", "CHUNKING", "BINARYMIME", body: "abcdefghij", chunkSize: 2)
        t.deliver(envelope(size: 10, body: .binaryMIME))
        // Four chunks in flight (the configured window), then one per reply.
        #expect(t.server("250 OK\r\n250 OK\r\n") == "BDAT 2\r\nabBDAT 2\r\ncdBDAT 2\r\nefBDAT 2\r\ngh")
        #expect(t.server("250 OK\r\n") == "BDAT 2 LAST\r\nij")
        #expect(t.server("250 OK\r\n250 OK\r\n250 OK\r\n") == "")
        #expect(t.outcomes == nil)
        #expect(t.server("250 OK\r\n") == "")
        #expect(t.statuses == [.delivered])
    }

    @Test func aRefusedBDATChunkStopsTheChunksAndResets() {
        var t = ClientTranscript.ready("PIPELINING", "CHUNKING", "BINARYMIME", body: "abcdefghijkl", chunkSize: 2)
        t.deliver(envelope(size: 12, body: .binaryMIME))
        #expect(t.server("250 OK\r\n250 OK\r\n") == "BDAT 2\r\nabBDAT 2\r\ncdBDAT 2\r\nefBDAT 2\r\ngh")
        // RFC 3030 §2: no chunk after a failed one; the ones in flight are answered and ignored.
        #expect(t.server("452 4.3.1 Disk full\r\n") == "")
        #expect(t.server("503 Bad sequence\r\n503 Bad sequence\r\n") == "")
        #expect(t.server("503 Bad sequence\r\n") == "RSET\r\n")
        #expect(t.statuses == [.deferred])
        #expect(t.codes == [452])
        t.server("250 OK\r\n")
        #expect(t.session.isReady)
    }

    @Test func anEmptyBinaryBodyIsOneEmptyLastChunk() {
        var t = ClientTranscript.ready("PIPELINING", "CHUNKING", "BINARYMIME", body: "")
        t.deliver(envelope(size: 0, body: .binaryMIME))
        #expect(t.server("250 OK\r\n250 OK\r\n") == "BDAT 0 LAST\r\n")
    }

    // MARK: - Greeting and EHLO

    @Test func ehloNotRecognisedFallsBackToHELO() {
        for code in [500, 502] {
            var t = ClientTranscript()
            #expect(t.server("220 old.example.net\r\n") == "EHLO relay.example.org\r\n")
            #expect(t.server("\(code) Command unrecognized\r\n") == "HELO relay.example.org\r\n")
            #expect(t.server("250 old.example.net\r\n") == "")
            #expect(t.session.isReady)
            #expect(t.session.capabilities == SMTPServerCapabilities())
            #expect(t.deliver(envelope(body: .eightBitMIME)) == "MAIL FROM:<alice@example.org>\r\n")
        }
    }

    @Test func ehloRefusedOtherwiseGivesUpOnTheHost() {
        var t = ClientTranscript()
        t.server("220 mx\r\n")
        #expect(t.server("554 5.7.1 Go away\r\n") == "QUIT\r\n")
        #expect(t.closed)
        #expect(t.failures.map(\.code) == [.serviceUnavailable])
    }

    @Test func helloRefusedGivesUpOnTheHost() {
        var t = ClientTranscript()
        t.server("220 mx\r\n")
        t.server("502 No EHLO\r\n")
        #expect(t.server("550 No HELO either\r\n") == "QUIT\r\n")
        #expect(t.closed)
    }

    @Test func a554GreetingDefersEverythingSoTheNextMXIsTried() {
        var t = ClientTranscript()
        #expect(t.server("554 5.3.2 No service here\r\n") == "QUIT\r\n")
        #expect(t.closed)
        #expect(t.failures.map(\.code) == [.serviceUnavailable])
        #expect(t.deliver(envelope(to: ["a@example.net", "b@example.net"])) == "")
        #expect(t.statuses == [.deferred, .deferred])
        #expect(t.codes == [554, 554])
        #expect(t.outcomes?.allSatisfy(\.fromServer) == true)
    }

    @Test func ehloKeywordsAreParsed() {
        let reply = SMTPReply(
            250, nil,
            [
                "mx.example.net Hello", "size 35882577", "8BITMIME", "PIPELINING", "CHUNKING", "BINARYMIME", "STARTTLS", "DSN",
                "ENHANCEDSTATUSCODES", "SMTPUTF8", "AUTH PLAIN LOGIN", "X-UNKNOWN",
            ])
        let capabilities = SMTPServerCapabilities(ehloReply: reply)
        #expect(capabilities.extensions == [.size, .eightBitMIME, .pipelining, .chunking, .binaryMIME, .dsn, .smtpUTF8])
        #expect(capabilities.maximumSize == 35_882_577)
        #expect(capabilities.startTLS)
        #expect(capabilities.enhancedStatusCodes)
        #expect(capabilities.keywords.count == 11)
        #expect(SMTPServerCapabilities(ehloReply: SMTPReply(250, nil, ["mx", "SIZE nonsense"])).maximumSize == nil)
    }

    // MARK: - STARTTLS

    @Test func opportunisticTLSWhenOfferedThenEHLOAgain() {
        var t = ClientTranscript(tls: .opportunistic)
        t.server("220 mx\r\n")
        #expect(t.server(ehlo("SIZE 10", "STARTTLS")) == "STARTTLS\r\n")
        #expect(t.session.capabilities.maximumSize == 10)
        // Bytes after the 220 were sent before TLS: never read them as TLS replies (RFC 3207 §5).
        #expect(t.server("220 2.0.0 Go ahead\r\n250 injected\r\n") == "")
        #expect(t.tlsRequested)
        #expect(t.session.currentTimeout?.phase == .tlsHandshake)
        // RFC 3207 §4.2: what the server said before TLS is forgotten.
        #expect(t.event(.tlsEstablished) == "EHLO relay.example.org\r\n")
        #expect(t.session.capabilities == SMTPServerCapabilities())
        #expect(t.server(ehlo("STARTTLS", "8BITMIME")) == "")
        #expect(t.session.isReady)
        #expect(t.session.tlsActive)
        #expect(t.session.capabilities.maximumSize == nil)
        #expect(t.deliver(envelope()) == "MAIL FROM:<alice@example.org>\r\n")
    }

    @Test func opportunisticTLSRefusedGoesOnInPlainText() {
        var t = ClientTranscript(tls: .opportunistic)
        t.server("220 mx\r\n")
        t.server(ehlo("STARTTLS", "SIZE 100"))
        #expect(t.server("454 4.7.0 TLS not available\r\n") == "")
        #expect(t.session.isReady)
        #expect(!t.session.tlsActive)
        #expect(t.session.capabilities.maximumSize == 100)
    }

    @Test func opportunisticHandshakeFailureAsksForAPlainReconnect() {
        var t = ClientTranscript(tls: .opportunistic)
        t.server("220 mx\r\n")
        t.server(ehlo("STARTTLS"))
        t.server("220 Go ahead\r\n")
        t.event(.tlsFailed("no shared cipher"))
        #expect(t.reconnectRequested)
        #expect(t.closed)
        #expect(t.failures.map(\.code) == [.tlsFailed])
    }

    @Test func opportunisticWithoutSTARTTLSOfferedIsPlain() {
        var t = ClientTranscript(tls: .opportunistic)
        t.server("220 mx\r\n")
        #expect(t.server(ehlo("8BITMIME")) == "")
        #expect(t.session.isReady)
    }

    @Test func noTLSPolicyIgnoresSTARTTLS() {
        var t = ClientTranscript(tls: .none)
        t.server("220 mx\r\n")
        #expect(t.server(ehlo("STARTTLS")) == "")
        #expect(t.session.isReady)
    }

    @Test func requiredTLSNotOfferedDefersWithAClearReason() {
        var t = ClientTranscript(tls: .required)
        t.server("220 mx\r\n")
        #expect(t.server(ehlo("8BITMIME")) == "QUIT\r\n")
        #expect(t.closed)
        #expect(t.failures.map(\.code) == [.tlsUnavailable])
        t.deliver(envelope())
        #expect(t.statuses == [.deferred])
        #expect(t.enhancedCodes == ["4.7.0"])
        #expect(t.outcomes?[0].reply.lines == ["TLS required but STARTTLS not offered"])
    }

    @Test func requiredTLSAfterHELODefers() {
        var t = ClientTranscript(tls: .required)
        t.server("220 mx\r\n")
        t.server("500 What\r\n")
        #expect(t.server("250 mx\r\n") == "QUIT\r\n")
        #expect(t.failures.map(\.code) == [.tlsUnavailable])
    }

    @Test func requiredTLSRefusedDefers() {
        var t = ClientTranscript(tls: .required)
        t.server("220 mx\r\n")
        t.server(ehlo("STARTTLS"))
        #expect(t.server("454 4.7.0 Not now\r\n") == "QUIT\r\n")
        t.deliver(envelope())
        #expect(t.enhancedCodes == ["4.7.0"])
        #expect(t.outcomes?[0].reply.lines == ["TLS required but STARTTLS refused: 454 4.7.0 Not now"])
    }

    @Test func requiredTLSHandshakeFailureDefersWithoutReconnecting() {
        var t = ClientTranscript(tls: .required)
        t.server("220 mx\r\n")
        t.server(ehlo("STARTTLS"))
        t.server("220 Go ahead\r\n")
        t.event(.tlsFailed("the certificate is not for mx"))
        #expect(!t.reconnectRequested)
        #expect(t.closed)
        t.deliver(envelope())
        #expect(t.statuses == [.deferred])
        #expect(t.enhancedCodes == ["4.7.0"])
        #expect(t.outcomes?[0].reply.lines == ["TLS handshake failed: the certificate is not for mx"])
    }

    @Test func requiredTLSSucceeds() {
        var t = ClientTranscript(tls: .required)
        t.server("220 mx\r\n")
        t.server(ehlo("STARTTLS"))
        t.server("220 Go ahead\r\n")
        t.event(.tlsEstablished)
        #expect(t.server(ehlo("PIPELINING")) == "")
        #expect(t.session.isReady)
    }

    // MARK: - Reuse and QUIT

    @Test func aSecondEnvelopeOnTheSameConnection() {
        var t = ClientTranscript.ready("PIPELINING")
        t.deliver(envelope(to: ["a@example.net"]))
        t.server("250 OK\r\n250 OK\r\n354 Go\r\n")
        t.server("250 OK\r\n")
        #expect(t.readyCount == 2)
        #expect(t.deliver(envelope(to: ["b@example.net"])) == "MAIL FROM:<alice@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n")
        t.server("250 OK\r\n250 OK\r\n354 Go\r\n")
        t.server("250 OK\r\n")
        #expect(t.statuses == [.delivered])
        #expect(t.quit() == "QUIT\r\n")
        #expect(t.session.currentTimeout?.phase == .quit)
        t.server("221 Bye\r\n")
        #expect(t.closed)
    }

    @Test func deliverAfterQuitDefers() {
        var t = ClientTranscript.ready()
        t.quit()
        t.server("221 Bye\r\n")
        t.deliver(envelope())
        #expect(t.statuses == [.deferred])
        #expect(t.outcomes?.first?.reply.lines == ["Connection closed"])
    }

    @Test func aTransactionThatEndedBadlyIsResetBeforeTheNext() {
        var t = ClientTranscript.ready()
        t.deliver(envelope())
        t.server("250 OK\r\n")
        #expect(t.server("550 No\r\n") == "RSET\r\n")
        #expect(!t.session.isReady)
        #expect(t.session.currentTimeout?.phase == .reset)
        // Not ready until RSET is answered: an envelope now is deferred, not interleaved.
        t.server("250 OK\r\n")
        #expect(t.session.isReady)
        #expect(t.deliver(envelope()) == "MAIL FROM:<alice@example.org>\r\n")
    }

    @Test func aRefusedRSETClosesTheConnection() {
        var t = ClientTranscript.ready()
        t.deliver(envelope())
        t.server("250 OK\r\n")
        t.server("550 No\r\n")
        #expect(t.server("500 What\r\n") == "QUIT\r\n")
        #expect(t.closed)
    }

    @Test func deliverWhileBusyDefers() {
        var t = ClientTranscript.ready()
        t.deliver(envelope())
        var second = t.session
        let actions = second.deliver(envelope(to: ["x@example.net"]))
        guard case .recipientOutcomes(let outcomes) = actions.first else {
            Issue.record("no outcomes")
            return
        }
        #expect(outcomes.map(\.status) == [.deferred])
    }

    @Test func theServerClosingAnIdleConnection() {
        var t = ClientTranscript.ready()
        t.server("421 4.4.2 Idle timeout\r\n")
        #expect(t.closed)
        #expect(!t.session.isReady)
        t.deliver(envelope())
        #expect(t.statuses == [.deferred])
    }

    @Test func anUnsolicitedReplyWhenIdleCloses() {
        var t = ClientTranscript.ready()
        t.server("250 Surprise\r\n")
        #expect(t.closed)
        #expect(t.failures.map(\.code) == [.protocolError])
    }

    @Test func aReplyWhileTheBodyIsBeingSentIsAProtocolError() {
        var session = ClientTranscript.ready().session
        _ = session.deliver(envelope())
        _ = session.receive(.received(buffer("250 OK\r\n250 OK\r\n")))
        let actions = session.receive(.received(buffer("354 Go\r\n250 early\r\n")))
        #expect(actions.first == .sendBody(.data))
        #expect(actions.last == .close)
        #expect(session.failure?.code == .protocolError)
        #expect(session.receive(.bodySent) == [])
    }

    @Test func theConnectionDroppedMidData() {
        var t = ClientTranscript.ready("PIPELINING")
        t.deliver(envelope(to: ["a@example.net", "b@example.net"]))
        t.server("250 OK\r\n250 OK\r\n550 No\r\n354 Go\r\n")
        t.event(.connectionClosed)
        #expect(t.statuses == [.deferred, .failed])
        #expect(t.codes == [451, 550])
        #expect(t.outcomes?[0].reply.enhancedCode == .init(4, 4, 2))
        #expect(t.closed)
    }

    @Test func aBodyThatCannotBeReadDefersAndCloses() {
        var t = ClientTranscript.ready()
        t.deliver(envelope())
        t.server("250 OK\r\n")
        t.server("250 OK\r\n")
        var session = t.session
        _ = session.receive(.reply(SMTPReply(354, nil, "Go")))
        let actions = session.receive(.bodyFailed)
        #expect(actions.last == .close)
        guard case .recipientOutcomes(let outcomes) = actions.first else {
            Issue.record("no outcomes")
            return
        }
        #expect(outcomes.map(\.status) == [.deferred])
        #expect(outcomes[0].reply.enhancedCode == .init(4, 3, 0))
    }

    // MARK: - Timeouts (RFC 5321 §4.5.3.2)

    static let timeouts = SMTPClientTimeouts(
        greeting: .seconds(1), mail: .seconds(2), rcpt: .seconds(3), dataInitiation: .seconds(4), dataBlock: .seconds(5),
        dataTermination: .seconds(6), command: .seconds(7))

    struct TimeoutCase: Sendable, CustomTestStringConvertible {
        /// Server lines up to the wait; DELIVER starts the envelope, HOLD keeps the body unsent.
        var lines: [String]
        var phase: SMTPClientPhase
        var duration: Duration
        var testDescription: String { phase.rawValue }
    }

    static let timeoutCases: [TimeoutCase] = [
        TimeoutCase(lines: [], phase: .greeting, duration: .seconds(1)),
        TimeoutCase(lines: ["220 mx\r\n"], phase: .hello, duration: .seconds(7)),
        TimeoutCase(lines: ["220 mx\r\n", "250 mx\r\n", "DELIVER"], phase: .mail, duration: .seconds(2)),
        TimeoutCase(lines: ["220 mx\r\n", "250 mx\r\n", "DELIVER", "250 OK\r\n"], phase: .rcpt, duration: .seconds(3)),
        TimeoutCase(
            lines: ["220 mx\r\n", "250 mx\r\n", "DELIVER", "250 OK\r\n", "250 OK\r\n"], phase: .dataInitiation, duration: .seconds(4)),
        TimeoutCase(
            lines: ["220 mx\r\n", "250 mx\r\n", "DELIVER", "250 OK\r\n", "250 OK\r\n", "354 Go\r\n", "HOLD"], phase: .dataBlock,
            duration: .seconds(5)),
        TimeoutCase(
            lines: ["220 mx\r\n", "250 mx\r\n", "DELIVER", "250 OK\r\n", "250 OK\r\n", "354 Go\r\n"], phase: .dataTermination,
            duration: .seconds(6)),
    ]

    @Test(arguments: timeoutCases)
    func timeoutInEachPhase(_ c: TimeoutCase) {
        let (lines, phase, duration, name) = (c.lines, c.phase, c.duration, c.phase.rawValue)
        var session = SMTPClientSession(
            configuration: SMTPClientSessionConfiguration(heloName: "relay.example.org", tls: .none, timeouts: Self.timeouts))
        _ = session.receive(.connected)
        var delivering = false
        for line in lines {
            switch line {
            case "DELIVER":
                _ = session.deliver(envelope())
                delivering = true
            case "HOLD": break
            default:
                let actions = session.receive(.received(buffer(line)))
                if actions.contains(.sendBody(.data)), lines.last != "HOLD" { _ = session.receive(.bodySent) }
            }
        }
        #expect(session.currentTimeout == SMTPClientDeadline(phase: phase, duration: duration), "\(name)")
        let actions = session.receive(.timeout)
        #expect(actions.last == .close)
        #expect(session.failure?.code == .timeout)
        #expect(session.failure?.reply.enhancedCode == .init(4, 4, 2))
        if delivering {
            guard case .recipientOutcomes(let outcomes) = actions.first else {
                Issue.record("no outcomes")
                return
            }
            #expect(outcomes.map(\.status) == [.deferred])
            #expect(outcomes[0].reply.lines == ["Timeout waiting for \(phase.rawValue)"])
        }
        #expect(session.currentTimeout == nil)
    }

    @Test func timeoutWaitingForTheLastBDATReply() {
        var t = ClientTranscript(timeouts: Self.timeouts)
        t.body = Array("abc".utf8)
        t.server("220 mx\r\n")
        t.server(ehlo("CHUNKING", "BINARYMIME"))
        t.deliver(envelope(size: 3, body: .binaryMIME))
        t.server("250 OK\r\n")
        #expect(t.server("250 OK\r\n") == "BDAT 3 LAST\r\nabc")
        #expect(t.session.currentTimeout == SMTPClientDeadline(phase: .dataTermination, duration: .seconds(6)))
        t.event(.timeout)
        #expect(t.statuses == [.deferred])
        #expect(t.closed)
    }

    @Test func noTimeoutWhenIdle() {
        let t = ClientTranscript.ready()
        #expect(t.session.currentTimeout == nil)
    }

    // MARK: - Limits on what the server sends

    @Test func aReplyLineOverTheLimitCloses() {
        var t = ClientTranscript(limits: SMTPReplyLimits(lineLength: 64, lines: 4, replyBytes: 200))
        t.server("220 mx\r\n")
        t.server("250 " + String(repeating: "x", count: 60))
        #expect(t.closed)
        #expect(t.failures.map(\.code) == [.protocolError])
    }

    @Test func aReplyLineDrippedPastTheLimitCloses() {
        var t = ClientTranscript(limits: SMTPReplyLimits(lineLength: 64, lines: 4, replyBytes: 200))
        t.server("220 mx\r\n")
        t.server("250-mx\r\n")
        for count in 1...64 {
            t.server("x")
            #expect(t.closed == (count == 64), "after \(count) octets")
        }
    }

    @Test func aReplyDrippedPastTheByteLimitCloses() {
        var t = ClientTranscript(limits: SMTPReplyLimits(lineLength: 64, lines: 100, replyBytes: 100))
        t.server("220 mx\r\n")
        var sent = 0
        while !t.closed, sent < 200 {
            t.server(sent % 10 == 9 ? "\n" : sent % 10 < 4 ? String(Array("250-")[sent % 10]) : "y")
            sent += 1
        }
        #expect(t.closed)
        #expect(sent == 100)
    }

    @Test func tooManyEHLOLinesClose() {
        var t = ClientTranscript(limits: SMTPReplyLimits(lineLength: 64, lines: 4, replyBytes: 200))
        t.server("220 mx\r\n")
        t.server("250-mx\r\n250-A\r\n250-B\r\n250 C\r\n")
        #expect(t.session.isReady)
        var u = ClientTranscript(limits: SMTPReplyLimits(lineLength: 64, lines: 4, replyBytes: 200))
        u.server("220 mx\r\n")
        u.server("250-mx\r\n250-A\r\n250-B\r\n250-C\r\n")
        #expect(u.closed)
    }

    @Test func aReplyOverTheByteLimitCloses() {
        var t = ClientTranscript(limits: SMTPReplyLimits(lineLength: 64, lines: 100, replyBytes: 100))
        t.server("220 mx\r\n")
        for _ in 0..<12 { t.server("250-xxxxxx\r\n") }
        #expect(t.closed)
    }
}

/// AUTH PLAIN for a smarthost (RFC 4954 with RFC 4616's message): only under TLS, only when
/// offered, and a refusal leaves the mail waiting (4.7.0), not failed.
struct SMTPClientAuthTests {
    static let credentials = SMTPClientCredentials(username: "alice", password: "secret")

    /// Greeting, EHLO, STARTTLS and the TLS handshake, up to the second EHLO's reply.
    static func afterTLS(_ ehlo: String) -> (ClientTranscript, String) {
        var t = ClientTranscript(tls: .opportunistic, credentials: credentials)
        #expect(t.server("220 smarthost.example ESMTP\r\n") == "EHLO relay.example.org\r\n")
        #expect(t.server("250-smarthost.example\r\n250 STARTTLS\r\n") == "STARTTLS\r\n")
        t.server("220 Go ahead\r\n")
        #expect(t.tlsRequested)
        #expect(t.event(.tlsEstablished) == "EHLO relay.example.org\r\n")
        let answer = t.server(ehlo)
        return (t, answer)
    }

    @Test func logsInWithPlainUnderTLS() {
        var (t, sent) = Self.afterTLS("250-smarthost.example\r\n250-AUTH LOGIN PLAIN\r\n250 SIZE 1000\r\n")
        // base64("\0alice\0secret")
        #expect(sent == "AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
        t.server("235 2.7.0 Authentication successful\r\n")
        #expect(t.readyCount == 1 && t.failures.isEmpty)
    }

    @Test func aRefusalLeavesTheMailWaiting() {
        var (t, _) = Self.afterTLS("250-smarthost.example\r\n250 AUTH PLAIN\r\n")
        #expect(t.server("535 5.7.8 Authentication credentials invalid\r\n") == "QUIT\r\n")
        #expect(t.failures.map(\.code) == [.authFailed] && t.failures.first?.reply.code == 454)
        // The server's reply whole, enhanced code included, for the queue's last reply.
        #expect(t.failures.first?.reply.lines == ["authentication refused: 535 5.7.8 Authentication credentials invalid"])
        #expect(t.closed && t.readyCount == 0)
    }

    @Test func noPlainOffered() {
        let (t, sent) = Self.afterTLS("250-smarthost.example\r\n250 AUTH CRAM-MD5\r\n")
        #expect(sent == "QUIT\r\n" && t.failures.map(\.code) == [.authFailed])
    }

    @Test func neverWithoutTLS() {
        var t = ClientTranscript(tls: .opportunistic, credentials: Self.credentials)
        t.server("220 smarthost.example ESMTP\r\n")
        #expect(t.server("250-smarthost.example\r\n250 AUTH PLAIN\r\n") == "QUIT\r\n")
        #expect(t.failures.map(\.code) == [.tlsUnavailable] && !t.wire.contains("AUTH"))
    }
}
