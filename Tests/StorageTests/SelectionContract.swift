import Foundation
import MailCore
import Storage
import Testing

/// SELECT and the sequence-number map: `select`, `uidPage`, and listings with a byte budget.
extension StorageContract {
    static let selectionChecks: [ContractCheck] = [
        ContractCheck("uidPage: runs of consecutive UIDs, paged", uidPages),
        ContractCheck("select: counters, keywords, first unseen, recent claimed once", selectMailbox),
        ContractCheck("select without a claim (EXAMINE) leaves recent messages recent", examineMailbox),
        ContractCheck("messages: envelope column and byte budget", listingBudget),
    ]

    /// Stores `count` messages in `mailbox`, in batches; their UIDs. The body is empty, so it is
    /// inline whatever the store's limit (no file per message).
    @discardableResult
    static func fill(_ s: StorageUnderTest, _ accountID: Int64, _ mailbox: String = "INBOX", count: Int) throws -> [UInt32] {
        var uids: [UInt32] = []
        var left = count
        while left > 0 {
            let n = min(left, 512)
            let requests = try (0..<n).map { _ in
                try s.request([], to: [Placement(accountID: accountID, mailbox: mailbox)])
            }
            uids += try s.store.store(requests, now: nil).compactMap { $0.placements.first?.uid }
            left -= n
        }
        return uids
    }

