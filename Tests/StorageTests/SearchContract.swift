import Foundation
import MailCore
import Storage
import Testing

/// `MessageStore.search`: what SQL decides, what the caller's content test sees, and paging.
extension StorageContract {
    static let searchChecks: [ContractCheck] = [
        ContractCheck("search: flags, keywords, UIDs, sizes, dates, modseq, not/and/or", searchKeys),
        ContractCheck("search: the content test sees only what the cheap keys leave, cheapest first", searchContentOrder),
        ContractCheck("search: a candidate's header, structure and body, inline and in files", searchCandidates),
    ]

    /// A structure JSON that locates a header of `headerBytes` bytes (all the store reads of it).
    static func structure(headerBytes: Int) -> String {
        #"{"envelope":{"from":[],"sender":[],"replyTo":[],"to":[],"cc":[],"bcc":[]},"body":{"bodyStart":\#(headerBytes)},"truncated":false}"#
    }

    /// Six messages with assorted flags, sizes and dates; returns alice.
    static func searchMailbox(_ s: StorageUnderTest) throws -> AccountRecord {
        let alice = try s.addAccount("alice")
        let rows: [(MessageFlags, Int, Int64)] = [
            (MessageFlags(system: .seen, keywords: ["$Label1"]), 100, 1_000),
            (MessageFlags(system: [.seen, .flagged]), 200, 2_000),
            (MessageFlags(keywords: ["$junk"]), 300, 3_000),
            (MessageFlags(system: .deleted), 400, 4_000),
            (MessageFlags(), s.bodySizes[1], 5_000),
            (MessageFlags(system: .answered), 600, 6_000),
        ]
        for (i, (flags, size, date)) in rows.enumerated() {
            let header = Array("Subject: message \(i + 1)\r\nX-Marker: \(i % 2 == 0 ? "even" : "odd")\r\n\r\n".utf8)
            let bytes = header + Fixture.body(size, seed: i)
            let request = StoreRequest(
                body: try s.prepare(bytes), structure: structure(headerBytes: header.count),
                prefix: i == 5 ? Fixture.returnPath("r@remote.test") : [],
                internalDate: date, placements: [Placement(accountID: alice.id, mailbox: "INBOX", flags: flags)])
            _ = try s.store.store([request], now: nil)
        }
        return alice
    }

    static func search(
        _ s: StorageUnderTest, _ accountID: Int64, _ filter: MessageFilter, after: UInt32? = nil, maxRanges: Int = UIDSet.maxRanges,
        content: (ContentLeaf, any SearchCandidate) throws -> Bool = { _, _ in true }
    ) throws -> UIDPage {
        try s.store.search(accountID: accountID, mailbox: .inbox, filter: filter, afterUID: after, maxRanges: maxRanges, content: content)
            .uids
    }

