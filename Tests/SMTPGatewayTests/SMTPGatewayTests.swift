import Foundation
import GatewayKit
import NIOCore
import RPCProtocol
import Testing

@testable import SMTPGateway

/// Transcripts against the real gateway and an in-process back-end over their sockets.
@Suite(.serialized, .timeLimit(.minutes(1))) struct SMTPGatewayTests {
    static let dotty = "From: carol@remote.test\r\nSubject: dots\r\n\r\n..leading dot\r\n...two\r\n. \r\nlast\r\n"
    static let unstuffed = "From: carol@remote.test\r\nSubject: dots\r\n\r\n.leading dot\r\n..two\r\n \r\nlast\r\n"

    /// Splits a stored message into its Return-Path line, Received field and the rest.
    static func split(_ stored: [UInt8]) -> (returnPath: String, received: String, rest: String) {
        let text = String(decoding: stored, as: UTF8.self)
        let returnEnd = text.range(of: "\r\n")!.upperBound
        let afterReturn = text[returnEnd...]
        var receivedEnd = afterReturn.range(of: "\r\n")!.upperBound
        while afterReturn[receivedEnd...].hasPrefix("\t") {
            receivedEnd = afterReturn[receivedEnd...].range(of: "\r\n")!.upperBound
        }
        return (String(text[..<returnEnd]), String(afterReturn[..<receivedEnd]), String(afterReturn[receivedEnd...]))
    }

    @Test func mxDeliversByteExactWithReceivedHeader() async throws {
        let h = try await SMTPHarness()
        let c = try await h.connect(h.mxPort)
        let ehlo = try await c.command("EHLO client.test")
        #expect(ehlo.contains("250-SIZE 52428800") && ehlo.contains("PIPELINING") && !ehlo.contains("AUTH"))
        #expect(try await c.command("MAIL FROM:<carol@remote.test>").hasPrefix("250 2.1.0"))
        #expect(try await c.command("RCPT TO:<alice@example.test>").hasPrefix("250 2.1.5"))
        #expect(try await c.command("RCPT TO:<nobody@example.test>").hasPrefix("550 5.1.1"))
        #expect(try await c.command("RCPT TO:<someone@remote.test>").hasPrefix("550 5.7.1"))
        #expect(try await c.command("DATA").hasPrefix("354"))
        let done = try await c.command(Self.dotty + ".")
        #expect(done.hasPrefix("250 2.0.0 OK: delivered as "))
        #expect(try await c.command("QUIT").hasPrefix("221"))
        let stored = try await h.inbox("alice@example.test")
        #expect(stored.count == 1)
        let parts = Self.split(stored[0])
        #expect(parts.returnPath == "Return-Path: <carol@remote.test>\r\n")
        #expect(parts.received.hasPrefix("Received: from client.test ([127.0.0.1])\r\n\tby mx.test (Loft) with ESMTP id "))
        #expect(parts.received.contains("\tfor <alice@example.test>; "))
        #expect(parts.rest == Self.unstuffed)
        await h.close()
    }

    /// RFC 5321 §4.5.1: the bare <Postmaster> is accepted: it is postmaster@ the first domain
    /// added, or the address `smtp.postmaster` names.
    @Test(arguments: [nil, "bob@example.test"]) func barePostmasterIsAccepted(configured: String?) async throws {
        let h = try await SMTPHarness { $0.postmaster = configured }
        _ = try await h.admin.call(Methods.aliasAdd, AliasParams(address: "postmaster@example.test", targets: ["alice@example.test"]))
        let c = try await h.connect(h.mxPort)
        _ = try await c.command("EHLO client.test")
        #expect(try await c.command("MAIL FROM:<carol@remote.test>").hasPrefix("250"))
        #expect(try await c.command("RCPT TO:<Postmaster>").hasPrefix("250 2.1.5"))
        #expect(try await c.command("DATA").hasPrefix("354"))
        #expect(try await c.command("Subject: hello\r\n\r\nwho runs this?\r\n.").hasPrefix("250"))
        _ = try await c.command("QUIT")
        let owner = configured ?? "alice@example.test"
        let other = configured == nil ? "bob@example.test" : "alice@example.test"
        let stored = try await h.inbox(owner)
        #expect(stored.count == 1)
        #expect(String(decoding: stored.first ?? [], as: UTF8.self).contains("who runs this?"))
        #expect(try await h.inbox(other).isEmpty)
        await h.close()
    }

    /// The reply after the data says "queued" as soon as any copy waits for the relay: here the
    /// account keeps a copy and forwards one to a remote address.
    @Test func aForwardedCopyMakesTheReplySayQueued() async throws {
        let h = try await SMTPHarness()
        _ = try await h.admin.call(
            Methods.accountUpdate, AccountUpdateParams(address: "bob@example.test", forwardTo: "bob@remote.test", forwardKeepCopy: true))
        let c = try await h.connect(h.mxPort)
        _ = try await c.command("EHLO client.test")
        #expect(try await c.command("MAIL FROM:<carol@remote.test>").hasPrefix("250"))
        #expect(try await c.command("RCPT TO:<alice@example.test>").hasPrefix("250"))
        #expect(try await c.command("RCPT TO:<bob@example.test>").hasPrefix("250"))
        #expect(try await c.command("DATA").hasPrefix("354"))
        #expect(try await c.command("Subject: both\r\n\r\nhi\r\n.").hasPrefix("250 2.0.0 OK: queued as "))
        _ = try await c.command("QUIT")
        #expect(try await h.inbox("bob@example.test").count == 1)
        await h.close()
    }

    @Test func pipelinedTransactionsAndNullSender() async throws {
        let h = try await SMTPHarness()
        let c = try await h.connect(h.mxPort)
        _ = try await c.command("EHLO client.test")
        try await c.send(
            "MAIL FROM:<>\r\nRCPT TO:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
                + "Subject: bounce\r\n\r\nbody\r\n.\r\nRSET\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<bob@example.test>\r\n"
                + "BDAT 14 LAST\r\nSubject: b\r\n\r\n")
        var codes: [String] = []
        for _ in 0..<9 { codes.append(String(try await c.readReply().prefix(3))) }
        #expect(codes == ["250", "250", "250", "354", "250", "250", "250", "250", "250"])
        #expect(try await h.inbox("alice@example.test").count == 1)
        let bob = try await h.inbox("bob@example.test")
        #expect(bob.count == 2)
        #expect(Self.split(bob[0]).returnPath == "Return-Path: <>\r\n")
        #expect(Self.split(bob[1]).rest == "Subject: b\r\n\r\n")
        #expect(Self.split(bob[1]).received.contains("for <bob@example.test>"))
        await h.close()
    }

    @Test func largeMessageStreamsInChunks() async throws {
        let h = try await SMTPHarness { $0.uploadChunkBytes = 64 << 10 }
        let c = try await h.connect(h.mxPort)
        _ = try await c.command("EHLO client.test")
        _ = try await c.command("MAIL FROM:<carol@remote.test>")
        _ = try await c.command("RCPT TO:<alice@example.test>")
        #expect(try await c.command("DATA").hasPrefix("354"))
        var body = "Subject: big\r\n\r\n"
        for n in 0..<20_000 { body += "line \(n) of a long message, with some padding to make it longer\r\n" }
        try await c.send(body)
        #expect(try await c.command(".").hasPrefix("250 2.0.0"))
        let stored = try await h.inbox("alice@example.test")
        #expect(stored.count == 1 && Self.split(stored[0]).rest == body)
        await h.close()
    }

    @Test func submissionNeedsAuthAndOwnSenderAndAddsHeaders() async throws {
        let h = try await SMTPHarness()
        let c = try await h.connect(h.submissionPort)
        let ehlo = try await c.command("EHLO laptop.test")
        #expect(ehlo.contains("AUTH PLAIN LOGIN CRAM-MD5"))  // loopback may use plaintext
        #expect(try await c.command("MAIL FROM:<alice@example.test>").hasPrefix("530 5.7.0"))
        // \0alice@example.test\0wrong
        let wrong = Data("\u{0}alice@example.test\u{0}wrong".utf8).base64EncodedString()
        #expect(try await c.command("AUTH PLAIN \(wrong)").hasPrefix("535 5.7.8"))
        let right = Data("\u{0}alice@example.test\u{0}alice-pw".utf8).base64EncodedString()
        #expect(try await c.command("AUTH PLAIN \(right)").hasPrefix("235 2.7.0"))
        #expect(try await c.command("MAIL FROM:<bob@example.test>").hasPrefix("553 5.7.1"))
        #expect(try await c.command("MAIL FROM:<Alice+lists@EXAMPLE.test>").hasPrefix("250"))
        #expect(try await c.command("RCPT TO:<bob@example.test>").hasPrefix("250"))
        #expect(try await c.command("RCPT TO:<friend@remote.test>").hasPrefix("250"))
        #expect(try await c.command("DATA").hasPrefix("354"))
        #expect(try await c.command("Subject: hi\r\n\r\nhello\r\n.").hasPrefix("250"))
        let stored = try await h.inbox("bob@example.test")
        let rest = Self.split(stored[0]).rest
        #expect(
            rest.hasPrefix("Date: ") && rest.contains("\r\nMessage-ID: <") && rest.hasSuffix("@mx.test>\r\nSubject: hi\r\n\r\nhello\r\n"))
        #expect(Self.split(stored[0]).received.contains("with ESMTPA id"))
        #expect(Self.split(stored[0]).received.contains("\r\n\t(Authenticated sender: alice@example.test)\r\n\tby mx.test "))
        await h.close()
    }

    @Test func scramSHA256ThroughTheBackEnd() async throws {
        let h = try await SMTPHarness()
        let c = try await h.connect(h.submissionPort)
        #expect(try await c.command("EHLO laptop.test").contains("SCRAM-SHA-256"))
        var scram = SCRAMClient(user: "alice@example.test", password: "alice-pw")
        let first = try await c.command("AUTH SCRAM-SHA-256 " + Data(scram.clientFirst.utf8).base64EncodedString())
        #expect(first.hasPrefix("334 "))
        let serverFirst = String(decoding: Data(base64Encoded: String(first.dropFirst(4))) ?? Data(), as: UTF8.self)
        let computed = scram.clientFinal(serverFirst: serverFirst)
        let final = try #require(computed)
        let last = try await c.command(Data(final.utf8).base64EncodedString())
        #expect(last.hasPrefix("334 "))
        let serverFinal = String(decoding: Data(base64Encoded: String(last.dropFirst(4))) ?? Data(), as: UTF8.self)
        #expect(serverFinal == scram.expectedServerSignature)
        #expect(try await c.command("").hasPrefix("235 2.7.0"))
        #expect(try await c.command("MAIL FROM:<alice@example.test>").hasPrefix("250"))

        let d = try await h.connect(h.submissionPort)
        _ = try await d.command("EHLO laptop.test")
        var wrong = SCRAMClient(user: "alice@example.test", password: "not-it")
        let challenge = try await d.command("AUTH SCRAM-SHA-256 " + Data(wrong.clientFirst.utf8).base64EncodedString())
        let text = String(decoding: Data(base64Encoded: String(challenge.dropFirst(4))) ?? Data(), as: UTF8.self)
        let computedProof = wrong.clientFinal(serverFirst: text)
        let proof = try #require(computedProof)
        #expect(try await d.command(Data(proof.utf8).base64EncodedString()).hasPrefix("535 5.7.8"))
        await h.close()
    }

    /// A full disk (`storage_full`, Protocol §5) is 452 4.3.1 wherever the back-end reports it:
    /// at RCPT as `delivery.check`'s error or as its outcome; after the dot as the error of
    /// `delivery.submit`, or of `delivery.begin`, `upload.append` or `upload.commit` for a
    /// message streamed in chunks, or as every recipient's outcome; after BDAT LAST. Once the
    /// disk has room the same connection delivers again, and only that message is stored.
    @Test func aFullDiskIs452WhereverTheBackEndSaysSo() async throws {
        let h = try await SMTPHarness(faults: true) { $0.uploadChunkBytes = 4096 }
        let proxy = try #require(h.proxy)
        let full = RPCError(.storageFull, "no space left on device", temporary: true)
        let refused = "452 4.3.1 Insufficient system storage"
        let c = try await h.connect(h.mxPort)
        _ = try await c.command("EHLO client.test")
        #expect(try await c.command("MAIL FROM:<carol@remote.test>").hasPrefix("250"))

        proxy.fail(Methods.deliveryCheck.name, with: full)
        #expect(try await c.command("RCPT TO:<alice@example.test>") == refused)
        try proxy.answer(
            Methods.deliveryCheck,
            with: RPCProtocol.RecipientOutcome(
                recipient: "alice@example.test", status: .failed, kind: "storage_full", message: "disk nearly full", temporary: true))
        #expect(try await c.command("RCPT TO:<alice@example.test>") == refused)
        proxy.passThrough(Methods.deliveryCheck.name)

        proxy.fail(Methods.deliverySubmit.name, with: full)
        #expect(try await c.command("RCPT TO:<alice@example.test>").hasPrefix("250"))
        #expect(try await c.command("DATA").hasPrefix("354"))
        #expect(try await c.command("Subject: small\r\n\r\nbody\r\n.") == refused)

        // A message in several chunks: the disk fills when its staged file is made, while it
        // is written, or at the commit.
        for method in [Methods.deliveryBegin.name, Methods.uploadAppend.name, Methods.uploadCommit.name] {
            proxy.fail(method, with: full)
            _ = try await c.command("MAIL FROM:<carol@remote.test>")
            _ = try await c.command("RCPT TO:<alice@example.test>")
            #expect(try await c.command("DATA").hasPrefix("354"))
            try await c.send("Subject: large\r\n\r\n" + String(repeating: "a line of a message in several chunks\r\n", count: 400))
            #expect(try await c.command(".") == refused, "\(method)")
            proxy.passThrough(method)
        }

        let everyoneFull = UploadCommitResult(
            size: 0, sha256: "",
            recipients: ["alice@example.test", "bob@example.test"].map {
                RPCProtocol.RecipientOutcome(recipient: $0, status: .failed, kind: "storage_full", message: "no space", temporary: true)
            })
        try proxy.answer(Methods.deliverySubmit, with: everyoneFull)
        _ = try await c.command("MAIL FROM:<carol@remote.test>")
        _ = try await c.command("RCPT TO:<alice@example.test>")
        _ = try await c.command("RCPT TO:<bob@example.test>")
        #expect(try await c.command("DATA").hasPrefix("354"))
        #expect(try await c.command("Subject: both\r\n\r\nbody\r\n.") == refused)

        proxy.fail(Methods.deliverySubmit.name, with: full)
        _ = try await c.command("MAIL FROM:<carol@remote.test>")
        _ = try await c.command("RCPT TO:<alice@example.test>")
        try await c.send("BDAT 14 LAST\r\nSubject: b\r\n\r\n")
        #expect(try await c.readReply() == refused)

        proxy.passThrough(Methods.deliverySubmit.name)
        _ = try await c.command("MAIL FROM:<carol@remote.test>")
        _ = try await c.command("RCPT TO:<alice@example.test>")
        #expect(try await c.command("DATA").hasPrefix("354"))
        #expect(try await c.command("Subject: room again\r\n\r\nbody\r\n.").hasPrefix("250 2.0.0"))
        let stored = try await h.inbox("alice@example.test")
        #expect(stored.map { Self.split($0).rest } == ["Subject: room again\r\n\r\nbody\r\n"])
        #expect(try await h.inbox("bob@example.test").isEmpty)
        await c.close()
        await h.close()
    }

    @Test func trustedNetworkMayRelayAndPerConnectionRecipientLimit() async throws {
        let h = try await SMTPHarness {
            $0.trustedNetworks = [NetworkRange("127.0.0.0/8")!]
            $0.maximumRecipientsPerConnection = 2
        }
        let c = try await h.connect(h.mxPort)
        _ = try await c.command("HELO client.test")
        _ = try await c.command("MAIL FROM:<carol@example.test>")
        #expect(try await c.command("RCPT TO:<someone@remote.test>").hasPrefix("250"))
        #expect(try await c.command("RCPT TO:<alice@example.test>").hasPrefix("250"))
        #expect(try await c.command("RCPT TO:<bob@example.test>").hasPrefix("452 4.5.3"))
        await c.close()
        await h.close()
    }
}