    static func uidPages(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        #expect(try store.uidPage(accountID: alice.id, mailbox: .inbox, afterUID: nil).uids == UIDPage(ranges: [], nextAfterUID: nil))
        try fill(s, alice.id, count: 12)
        // Leaves 1:3, 5, 8:10, 12.
        _ = try store.expunge(
            accountID: alice.id, mailboxID: try s.mailbox(alice.id, "INBOX").id, uids: UIDSet("4,6:7,11")!,
            regardlessOfFlags: true)
        let table: [(after: UInt32?, max: Int, ranges: [ClosedRange<UInt32>], next: UInt32?)] = [
            (nil, 10_000, [1...3, 5...5, 8...10, 12...12], nil),
            (0, 4, [1...3, 5...5, 8...10, 12...12], nil),
            (nil, 3, [1...3, 5...5, 8...10], 10),
            (10, 3, [12...12], nil),
            (2, 2, [3...3, 5...5], 5),
            (5, 1, [8...10], 10),
            (8, 10, [9...10, 12...12], nil),
            (12, 10, [], nil),
            (1000, 10, [], nil),
        ]
        for row in table {
            let (box, page) = try store.uidPage(accountID: alice.id, mailbox: .inbox, afterUID: row.after, maxRanges: row.max)
            #expect(
                page == UIDPage(ranges: row.ranges, nextAfterUID: row.next), "after \(String(describing: row.after)), \(row.max) a page")
            #expect(box.uidNext == 13)
        }
        #expect(try store.uidPage(accountID: alice.id, mailbox: .inbox, afterUID: nil).uids.set?.description == "1:3,5,8:10,12")
        expectError(.noSuchMailbox) { try store.uidPage(accountID: alice.id, mailbox: mailboxName("Nope"), afterUID: nil) }
    }

    /// 20,003 messages with every even UID expunged: 10,002 ranges, so the first page is full
    /// at 10,000 and the second holds the other two.
    static func uidPageAtTheRangeLimit(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        try fill(s, alice.id, count: 20_003)
        let inbox = try s.mailbox(alice.id, "INBOX")
        var even: [UInt32] = Array(stride(from: 2, through: 20_002, by: 2))
        while !even.isEmpty {
            let chunk = even.prefix(UIDSet.maxRanges)
            _ = try store.expunge(accountID: alice.id, mailboxID: inbox.id, uids: UIDSet(chunk), regardlessOfFlags: true)
            even.removeFirst(chunk.count)
        }
        let first = try store.uidPage(accountID: alice.id, mailbox: .inbox, afterUID: nil).uids
        #expect(first.ranges.count == UIDSet.maxRanges)
        #expect(first.ranges.first == 1...1 && first.ranges.last == 19_999...19_999)
        #expect(first.nextAfterUID == 19_999)
        #expect(try #require(first.set).ranges(largest: 20_003).count == UIDSet.maxRanges, "the page is a valid UID set")
        let second = try store.uidPage(accountID: alice.id, mailbox: .inbox, afterUID: first.nextAfterUID).uids
        #expect(second == UIDPage(ranges: [20_001...20_001, 20_003...20_003], nextAfterUID: nil))
        // Exactly maxRanges ranges: one page, nothing after it.
        _ = try store.expunge(accountID: alice.id, mailboxID: inbox.id, uids: UIDSet("20001:*")!, regardlessOfFlags: true)
        let exact = try store.uidPage(accountID: alice.id, mailbox: .inbox, afterUID: nil).uids
        #expect(exact.ranges.count == UIDSet.maxRanges && exact.nextAfterUID == nil)
        // select's first page is the same page.
        let selected = try store.select(accountID: alice.id, name: .inbox, claimRecent: false)
        #expect(selected.uids == exact)
    }

    static func selectMailbox(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let empty = try store.select(accountID: alice.id, name: .inbox, claimRecent: true)
        #expect(empty.counts == MailboxCounts(messages: 0, unseen: 0, sizeBytes: 0, recent: 0))
        #expect(empty.keywords.isEmpty && empty.firstUnseenUID == nil && empty.recent.isEmpty && empty.uids.ranges.isEmpty)

        let flags: [MessageFlags] = [
            MessageFlags(system: .seen, keywords: ["$Label1"]), MessageFlags(system: .seen), MessageFlags(keywords: ["$Junk", "$Label1"]),
            MessageFlags(), MessageFlags(system: [.seen, .flagged]),
        ]
        for (i, f) in flags.enumerated() { try s.put(Fixture.body(50, seed: i), into: alice.id, flags: f) }
        let first = try store.select(accountID: alice.id, name: .inbox, claimRecent: true)
        #expect(first.mailbox.name == "INBOX" && first.mailbox.uidNext == 6)
        #expect(first.counts.messages == 5 && first.counts.unseen == 2 && first.counts.recent == 5)
        #expect(first.keywords == ["$Junk", "$Label1"])
        #expect(first.firstUnseenUID == 3)
        #expect(first.recent == [1...5], "the first selection claims every message")
        #expect(first.uids == UIDPage(ranges: [1...5], nextAfterUID: nil))

        let second = try store.select(accountID: alice.id, name: .inbox, claimRecent: true)
        #expect(second.recent.isEmpty && second.counts.recent == 0, "the second selection sees none recent")
        #expect(second.counts.messages == 5)

        try s.put(Fixture.body(50, seed: 9), into: alice.id)
        try s.put(Fixture.body(50, seed: 10), into: alice.id)
        _ = try store.expunge(accountID: alice.id, mailboxID: first.mailbox.id, uids: UIDSet("1,6")!, regardlessOfFlags: true)
        let third = try store.select(accountID: alice.id, name: .inbox, claimRecent: true)
        #expect(third.recent == [7...7], "recent: only new mail that is still there")
        #expect(third.counts.recent == 1)
        #expect(third.uids == UIDPage(ranges: [2...5, 7...7], nextAfterUID: nil))
        #expect(third.keywords == ["$Junk", "$Label1"])
        _ = try store.changeFlags(
            mailboxID: first.mailbox.id, uids: .all, operation: .remove, flags: MessageFlags(keywords: ["$Junk"]), unchangedSince: nil)
        #expect(
            try store.select(accountID: alice.id, name: .inbox, claimRecent: true).keywords == ["$Label1"], "keywords no longer used go")
        expectError(.noSuchMailbox) { try store.select(accountID: alice.id, name: mailboxName("Nope"), claimRecent: true) }
    }

    static func examineMailbox(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        for i in 0..<3 { try s.put(Fixture.body(40, seed: i), into: alice.id) }
        let examined = try store.select(accountID: alice.id, name: .inbox, claimRecent: false)
        #expect(examined.recent == [1...3] && examined.counts.recent == 3)
        let again = try store.select(accountID: alice.id, name: .inbox, claimRecent: false)
        #expect(again.recent == [1...3], "examining claims nothing")
        #expect(try store.counts(mailboxID: examined.mailbox.id).recent == 3)
        let selected = try store.select(accountID: alice.id, name: .inbox, claimRecent: true)
        #expect(selected.recent == [1...3])
        #expect(try store.select(accountID: alice.id, name: .inbox, claimRecent: false).recent.isEmpty)
    }

    static func listingBudget(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let structure =
            #"{"envelope":{"subject":"Hi","from":[],"sender":[],"replyTo":[],"to":[],"cc":[],"bcc":[]},"body":{"x":"\#(String(repeating: "y", count: 1000))"},"truncated":false}"#
        for i in 0..<10 {
            _ = try s.deliver(Fixture.body(100, seed: i), to: [Placement(accountID: alice.id, mailbox: "INBOX")], structure: structure)
        }
        let inbox = try s.mailbox(alice.id, "INBOX")
        func list(
            _ columns: MessageColumns, budget: Int, limit: Int = 100, after: UInt32? = nil
        ) throws -> (
            messages: [MessageRecord], more: Bool
        ) {
            try store.messages(
                mailboxID: inbox.id, uids: nil, changedSince: nil, afterUID: after, limit: limit, columns: columns, budget: budget)
        }
        let envelopes = try list(.envelope, budget: .max)
        #expect(envelopes.messages.count == 10 && !envelopes.more)
        for m in envelopes.messages {
            #expect(m.structure == nil)
            let envelope = try #require(m.envelope)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(envelope.utf8)) as? [String: Any])
            #expect(object["subject"] as? String == "Hi" && object["body"] == nil)
        }
        #expect(try list([], budget: .max).messages.allSatisfy { $0.structure == nil && $0.envelope == nil })
        let both = try list([.structure, .envelope], budget: .max).messages
        #expect(both.allSatisfy { $0.structure == structure && $0.envelope != nil })

        // About three structures fit in 3,500 bytes: pages of three, then the rest.
        var seen: [UInt32] = []
        var after: UInt32?
        while true {
            let page = try list(.structure, budget: 3_500, after: after)
            #expect(page.messages.count <= 3)
            #expect(page.messages.map { $0.structure?.utf8.count ?? 0 }.reduce(0, +) <= 3_500 || page.messages.count == 1)
            seen += page.messages.map(\.uid)
            guard page.more, let last = page.messages.last?.uid else { break }
            after = last
        }
        #expect(seen == Array(1...10), "every message once, in order")
        // A budget smaller than one message still gives one.
        let one = try list(.structure, budget: 1)
        #expect(one.messages.count == 1 && one.more)
        // The limit ends a page too.
        let limited = try list([], budget: .max, limit: 4)
        #expect(limited.messages.map(\.uid) == [1, 2, 3, 4] && limited.more)
    }
}