    static func searchKeys(_ s: StorageUnderTest) throws {
        let alice = try searchMailbox(s)
        let sizes = try s.list(try s.mailbox(alice.id, "INBOX").id).map(\.size)
        let yes = MessageFilter.content(ContentLeaf(id: 0, cost: 1))
        let table: [(MessageFilter, [UInt32])] = [
            (.all, [1, 2, 3, 4, 5, 6]),
            (.uids(UIDSet("2,4:5")!), [2, 4, 5]),
            (.uids(UIDSet("5:*")!), [5, 6]),
            (.uids(UIDSet((1...6).filter { $0 % 2 == 1 } + Array(100...140).map { $0 * 2 })), [1, 3, 5]),
            (.systemFlags(.seen), [1, 2]),
            (.systemFlags([.seen, .flagged]), [2]),
            (.not(.systemFlags(.seen)), [3, 4, 5, 6]),
            (.keyword("$label1"), [1]),
            (.keyword("$JUNK"), [3]),
            (.keyword("$Label"), []),
            (.internalDate(notBefore: 2_000, before: 4_000), [2, 3]),
            (.internalDate(notBefore: nil, before: 2_000), [1]),
            (.internalDate(notBefore: 6_000, before: nil), [6]),
            (.sizeGreater(sizes[3]), (1...6).filter { sizes[Int($0) - 1] > sizes[3] }),
            (.sizeLess(sizes[1]), (1...6).filter { sizes[Int($0) - 1] < sizes[1] }),
            (.modseqAtLeast(4), [3, 4, 5, 6]),
            (.and([]), [1, 2, 3, 4, 5, 6]),
            (.or([]), []),
            (.or([.systemFlags(.deleted), .keyword("$junk"), .uids(UIDSet("1")!)]), [1, 3, 4]),
            (.and([.not(.systemFlags(.seen)), .or([.systemFlags(.answered), .uids(UIDSet("3")!)])]), [3, 6]),
            (.not(.and([.uids(UIDSet("1:3")!), .not(.systemFlags(.flagged))])), [2, 4, 5, 6]),
            (.and(Array(repeating: .not(.systemFlags(.draft)), count: 999) + [.uids(UIDSet("6")!)]), [6]),
        ]
        for (filter, expected) in table {
            #expect(try search(s, alice.id, filter).uids == expected, "\(filter)")
            // The same with a content leaf that always matches: the other path, same answer.
            #expect(try search(s, alice.id, .and([filter, yes])).uids == expected, "\(filter) with a content leaf")
            #expect(try search(s, alice.id, .or([filter, .not(yes)])).uids == expected, "\(filter) or a content leaf that fails")
        }
        expectError(.noSuchMailbox) {
            try s.store.search(accountID: alice.id, mailbox: mailboxName("Nope"), filter: .all, afterUID: nil, maxRanges: 10) { _, _ in true
            }
        }
    }

    static func searchContentOrder(_ s: StorageUnderTest) throws {
        let alice = try searchMailbox(s)
        let cheap = ContentLeaf(id: 1, cost: 1)
        let dear = ContentLeaf(id: 2, cost: 10)
        var calls: [(leaf: Int, uid: UInt32)] = []
        func record(_ leaf: ContentLeaf, _ m: any SearchCandidate) -> Bool {
            calls.append((leaf.id, m.uid))
            return leaf.id == 1 ? m.uid % 2 == 0 : m.uid != 4
        }
        // Only the seen messages reach the test.
        #expect(try search(s, alice.id, .and([.content(cheap), .systemFlags(.seen)]), content: record).uids == [2])
        #expect(calls.map(\.uid) == [1, 2])
        // OR: the SQL side decides first; the test runs only where it said no.
        calls = []
        #expect(try search(s, alice.id, .or([.content(cheap), .systemFlags(.seen)]), content: record).uids == [1, 2, 4, 6])
        #expect(calls.map(\.uid) == [3, 4, 5, 6])
        // The cheaper leaf first; the dearer one only where the cheaper did not decide.
        calls = []
        #expect(try search(s, alice.id, .and([.content(dear), .content(cheap)]), content: record).uids == [2, 6])
        #expect(calls.filter { $0.leaf == 1 }.map(\.uid) == [1, 2, 3, 4, 5, 6])
        #expect(calls.filter { $0.leaf == 2 }.map(\.uid) == [2, 4, 6])
        // A header hint narrows the candidates, never the answer.
        let hinted = ContentLeaf(id: 1, cost: 1, hint: HeaderHint(everywhere: ["x-marker"], unlessEncoded: ["ODD"]))
        calls = []
        let withHint = try search(s, alice.id, .content(hinted), content: record)
        let hintedCalls = calls.count
        calls = []
        #expect(withHint == (try search(s, alice.id, .content(cheap), content: record)))
        #expect(withHint.uids == [2, 4, 6] && hintedCalls <= calls.count)
        // A NOT of a content leaf cannot be narrowed: it sees every message.
        calls = []
        #expect(try search(s, alice.id, .not(.content(hinted)), content: record).uids == [1, 3, 5])
        #expect(calls.count == 6)
    }

