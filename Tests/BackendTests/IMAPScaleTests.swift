import Foundation
import LoftTestSupport
import MailCore
import MailMessage
import RPCProtocol
import Storage
import Testing

@testable import Backend

#if canImport(Glibc)
    import Glibc
#endif

/// How the IMAP methods fare on a mailbox of 100,000 distinct messages: `message.uids`,
/// `mailbox.select`, header searches and `message.list` pages, timed through the RPC and
/// printed (STYLE: benchmarks report figures, tests do not assert them). Off by default
/// — filling the mailbox takes a while — run with `LOFT_SCALE_TESTS=1`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["LOFT_SCALE_TESTS"] != nil), .timeLimit(.minutes(20)))
struct IMAPScaleTests {
    static let count = Int(ProcessInfo.processInfo.environment["LOFT_SCALE_COUNT"] ?? "") ?? 100_000

    /// Message `n`: one in ten is a "report", senders from 100 addresses.
    static func message(_ n: Int) -> [UInt8] {
        let subject = n % 10 == 0 ? "Quarterly report \(n)" : "Lunch on day \(n)"
        let text = """
            Return-Path: <user\(n % 100)@example.org>\r
            Received: from mx.example.org by mail.example.test; Tue, 1 Dec 2026 10:00:00 +0000\r
            From: User \(n % 100) <user\(n % 100)@example.org>\r
            To: Alice <alice@example.test>\r
            Subject: \(subject)\r
            Date: Tue, 1 Dec 2026 10:00:00 +0000\r
            Message-ID: <\(n)@example.org>\r
            MIME-Version: 1.0\r
            Content-Type: text/plain; charset=utf-8\r
            \r
            Hello Alice, this is message number \(n) of the scale test.\r
            It has a second line, so that it looks like mail.\r

            """
        return Array(text.utf8)
    }

    /// Prints the wall time and the process's CPU time (the back-end runs in this process;
    /// CPU time is the steadier figure on a shared machine).
    static func time<T>(_ what: String, _ body: () async throws -> T) async rethrows -> T {
        func cpu() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        let start = ContinuousClock.now
        let cpuStart = cpu()
        let value = try await body()
        let wall = ContinuousClock.now - start
        print("SCALE \(what): \(String(format: "%.3f", cpu() - cpuStart)) s CPU, \(wall) wall")
        return value
    }

    @Test func hundredThousandMessages() async throws {
        let (h, session) = try await SelectTests.harness()
        let store = h.backend.store
        let alice = try #require(try store.account(address: "alice@example.test"))
        try await Self.time("store \(Self.count) messages") {
            for start in stride(from: 1, through: Self.count, by: 500) {
                let requests = (start..<min(start + 500, Self.count + 1)).map { n in
                    let bytes = Self.message(n)
                    let structure = String(decoding: try! JSONEncoder().encode(MessageParser.parse(bytes)), as: UTF8.self)
                    return StoreRequest(
                        body: .inMemory(bytes), structure: structure, internalDate: 1_796_000_000 + Int64(n),
                        placements: [
                            Placement(
                                accountID: alice.id, mailbox: "INBOX", flags: n % 3 == 0 ? MessageFlags(system: .seen) : MessageFlags())
                        ])
                }
                _ = try store.store(requests, now: nil)
            }
        }
        let g = h.gateway
        func uids(_ after: UInt32? = nil) async throws -> MessageUidsResult {
            try await g.call(Methods.messageUids, MessageUidsParams(session: session, mailbox: "INBOX", afterUid: after))
        }
        func search(_ query: SearchQuery) async throws -> MessageSearchResult {
            try await g.call(Methods.messageSearch, MessageSearchParams(session: session, mailbox: "INBOX", query: query))
        }
        _ = try await uids()  // warm the page cache
        let all = try await Self.time("message.uids, 100,000 without gaps") { try await uids() }
        #expect(all.uids?.description == "1:\(Self.count)")
        let selected = try await Self.time("mailbox.select, 100,000") {
            try await g.call(Methods.mailboxSelect, MailboxSelectParams(session: session, mailbox: "INBOX"))
        }
        #expect(selected.status.messages == Self.count && selected.firstUnseenUid == 1)
        let reports = try await Self.time("header search Subject \"report\", 10,000 of 100,000 match") {
            try await search(.header(field: "Subject", contains: "report"))
        }
        #expect(reports.uids?.ranges(largest: UInt32(Self.count)).count == Self.count / 10)
        let none = try await Self.time("header search Subject, no match") {
            try await search(.header(field: "Subject", contains: "nothing-like-it"))
        }
        #expect(none.uids == nil)
        let sender = try await Self.time("header search From \"user7@\", 1,000 match") {
            try await search(.header(field: "From", contains: "user7@"))
        }
        #expect(sender.uids?.ranges(largest: UInt32(Self.count)).count == Self.count / 100)
        _ = try await Self.time("search UNSEEN (SQL only)") { try await search(.not(.flag("\\Seen"))) }
        _ = try await Self.time("search UNSEEN SUBJECT report") {
            try await search(.and([.not(.flag("\\Seen")), .header(field: "Subject", contains: "report")]))
        }
        _ = try await Self.time("body search, no match") { try await search(.body("nothing-like-it")) }
        _ = try await Self.time("message.list 5,000 with envelopes") {
            try await g.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX", fields: ["envelope"]))
        }

        // Every third message expunged: 33,334 runs of UIDs, four pages.
        let expunge = (1...Self.count).filter { $0 % 3 == 0 }.map { UInt32($0) }
        for start in stride(from: 0, to: expunge.count, by: UIDSet.maxRanges) {
            _ = try await g.call(
                Methods.messageExpunge,
                MessageExpungeParams(
                    session: session, mailbox: "INBOX", uids: UIDSet(expunge[start..<min(start + UIDSet.maxRanges, expunge.count)]),
                    regardlessOfFlags: true))
        }
        let first = try await Self.time("message.uids, first page of 10,000 ranges (every third expunged)") { try await uids() }
        #expect(first.uids?.ranges.count == UIDSet.maxRanges)
        var pages = 1
        var after = first.nextAfterUid
        try await Self.time("message.uids, all pages (every third expunged)") {
            while let next = after {
                after = try await uids(next).nextAfterUid
                pages += 1
            }
        }
        print("SCALE pages: \(pages)")
        await h.close()
    }
}
