import Foundation
import JSONCodec
import LoftTestSupport
import MailCore
import MailMessage
import RPCProtocol
import RPCTransport
import Testing

@testable import Backend

/// What an IMAP gateway's SELECT, sequence-number map and FETCH pages need from the back-end
/// (issue 9 part 5): `mailbox.select`, `message.uids`, `message.list`'s `fields` and byte
/// budget, and `message.flags` in silent mode.
@Suite(.timeLimit(.minutes(3))) struct SelectTests {
    static func harness() async throws -> (BackendHarness, String) {
        let h = try await BackendHarness()
        try await h.addTestAccounts()
        return (h, try await h.session("alice@example.test"))
    }

    /// Stores `text` in `mailbox` as IMAP APPEND would (no Return-Path prefix); its UID.
    @discardableResult
    static func append(
        _ h: BackendHarness, _ session: String, _ text: [UInt8], mailbox: String = "INBOX", flags: MessageFlags? = nil
    ) async throws -> UInt32 {
        let started = try await h.gateway.call(Methods.messageAppend, MessageAppendParams(session: session, mailbox: mailbox, flags: flags))
        _ = try await h.gateway.call(Methods.uploadAppend, UploadAppendParams(upload: started.upload, data: Base64Data(text)))
        return try #require(try await h.gateway.call(Methods.uploadCommit, UploadParams(upload: started.upload)).uid)
    }

    /// Doubles the mailbox's messages `times` times by copying them all into it again.
    static func double(_ h: BackendHarness, _ session: String, times: Int, mailbox: String = "INBOX") async throws {
        for _ in 0..<times {
            _ = try await h.gateway.call(
                Methods.messageCopy, MessageCopyParams(session: session, mailbox: mailbox, uids: .all, to: mailbox))
        }
    }

    static func select(_ h: BackendHarness, _ session: String, readOnly: Bool? = nil) async throws -> MailboxSelectResult {
        try await h.gateway.call(Methods.mailboxSelect, MailboxSelectParams(session: session, mailbox: "INBOX", readOnly: readOnly))
    }

    @Test func selectClaimsRecentOnceAndExamineClaimsNothing() async throws {
        let (h, session) = try await Self.harness()
        let empty = try await Self.select(h, session)
        #expect(empty.status.messages == 0 && empty.uids == nil && empty.recentUids == nil && empty.firstUnseenUid == nil)
        #expect(empty.keywords.isEmpty && empty.nextAfterUid == nil)

        for n in 1...3 { try await h.deliver(Array("Subject: \(n)\r\n\r\nbody\r\n".utf8)) }
        _ = try await h.gateway.call(
            Methods.messageFlags,
            MessageFlagsParams(
                session: session, mailbox: "INBOX", uids: try #require(UIDSet("1")), operation: .add,
                flags: MessageFlags(system: .seen, keywords: ["$Forwarded"])))
        let examined = try await Self.select(h, session, readOnly: true)
        #expect(examined.recentUids?.description == "1:3" && examined.status.recent == 3)
        #expect(examined.keywords == ["$Forwarded"] && examined.firstUnseenUid == 2)
        #expect(examined.uids?.description == "1:3" && examined.status.messages == 3 && examined.status.unseen == 2)
        #expect(try await Self.select(h, session, readOnly: true).recentUids?.description == "1:3", "EXAMINE claims nothing")

        let selected = try await Self.select(h, session)
        #expect(selected.recentUids?.description == "1:3" && selected.status.recent == 3)
        let again = try await Self.select(h, session)
        #expect(again.recentUids == nil && again.status.recent == 0, "the second SELECT sees none recent")
        #expect(again.uids?.description == "1:3" && again.status.uidNext == 4)
        let status = try await h.gateway.call(Methods.mailboxStatus, MailboxStatusParams(session: session, mailbox: "INBOX"))
        #expect(status.recent == 0)

        try await h.deliver(Array("Subject: 4\r\n\r\nbody\r\n".utf8))
        #expect(try await Self.select(h, session, readOnly: true).recentUids?.description == "4")
        #expect(try await Self.select(h, session).recentUids?.description == "4")
        #expect(try await Self.select(h, session).recentUids == nil)

        do {
            _ = try await h.gateway.call(Methods.mailboxSelect, MailboxSelectParams(session: session, mailbox: "Nope"))
            Issue.record("selected a mailbox that does not exist")
        } catch {
            #expect(error.is(.noSuchMailbox))
        }
        await h.close()
    }

    /// 2^15 messages with every other one expunged: 16,384 ranges, two pages, the first of
    /// exactly `UIDSet.maxRanges`.
    @Test func uidsPageAtTheRangeLimit() async throws {
        let (h, session) = try await Self.harness()
        try await h.deliver(Array("Subject: one\r\n\r\nbody\r\n".utf8))
        try await Self.double(h, session, times: 15)
        let total: UInt32 = 1 << 15
        let whole = try await h.gateway.call(Methods.messageUids, MessageUidsParams(session: session, mailbox: "INBOX"))
        #expect(whole.uids?.description == "1:\(total)" && whole.nextAfterUid == nil && whole.uidNext == total + 1)

        let even = Array(stride(from: 2, through: total, by: 2))
        for start in stride(from: 0, to: even.count, by: UIDSet.maxRanges) {
            _ = try await h.gateway.call(
                Methods.messageExpunge,
                MessageExpungeParams(
                    session: session, mailbox: "INBOX", uids: UIDSet(even[start..<min(start + UIDSet.maxRanges, even.count)]),
                    regardlessOfFlags: true))
        }
        var pages: [MessageUidsResult] = []
        var after: UInt32?
        repeat {
            let page = try await h.gateway.call(Methods.messageUids, MessageUidsParams(session: session, mailbox: "INBOX", afterUid: after))
            pages.append(page)
            after = page.nextAfterUid
        } while after != nil
        #expect(pages.count == 2)
        #expect(pages[0].uids?.ranges.count == UIDSet.maxRanges && pages[0].nextAfterUid == UInt32(2 * UIDSet.maxRanges - 1))
        let all = pages.flatMap { $0.uids.map { $0.ranges(largest: total).flatMap { Array($0) } } ?? [] }
        #expect(all == Array(stride(from: 1, through: total, by: 2)))
        #expect(pages.allSatisfy { $0.uidNext == total + 1 })

        // SELECT gives the same first page and the same continuation.
        let selected = try await Self.select(h, session, readOnly: true)
        #expect(selected.uids == pages[0].uids && selected.nextAfterUid == pages[0].nextAfterUid)
        await h.close()
    }

    /// A multipart message with `parts` parts: a large structure.
    static func manyParts(_ parts: Int) -> [UInt8] {
        var text = "From: Ann <ann@example.test>\r\nTo: bob@example.test\r\nSubject: =?utf-8?q?gro=C3=9F?=\r\n"
        text += "Date: Tue, 1 Dec 2026 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
        for n in 0..<parts {
            text += "--b\r\nContent-Type: text/plain; charset=utf-8; name=\"part-\(n).txt\"\r\n"
            text += "Content-Disposition: attachment; filename=\"part-\(n).txt\"\r\nContent-ID: <p\(n)@example.test>\r\n\r\npart \(n)\r\n"
        }
        return Array((text + "--b--\r\n").utf8)
    }

    /// 5,096 messages whose structures take about 30 KB each (150 MB as one page): a page asked
    /// for 5,000 of them stops at the budget, far below the line limit, and paging goes on from
    /// there.
    @Test func listPagesStayWithinTheByteBudget() async throws {
        let (h, session) = try await Self.harness()
        try await Self.append(h, session, Self.manyParts(100))
        try await Self.double(h, session, times: 12)
        _ = try await h.gateway.call(
            Methods.messageCopy, MessageCopyParams(session: session, mailbox: "INBOX", uids: UIDSet("1:1000")!, to: "INBOX"))
        let page = try await h.gateway.call(
            Methods.messageList, MessageListParams(session: session, mailbox: "INBOX", withStructure: true, limit: 5000))
        // The page as the back-end writes it on the wire.
        let encoded = page.jsonBytes
        #expect(!page.messages.isEmpty && page.messages.count < 5000)
        #expect(encoded.count <= Backend.maxListBytes + 200, "the page is \(encoded.count) bytes")
        #expect(encoded.count > Backend.maxListBytes / 2, "the page uses its budget")
        #expect(page.nextAfterUid == page.messages.last?.uid)
        let structure = try #require(page.messages.first?.structure)
        #expect(structure.bytes.count > 20_000)
        #expect(page.messages.allSatisfy { $0.structure == structure && $0.envelope == nil })

        let next = try await h.gateway.call(
            Methods.messageList,
            MessageListParams(session: session, mailbox: "INBOX", limit: 5000, afterUid: page.nextAfterUid, fields: ["structure"]))
        #expect(next.messages.first?.uid == (page.nextAfterUid ?? 0) + 1)
        #expect(next.messages.count == page.messages.count)

        // A smaller budget, and one smaller than a single message, which still gives one.
        let small = try await h.gateway.call(
            Methods.messageList, MessageListParams(session: session, mailbox: "INBOX", withStructure: true, maxBytes: 100_000))
        let smallBytes = try JSONEncoder().encode(small).count
        #expect(small.messages.count >= 2 && smallBytes <= 100_000 + 200)
        let one = try await h.gateway.call(
            Methods.messageList, MessageListParams(session: session, mailbox: "INBOX", withStructure: true, maxBytes: 10))
        #expect(one.messages.count == 1 && one.nextAfterUid == 1)

        // Envelopes alone are small: all 5,096 in two pages of the default limit.
        var uids: [UInt32] = []
        var after: UInt32?
        repeat {
            let envelopes = try await h.gateway.call(
                Methods.messageList, MessageListParams(session: session, mailbox: "INBOX", afterUid: after, fields: ["envelope"]))
            #expect(envelopes.messages.allSatisfy { $0.structure == nil && $0.envelope != nil })
            uids += envelopes.messages.map(\.uid)
            after = envelopes.nextAfterUid
        } while after != nil
        #expect(uids == Array(1...5096))
        await h.close()
    }

    @Test func envelopeFieldIsTheEnvelopeAlone() async throws {
        let (h, session) = try await Self.harness()
        let bytes = Self.manyParts(2)
        try await h.deliver(bytes)
        let listed = try await h.gateway.call(
            Methods.messageList, MessageListParams(session: session, mailbox: "INBOX", fields: ["envelope", "unknown-is-ignored"]))
        let summary = try #require(listed.messages.first)
        #expect(summary.structure == nil)
        let envelope = try JSONDecoder().decode(Envelope.self, from: Data(try #require(summary.envelope).bytes))
        #expect(envelope == MessageParser.parse(bytes).envelope)
        #expect(envelope.decodedSubject == "groß" && envelope.from.first?.mailbox == "ann")

        let both = try await h.gateway.call(
            Methods.messageList, MessageListParams(session: session, mailbox: "INBOX", fields: ["envelope", "structure"]))
        let parsed = try JSONDecoder().decode(ParsedMessage.self, from: Data(try #require(both.messages.first?.structure).bytes))
        #expect(parsed.envelope == envelope)
        #expect(both.messages.first?.envelope == summary.envelope)
        await h.close()
    }

    @Test func silentFlagsChangeAndNotifyButAnswerShort() async throws {
        let (h, session) = try await Self.harness()
        for n in 1...3 { try await h.deliver(Array("Subject: \(n)\r\n\r\nbody\r\n".utf8)) }
        let received = Received()
        let watcher = RPCClient(path: h.dir + "/gateway.sock", software: "watcher", onNotification: received.handler)
        _ = try await watcher.call(Methods.eventsSubscribe, EventsSubscribeParams(session: session, mailbox: "INBOX"))
        let silent = try await h.gateway.call(
            Methods.messageFlags,
            MessageFlagsParams(
                session: session, mailbox: "INBOX", uids: .all, operation: .add, flags: MessageFlags(system: .flagged), silent: true))
        #expect(silent.updated.isEmpty && silent.skipped.isEmpty)
        let listed = try await h.gateway.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX"))
        #expect(listed.messages.allSatisfy { $0.flags.system.contains(.flagged) })
        let events = try await received.wait { $0.contains { $0.kind == .flagsChanged } }.map(\.event)
        #expect(events.first { $0.kind == .flagsChanged }?.uids == [1, 2, 3])
        let loud = try await h.gateway.call(
            Methods.messageFlags,
            MessageFlagsParams(session: session, mailbox: "INBOX", uids: .all, operation: .remove, flags: MessageFlags(system: .flagged)))
        #expect(loud.updated.map(\.uid) == [1, 2, 3])
        await watcher.close()
        await h.close()
    }
}