    static func searchCandidates(_ s: StorageUnderTest) throws {
        let alice = try s.addAccount("alice")
        let header = Array("Subject: looked at\r\nX-Size: big\r\n\r\n".utf8)
        var seen: [UInt32: (header: [UInt8], structure: String?, body: [UInt8], size: Int64)] = [:]
        for (i, size) in s.bodySizes.enumerated() {
            let bytes = header + Fixture.body(size, seed: i)
            _ = try s.store.store(
                [
                    StoreRequest(
                        body: try s.prepare(bytes), structure: i == 0 ? structure(headerBytes: header.count) : nil,
                        prefix: Fixture.returnPath("c@remote.test"), internalDate: 1,
                        placements: [Placement(accountID: alice.id, mailbox: "INBOX")])
                ], now: nil)
        }
        _ = try search(s, alice.id, .content(ContentLeaf(id: 0, cost: 1))) { _, m in
            let length = Int(m.bodySize)
            seen[m.uid] = (try m.header(), try m.structure(), try m.readBody(offset: 0, length: length + 10), m.bodySize)
            return true
        }
        for (i, size) in s.bodySizes.enumerated() {
            let got = try #require(seen[UInt32(i + 1)])
            let bytes = header + Fixture.body(size, seed: i)
            #expect(got.size == Int64(bytes.count))
            #expect(got.body == bytes, "body \(i) whole")
            // The header: the prefix, then the body's header — exactly, when the structure says
            // where it ends; else the body's first bytes, which parsing cuts at the blank line.
            #expect(got.header.starts(with: Fixture.returnPath("c@remote.test") + header))
            if i == 0 { #expect(got.header == Fixture.returnPath("c@remote.test") + header) }
            #expect(got.header.count <= SQLiteStore.maxSearchHeaderBytes)
            #expect((got.structure != nil) == (i == 0))
        }
        // Reading past the end gives what there is.
        _ = try search(s, alice.id, .content(ContentLeaf(id: 0, cost: 1))) { _, m in
            let end = try m.readBody(offset: m.bodySize - 2, length: 100)
            let past = try m.readBody(offset: m.bodySize + 5, length: 100)
            #expect(end.count == 2 && past.isEmpty)
            return false
        }
    }

    /// 20,003 messages, the odd ones flagged: 10,002 ranges of matches, a first page of 10,000.
    static func searchPaging(_ s: StorageUnderTest) throws {
        let alice = try s.addAccount("alice")
        try fill(s, alice.id, count: 20_003)
        let inbox = try s.mailbox(alice.id, "INBOX")
        let odd = (0..<10_002).map { UInt32(2 * $0 + 1) }
        for start in stride(from: 0, to: odd.count, by: UIDSet.maxRanges) {
            _ = try s.store.changeFlags(
                mailboxID: inbox.id, uids: UIDSet(odd[start..<min(start + UIDSet.maxRanges, odd.count)]), operation: .add,
                flags: MessageFlags(system: .flagged), unchangedSince: nil)
        }
        let leaf = MessageFilter.content(ContentLeaf(id: 0, cost: 1))
        for filter in [MessageFilter.systemFlags(.flagged), .and([.systemFlags(.flagged), leaf])] {
            let first = try search(s, alice.id, filter)
            #expect(first.ranges.count == UIDSet.maxRanges && first.nextAfterUID == 19_999, "\(filter)")
            #expect(first.ranges.first == 1...1 && first.ranges.last == 19_999...19_999)
            let second = try search(s, alice.id, filter, after: first.nextAfterUID)
            #expect(second == UIDPage(ranges: [20_001...20_001, 20_003...20_003], nextAfterUID: nil), "\(filter)")
            // Runs of matches are ranges; a small page continues where it stopped.
            let runs = try search(s, alice.id, .and([filter, .not(.uids(UIDSet("4:6")!))]), maxRanges: 2)
            #expect(runs == UIDPage(ranges: [1...1, 3...3], nextAfterUID: 3))
            let all = try search(s, alice.id, .or([filter, .uids(UIDSet("2:10")!)]), maxRanges: 2)
            #expect(all == UIDPage(ranges: [1...11, 13...13], nextAfterUID: 13))
        }
    }
}
