import Foundation
import LoftTestSupport
import MailCore
import RPCProtocol
import Testing

@testable import POP3Gateway

/// Transcripts against the real gateway and an in-process back-end over their sockets.
@Suite(.serialized, .timeLimit(.minutes(1))) struct POP3GatewayTests {
    static let returnPath = "Return-Path: <s@remote.test>\r\n"

    func login(_ client: POP3TestClient, user: String = "alice@example.test", password: String = "alice-pw") async throws {
        #expect(try await client.command("USER \(user)").hasPrefix("+OK"))
        let reply = try await client.command("PASS \(password)")
        #expect(reply.hasPrefix("+OK"), "\(reply)")
    }

    @Test func retrieveIsByteExactWithDotStuffing() async throws {
        let h = try await POP3Harness()
        let message = "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nlast\r\n"
        try await h.deliver(message)
        try await h.deliver("Subject: second\r\n\r\nbody\r\n")
        let c = try await h.connect()
        let greeting = try await c.readLine() ?? ""
        #expect(greeting.hasPrefix("+OK") && greeting.hasSuffix("@pop.test>"))
        try await login(c)
        let size = (Self.returnPath + message).utf8.count
        let secondSize = (Self.returnPath + "Subject: second\r\n\r\nbody\r\n").utf8.count
        #expect(try await c.command("STAT") == "+OK 2 \(size + secondSize)")
        #expect(try await c.command("LIST").hasPrefix("+OK"))
        #expect(try await c.readMultiLineBody() == Array("1 \(size)\r\n2 \(secondSize)\r\n".utf8))
        #expect(try await c.command("RETR 1") == "+OK \(size) octets")
        #expect(try await c.readMultiLineBody() == Array((Self.returnPath + message).utf8))
        #expect(try await c.command("TOP 1 1").hasPrefix("+OK"))
        #expect(try await c.readMultiLineBody() == Array((Self.returnPath + "Subject: dots\r\n\r\n.leading dot\r\n").utf8))
        #expect(try await c.command("UIDL").hasPrefix("+OK"))
        let uidl = String(decoding: try await c.readMultiLineBody(), as: UTF8.self)
        let ids = uidl.split(separator: "\r\n").map { $0.split(separator: " ")[1] }
        #expect(ids.count == 2 && ids[0] != ids[1])
        #expect(try await c.command("QUIT").hasPrefix("+OK"))
        #expect(try await c.isClosed())

        // The same ids in the next session.
        let again = try await h.connect()
        _ = try await again.readLine()
        try await login(again)
        #expect(try await again.command("UIDL 2") == "+OK 2 \(ids[1])")
        _ = try await again.command("QUIT")
        await h.close()
    }

    @Test func quitCommitsDeletionsAndADroppedConnectionDoesNot() async throws {
        let h = try await POP3Harness()
        for n in 1...3 { try await h.deliver("Subject: \(n)\r\n\r\nbody\r\n") }
        let dropped = try await h.connect()
        _ = try await dropped.readLine()
        try await login(dropped)
        #expect(try await dropped.command("DELE 1").hasPrefix("+OK"))
        await dropped.close()

        // The lock goes with the connection; retry until the gateway has noticed.
        var c = try await h.connect()
        _ = try await c.readLine()
        for _ in 0..<50 {
            #expect(try await c.command("USER alice@example.test").hasPrefix("+OK"))
            let reply = try await c.command("PASS alice-pw")
            if reply.hasPrefix("+OK") { break }
            #expect(reply.hasPrefix("-ERR [IN-USE]"))
            try await Task.sleep(nanoseconds: 50_000_000)
            c = try await h.connect()
            _ = try await c.readLine()
        }
        #expect(try await c.command("STAT").hasPrefix("+OK 3 "))
        #expect(try await c.command("DELE 1").hasPrefix("+OK"))
        #expect(try await c.command("DELE 3").hasPrefix("+OK"))
        #expect(try await c.command("RETR 1").hasPrefix("-ERR"))
        #expect(try await c.command("RSET").hasPrefix("+OK maildrop has 3"))
        #expect(try await c.command("DELE 1").hasPrefix("+OK"))
        #expect(try await c.command("DELE 3").hasPrefix("+OK"))
        #expect(try await c.command("QUIT") == "+OK Loft POP3 server signing off (1 messages left)")

        let after = try await h.connect()
        _ = try await after.readLine()
        try await login(after)
        #expect(try await after.command("LIST").hasPrefix("+OK 1 messages"))
        let listing = String(decoding: try await after.readMultiLineBody(), as: UTF8.self)
        #expect(listing.hasPrefix("1 "))
        #expect(try await after.command("TOP 1 0").hasPrefix("+OK"))
        #expect(String(decoding: try await after.readMultiLineBody(), as: UTF8.self).contains("Subject: 2"))
        _ = try await after.command("QUIT")
        await h.close()
    }

    @Test func aSecondSessionIsRefusedWithInUse() async throws {
        let h = try await POP3Harness()
        let first = try await h.connect()
        _ = try await first.readLine()
        try await login(first)
        let second = try await h.connect()
        _ = try await second.readLine()
        _ = try await second.command("USER alice@example.test")
        #expect(try await second.command("PASS alice-pw").hasPrefix("-ERR [IN-USE]"))
        #expect(try await second.isClosed())
        _ = try await first.command("QUIT")
        await h.close()
    }

    @Test func apopAndCRAMMD5UseTheAPOPSecret() async throws {
        let h = try await POP3Harness()
        let c = try await h.connect()
        let greeting = try await c.readLine() ?? ""
        let timestamp = String(greeting[greeting.firstIndex(of: "<")!...])
        #expect(try await c.command("APOP bob@example.test \(apopDigest(timestamp: timestamp, secret: "bob-pw"))").hasPrefix("-ERR [AUTH]"))
        #expect(try await c.command("APOP bob@example.test \(apopDigest(timestamp: timestamp, secret: "bob-apop"))").hasPrefix("+OK"))
        _ = try await c.command("QUIT")

        let cram = try await h.connect()
        _ = try await cram.readLine()
        let challengeLine = try await cram.command("AUTH CRAM-MD5")
        #expect(challengeLine.hasPrefix("+ "))
        let challenge = String(decoding: Data(base64Encoded: String(challengeLine.dropFirst(2)))!, as: UTF8.self)
        let response = Data("bob@example.test \(cramDigest(challenge: challenge, secret: "bob-apop"))".utf8).base64EncodedString()
        #expect(try await cram.command(response).hasPrefix("+OK"))
        _ = try await cram.command("QUIT")

        // Alice has no APOP secret: APOP fails like a wrong password.
        let alice = try await h.connect()
        let aliceGreeting = try await alice.readLine() ?? ""
        let aliceStamp = String(aliceGreeting[aliceGreeting.firstIndex(of: "<")!...])
        let digest = apopDigest(timestamp: aliceStamp, secret: "alice-pw")
        #expect(try await alice.command("APOP alice@example.test \(digest)").hasPrefix("-ERR [AUTH]"))
        await h.close()
    }

    /// RFC 1939 §7: without the back-end there is no timestamp to offer, so the greeting has
    /// none and APOP is refused.
    @Test(.timeLimit(.minutes(1))) func greetingWithoutTheBackendHasNoTimestamp() async throws {
        let h = try await POP3Harness()
        await h.backend.shutdown()
        let c = try await h.connect()
        let greeting = try await c.readLine() ?? ""
        #expect(greeting.hasPrefix("+OK") && !greeting.contains("<"))
        #expect(try await c.command("APOP bob@example.test c4c9334bac560ecc979e58001b3e22fb").hasPrefix("-ERR"))
        _ = try await c.command("QUIT")
        await h.close()
    }

    /// Each connection's greeting carries a timestamp the back-end issued for it.
    @Test(.timeLimit(.minutes(1))) func greetingTimestampsComeFromTheBackend() async throws {
        let h = try await POP3Harness()
        var stamps: [String] = []
        for _ in 0..<2 {
            let c = try await h.connect()
            let greeting = try await c.readLine() ?? ""
            stamps.append(String(greeting[greeting.firstIndex(of: "<")!...]))
            _ = try await c.command("QUIT")
        }
        #expect(stamps[0] != stamps[1] && stamps.allSatisfy { $0.hasSuffix("@pop.test>") })
        // A timestamp the back-end issued for a greeting is good for one login, not two.
        let digest = apopDigest(timestamp: stamps[0], secret: "bob-apop")
        _ = try await h.delivery.call(Methods.authAPOP, APOPParams(username: "bob@example.test", timestamp: stamps[0], digest: digest))
        let replay = await #expect(throws: RPCError.self) {
            _ = try await h.delivery.call(Methods.authAPOP, APOPParams(username: "bob@example.test", timestamp: stamps[0], digest: digest))
        }
        #expect(replay?.is(.authFailed) == true)
        await h.close()
    }

    @Test func plainAndCapaOverImplicitTLS() async throws {
        let h = try await POP3Harness { $0.allowPlaintextOnLoopback = false }
        let plain = try await h.connect()
        _ = try await plain.readLine()
        #expect(try await plain.command("USER alice@example.test").hasPrefix("-ERR [AUTH]"))

        let tls = try await h.connect(port: h.implicitPort, tls: true)
        #expect((try await tls.readLine() ?? "").hasPrefix("+OK"))
        #expect(try await tls.command("CAPA").hasPrefix("+OK"))
        let capa = String(decoding: try await tls.readMultiLineBody(), as: UTF8.self)
        #expect(capa.contains("SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256") && capa.contains("USER") && !capa.contains("STLS"))
        let plainResponse = Data("\0alice@example.test\0alice-pw".utf8).base64EncodedString()
        #expect(try await tls.command("AUTH PLAIN \(plainResponse)").hasPrefix("+OK"))
        #expect(try await tls.command("STAT") == "+OK 0 0")
        _ = try await tls.command("QUIT")
        await h.close()
    }

    @Test func stlsDiscardsPipelinedCommandsThenAllowsUser() async throws {
        let h = try await POP3Harness { $0.allowPlaintextOnLoopback = false }
        let c = try await h.connect(port: h.stlsPort)
        _ = try await c.readLine()
        try await c.sendRaw("STLS\r\nUSER injected@example.test\r\n")
        #expect(try await c.readLine() == "+OK Begin TLS negotiation")
        try await c.startTLS()
        #expect(try await c.command("CAPA").hasPrefix("+OK"))
        let capa = String(decoding: try await c.readMultiLineBody(), as: UTF8.self)
        #expect(capa.contains("USER") && !capa.contains("STLS"))
        // Had the injected USER survived, PASS would be accepted without a USER of ours.
        #expect(try await c.command("PASS alice-pw").hasPrefix("-ERR"))
        try await login(c)
        _ = try await c.command("QUIT")
        await h.close()
    }

    @Test func failedLoginsAreAnsweredWithAuthCodes() async throws {
        let h = try await POP3Harness()
        let c = try await h.connect()
        _ = try await c.readLine()
        _ = try await c.command("USER alice@example.test")
        #expect(try await c.command("PASS wrong").hasPrefix("-ERR [AUTH]"))
        _ = try await c.command("USER nobody@example.test")
        #expect(try await c.command("PASS wrong").hasPrefix("-ERR [AUTH]"))
        await c.close()
        await h.close()
    }

    @Test func connectionLimitPerAddress() async throws {
        let h = try await POP3Harness { $0.maxConnectionsPerAddress = 2 }
        let a = try await h.connect()
        let b = try await h.connect()
        #expect((try await a.readLine() ?? "").hasPrefix("+OK"))
        #expect((try await b.readLine() ?? "").hasPrefix("+OK"))
        let refused = try await h.connect()
        #expect((try await refused.readLine() ?? "").hasPrefix("-ERR [SYS/TEMP]"))
        #expect(try await refused.isClosed())
        await a.close()
        await b.close()
        await h.close()
    }

    /// Messages of many sizes around the read-ahead and chunk sizes, read in order one command
    /// at a time, pipelined, with TOP and DELE in between: every body is byte-exact, whether it
    /// came from a read-ahead that was done, one still in flight, or none.
    @Test func sequentialRetrievalsAreByteExact() async throws {
        let h = try await POP3Harness {
            $0.prefetchMessages = 3
            $0.prefetchBytes = 1500
            $0.readChunkBytes = 2048
        }
        var messages: [String] = []
        for n in 1...9 {
            var body = ""
            for line in 0..<(n * n * 4) { body += (line % 5 == 0 ? "." : "") + "message \(n) line \(line)\r\n" }
            messages.append(Self.returnPath + "Subject: \(n)\r\n\r\n" + body)
            try await h.deliver("Subject: \(n)\r\n\r\n" + body)
        }
        let c = try await h.connect()
        _ = try await c.readLine()
        try await login(c)
        for n in 1...3 {
            #expect(try await c.command("RETR \(n)") == "+OK \(messages[n - 1].utf8.count) octets")
            #expect(try await c.readMultiLineBody() == Array(messages[n - 1].utf8), "RETR \(n)")
        }
        // The read-ahead of 4 is dropped: 5 is asked for instead, and 4 is marked deleted.
        #expect(try await c.command("DELE 4").hasPrefix("+OK"))
        #expect(try await c.command("TOP 5 2").hasPrefix("+OK"))
        let top = messages[4].components(separatedBy: "\r\n").prefix(5).joined(separator: "\r\n") + "\r\n"
        #expect(try await c.readMultiLineBody() == Array(top.utf8))
        // Pipelined (RFC 2449 §6.6): each RETR arrives while the previous one is answered.
        try await c.sendRaw("RETR 5\r\nRETR 6\r\nRETR 7\r\nRETR 4\r\nRETR 8\r\nRETR 9\r\nRETR 1\r\n")
        for n in [5, 6, 7, 4, 8, 9, 1] {
            let status = try await c.readLine() ?? "<EOF>"
            if n == 4 {
                #expect(status == "-ERR message 4 already deleted")
                continue
            }
            #expect(status == "+OK \(messages[n - 1].utf8.count) octets")
            #expect(try await c.readMultiLineBody() == Array(messages[n - 1].utf8), "RETR \(n)")
        }
        #expect(try await c.command("RSET").hasPrefix("+OK"))
        #expect(try await c.command("RETR 4").hasPrefix("+OK"))
        #expect(try await c.readMultiLineBody() == Array(messages[3].utf8))
        #expect(try await c.command("QUIT").hasPrefix("+OK"))
        await h.close()
    }

    /// Another client expunges message 2 while a POP3 session has it in its snapshot: whether the
    /// read-ahead of 2 ran before the expunge (content from it) or after (the read fails), RETR 2
    /// gets either the exact content or `-ERR`, and the session goes on.
    @Test func aMessageExpungedMeanwhileYieldsErrOrExactContent() async throws {
        let h = try await POP3Harness()
        let messages = (1...3).map { "Subject: \($0)\r\n\r\nbody \($0)\r\n" }
        for message in messages { try await h.deliver(message) }
        let c = try await h.connect()
        _ = try await c.readLine()
        try await login(c)
        let uidl = try await c.command("UIDL 2")
        let uid = try #require(UInt32(uidl.split(separator: ".").last ?? ""))
        let other = try await h.delivery.call(
            Methods.authLogin, LoginParams(username: "alice@example.test", password: "alice-pw", service: "imap"))

        func expunge() async throws {
            _ = try await h.delivery.call(
                Methods.messageExpunge,
                MessageExpungeParams(session: other.session, mailbox: "INBOX", uids: UIDSet([uid]), regardlessOfFlags: true))
        }

        // Expunged after RETR 1 started reading 2 ahead: content or -ERR, never anything else.
        #expect(try await c.command("RETR 1") == "+OK \((Self.returnPath + messages[0]).utf8.count) octets")
        #expect(try await c.readMultiLineBody() == Array((Self.returnPath + messages[0]).utf8))
        try await expunge()
        let status = try await c.command("RETR 2")
        if status.hasPrefix("+OK") {
            #expect(try await c.readMultiLineBody() == Array((Self.returnPath + messages[1]).utf8))
        } else {
            #expect(status == "-ERR [SYS/TEMP] unable to read message")
        }
        #expect(try await c.command("RETR 3").hasPrefix("+OK"))
        #expect(try await c.readMultiLineBody() == Array((Self.returnPath + messages[2]).utf8))

        // Expunged before RETR 1: the read-ahead of 2 fails, so does the real read, and RETR 2
        // gets -ERR; pipelined, the failed read-ahead may still be in flight when RETR 2 comes.
        try await c.sendRaw("RETR 1\r\nRETR 2\r\nRETR 3\r\nNOOP\r\n")
        #expect(try await c.readLine() == "+OK \((Self.returnPath + messages[0]).utf8.count) octets")
        #expect(try await c.readMultiLineBody() == Array((Self.returnPath + messages[0]).utf8))
        #expect(try await c.readLine() == "-ERR [SYS/TEMP] unable to read message")
        #expect(try await c.readLine()?.hasPrefix("+OK") == true)
        #expect(try await c.readMultiLineBody() == Array((Self.returnPath + messages[2]).utf8))
        #expect(try await c.readLine() == "+OK")
        // One at a time: the failed read-ahead has most likely finished when RETR 2 comes.
        #expect(try await c.command("RETR 1").hasPrefix("+OK"))
        #expect(try await c.readMultiLineBody() == Array((Self.returnPath + messages[0]).utf8))
        #expect(try await c.command("RETR 2") == "-ERR [SYS/TEMP] unable to read message")
        #expect(try await c.command("QUIT") == "+OK Loft POP3 server signing off (3 messages left)")
        await h.close()
    }

    /// A full disk (`storage_full`, Protocol §5) at the expunge of QUIT is `-ERR [SYS/TEMP]`
    /// (RFC 1939 §6, RFC 3206 §4): the lock is released before the answer and every message is
    /// still there for the next session, which deletes them once the disk has room.
    @Test func aFullDiskAtQuitIsSysTempAndKeepsEveryMessage() async throws {
        let h = try await POP3Harness(faults: true)
        let proxy = try #require(h.proxy)
        for n in 1...3 { try await h.deliver("Subject: \(n)\r\n\r\nbody\r\n") }
        proxy.fail(Methods.messageExpunge.name, with: RPCError(.storageFull, "no space left on device", temporary: true))
        let c = try await h.connect()
        _ = try await c.readLine()
        try await login(c)
        #expect(try await c.command("DELE 1").hasPrefix("+OK"))
        #expect(try await c.command("DELE 3").hasPrefix("+OK"))
        #expect(try await c.command("QUIT") == "-ERR [SYS/TEMP] some deleted messages not removed")
        #expect(try await c.isClosed())

        proxy.passThrough(Methods.messageExpunge.name)
        let again = try await h.connect()
        _ = try await again.readLine()
        try await login(again)
        #expect(try await again.command("STAT").hasPrefix("+OK 3 "))
        #expect(try await again.command("DELE 1").hasPrefix("+OK"))
        #expect(try await again.command("DELE 3").hasPrefix("+OK"))
        #expect(try await again.command("QUIT") == "+OK Loft POP3 server signing off (1 messages left)")
        #expect(try await h.base.inbox("alice@example.test").count == 1)
        await h.close()
    }

    /// `storage_full` from any other call is `-ERR [SYS/TEMP]` too: at PASS from the login (the
    /// client may try again) or the lock (the connection is closed, as RFC 1939 §4 allows), at
    /// RETR from the read (the session goes on).
    @Test func aFullDiskElsewhereIsSysTemp() async throws {
        let h = try await POP3Harness(faults: true)
        let proxy = try #require(h.proxy)
        let full = RPCError(.storageFull, "no space left on device", temporary: true)
        try await h.deliver("Subject: 1\r\n\r\nbody\r\n")

        proxy.fail(Methods.authLogin.name, with: full)
        let c = try await h.connect()
        _ = try await c.readLine()
        _ = try await c.command("USER alice@example.test")
        #expect(try await c.command("PASS alice-pw") == "-ERR [SYS/TEMP] authentication temporarily unavailable")
        proxy.passThrough(Methods.authLogin.name)

        proxy.fail(Methods.lockAcquire.name, with: full)
        _ = try await c.command("USER alice@example.test")
        #expect(try await c.command("PASS alice-pw") == "-ERR [SYS/TEMP] unable to open maildrop")
        #expect(try await c.isClosed())
        proxy.passThrough(Methods.lockAcquire.name)

        for method in [Methods.messageRead.name, Methods.messageReadBatch.name] { proxy.fail(method, with: full) }
        let d = try await h.connect()
        _ = try await d.readLine()
        try await login(d)
        #expect(try await d.command("RETR 1") == "-ERR [SYS/TEMP] unable to read message")
        for method in [Methods.messageRead.name, Methods.messageReadBatch.name] { proxy.passThrough(method) }
        #expect(try await d.command("RETR 1").hasPrefix("+OK"))
        #expect(try await d.readMultiLineBody() == Array((Self.returnPath + "Subject: 1\r\n\r\nbody\r\n").utf8))
        #expect(try await d.command("QUIT").hasPrefix("+OK"))
        await h.close()
    }

    @Test func largeMessageIsStreamedInChunks() async throws {
        let h = try await POP3Harness { $0.readChunkBytes = 4096 }
        var body = ""
        for n in 0..<5000 { body += (n % 7 == 0 ? "." : "") + "line \(n) of a large message\r\n" }
        let message = "Subject: big\r\n\r\n" + body
        try await h.deliver(message)
        let c = try await h.connect()
        _ = try await c.readLine()
        try await login(c)
        #expect(try await c.command("RETR 1").hasPrefix("+OK"))
        #expect(try await c.readMultiLineBody() == Array((Self.returnPath + message).utf8))
        #expect(try await c.command("NOOP") == "+OK")
        _ = try await c.command("QUIT")
        await h.close()
    }
}
