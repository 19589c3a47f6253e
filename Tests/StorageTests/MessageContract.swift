import Foundation
import MailCore
import Storage
import Testing

/// Storing, listing, reading, flags, copy, move, expunge, recorded outcomes, the queue.
extension StorageContract {
    static let messageChecks: [ContractCheck] = [
        ContractCheck("a batch of several requests with several placements", storeBatch),
        ContractCheck("a placement fails alone: quota at the limit, no mailbox, no account", placementsFailAlone),
        ContractCheck("queued copies: entries, recipients once, the body kept", queue),
        ContractCheck("read at every boundary of prefix and body", readRanges),
        ContractCheck("readBatch: a prefix of the UIDs within the budget, every missing one", readBatch),
        ContractCheck("messages: uids, changedSince, afterUID, limit, structure", listing),
        ContractCheck("message by UID; reading an expunged one", messageByUID),
        ContractCheck("changeFlags: set, add, remove, unchangedSince, one modseq per call", changeFlags),
        ContractCheck("copy: COPYUID pairs, flags and bytes, quota all or none", copy),
        ContractCheck("move: pairs, source expunged with a new modseq, no quota", move),
        ContractCheck("expunge: \\Deleted only, or regardless of flags", expunge),
        ContractCheck("a recorded outcome stores once, in a batch and across batches", recordedOutcome),
    ]

    static func storeBatch(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let bob = try s.addAccount("bob")
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Work"), specialUse: nil)
        let flagged = MessageFlags(system: .flagged, keywords: ["$Label1"])
        let bodies = [Fixture.body(s.bodySizes[0], seed: 1), Fixture.body(s.bodySizes[1], seed: 2), Fixture.body(20, seed: 3)]
        let requests = [
            try s.request(
                bodies[0],
                to: [
                    Placement(accountID: alice.id, mailbox: "INBOX"), Placement(accountID: alice.id, mailbox: "Work"),
                    Placement(accountID: bob.id, mailbox: "INBOX"),
                ],
                structure: "{\"one\":1}", date: 1_000),
            try s.request(
                bodies[1],
                to: [Placement(accountID: alice.id, mailbox: "INBOX", flags: flagged), Placement(accountID: bob.id, mailbox: "INBOX")],
                date: 2_000),
            try s.request(bodies[2], to: [Placement(accountID: alice.id, mailbox: "Work")], date: 3_000),
        ]
        let results = try store.store(requests, now: nil)
        #expect(results.count == 3)
        #expect(results.map { $0.placements.map(\.uid) } == [[1, 1, 1], [2, 2], [2]], "UIDs in request order, per mailbox")
        #expect(results.allSatisfy { $0.queueID == nil && $0.earlierOutcome == nil })
        let boxes = [
            try s.mailbox(alice.id, "INBOX"), try s.mailbox(alice.id, "Work"), try s.mailbox(bob.id, "INBOX"),
        ]
        let expectedPlaces: [[MailboxRecord]] = [[boxes[0], boxes[1], boxes[2]], [boxes[0], boxes[2]], [boxes[1]]]
        for (result, places) in zip(results, expectedPlaces) {
            for (placement, box) in zip(result.placements, places) {
                guard case .stored(let mailboxID, let uidValidity, _, _) = placement else {
                    Issue.record("not stored: \(placement)")
                    continue
                }
                #expect(mailboxID == box.id && uidValidity == box.uidValidity)
            }
        }
        for box in boxes {
            let listed = try s.list(box.id)
            #expect(box.uidNext == 3)
            #expect(listed.map(\.modseq) == listed.map(\.modseq).sorted() && Set(listed.map(\.modseq)).count == 2, "\(box.name)")
            #expect(box.highestModseq == listed.last?.modseq, "\(box.name)")
        }
        let inbox = try s.list(boxes[0].id)
        #expect(inbox.map(\.flags) == [MessageFlags(), flagged])
        #expect(inbox.map(\.internalDate) == [1_000, 2_000])
        #expect(try inbox.map { try s.whole($0) } == [bodies[0], bodies[1]])
        #expect(try s.list(boxes[1].id).map { try s.whole($0) } == [bodies[0], bodies[2]])
        #expect(try s.list(boxes[0].id, withStructure: true).map(\.structure) == ["{\"one\":1}", nil])
        let account = try #require(try store.account(id: alice.id))
        #expect(account.messageCount == 4)
        #expect(account.usedBytes == Int64(2 * bodies[0].count + bodies[1].count + bodies[2].count))
        #expect(try s.totals == (messages: 6, bodies: 3))
        #expect(try store.store([], now: nil).isEmpty, "an empty batch")
    }

    static func placementsFailAlone(_ s: StorageUnderTest) throws {
        let store = s.store
        let first = Fixture.body(s.bodySizes[0], seed: 1)
        let second = Fixture.body(s.bodySizes[1], seed: 2)
        let prefix = Fixture.returnPath("s@remote.test")
        // Alice's quota is exactly what the first two messages take, prefix included.
        let quota = Int64(first.count + prefix.count + second.count)
        let alice = try s.addAccount("alice", quota: quota)
        let bob = try s.addAccount("bob")
        let unused = Fixture.body(s.bodySizes[1], seed: 9)
        let results = try store.store(
            [
                try s.request(first, to: [Placement(accountID: alice.id, mailbox: "INBOX")]),
                try s.request(
                    second, prefix: prefix,
                    to: [Placement(accountID: alice.id, mailbox: "INBOX"), Placement(accountID: bob.id, mailbox: "INBOX")]),
                try s.request(
                    Fixture.body(1, seed: 3),
                    to: [
                        Placement(accountID: alice.id, mailbox: "INBOX"), Placement(accountID: bob.id, mailbox: "INBOX"),
                        Placement(accountID: bob.id, mailbox: "Nope"), Placement(accountID: alice.id + bob.id + 1000, mailbox: "INBOX"),
                    ]),
                try s.request(unused, to: [Placement(accountID: bob.id, mailbox: "Nope")]),
            ], now: nil)
        #expect(results[0].placements.map(\.uid) == [1])
        #expect(results[1].placements.map(\.uid) == [2, 1], "alice at exactly her quota")
        #expect(results[2].placements.map(\.failure) == [.quotaExceeded, nil, .noSuchMailbox, .noSuchAccount])
        #expect(results[2].placements[1].uid == 2)
        #expect(results[3].placements.map(\.failure) == [.noSuchMailbox])
        let account = try #require(try store.account(id: alice.id))
        #expect(account.usedBytes == quota && account.messageCount == 2)
        #expect(try s.uids(alice.id, "INBOX") == [1, 2])
        #expect(try s.uids(bob.id, "INBOX") == [1, 2])
        #expect(try s.totals == (messages: 4, bodies: 3), "a body no placement took is not kept")
        #expect(try s.whole(alice.id, "INBOX", 2) == prefix + second)
        // The quota frees up with an expunge, to the byte.
        _ = try store.expunge(
            accountID: alice.id, mailboxID: try s.mailbox(alice.id, "INBOX").id, uids: UIDSet([1]), regardlessOfFlags: true)
        #expect(
            try s.deliver(Fixture.body(first.count + 1, seed: 4), to: [Placement(accountID: alice.id, mailbox: "INBOX")]).placements.map(
                \.failure) == [.quotaExceeded])
        #expect(
            try s.deliver(Fixture.body(first.count, seed: 5), to: [Placement(accountID: alice.id, mailbox: "INBOX")]).placements.map(\.uid)
                == [3])
    }

    static func queue(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let body = Fixture.body(s.bodySizes[1], seed: 1)
        let queuedOnly = Fixture.body(s.bodySizes[0], seed: 2)
        let prefix = Fixture.returnPath("s@remote.test")
        let results = try store.store(
            [
                StoreRequest(
                    body: try s.prepare(body), structure: nil, prefix: prefix, internalDate: StorageUnderTest.date,
                    placements: [Placement(accountID: alice.id, mailbox: "INBOX")], queueSender: "s@remote.test",
                    queueRecipients: ["z@remote.test", "y@remote.test", "z@remote.test"]),
                StoreRequest(
                    body: try s.prepare(queuedOnly), structure: nil, internalDate: StorageUnderTest.date, placements: [],
                    queueSender: "", queueRecipients: ["x@remote.test"]),
            ], now: 1_234_567)
        let first = try #require(results[0].queueID)
        let second = try #require(results[1].queueID)
        #expect(first != second)
        #expect(results[1].placements.isEmpty)
        let entries = try store.queueEntries(limit: 10)
        #expect(entries.map(\.id) == [first, second])
        #expect(entries.map(\.sender) == ["s@remote.test", ""])
        #expect(entries.map(\.recipients) == [["y@remote.test", "z@remote.test"], ["x@remote.test"]], "each recipient once")
        #expect(entries.map(\.size) == [Int64(body.count), Int64(queuedOnly.count)], "queued copies go without the prefix")
        #expect(entries.map(\.createdAt) == [1_234_567, 1_234_567])
        #expect(try store.queueEntries(limit: 1).map(\.id) == [first])
        #expect(try s.totals == (messages: 1, bodies: 2), "a queued body is kept without any mailbox copy")
        // The queue holds its own reference: the mailbox copy can go.
        _ = try store.expunge(accountID: alice.id, mailboxID: try s.mailbox(alice.id, "INBOX").id, uids: nil, regardlessOfFlags: true)
        #expect(try s.totals == (messages: 0, bodies: 2))
    }

    /// Every offset and length around the prefix's end and the message's end, against the
    /// bytes the message is.
    static func readRanges(_ s: StorageUnderTest) throws {
        let alice = try s.addAccount("alice")
        let prefix = Fixture.returnPath("sender@remote.test")
        var cases: [(prefix: [UInt8], body: [UInt8])] = [([], Fixture.body(0, seed: 0)), (prefix, [])]
        for (i, size) in s.bodySizes.enumerated() {
            cases.append(([], Fixture.body(size, seed: 10 + i)))
            cases.append((prefix, Fixture.body(size, seed: 20 + i)))
        }
        for (i, c) in cases.enumerated() {
            let full = c.prefix + c.body
            let uid = try s.put(c.body, prefix: c.prefix, into: alice.id)
            let message = try s.message(alice.id, "INBOX", uid)
            #expect(message.size == Int64(full.count), "case \(i)")
            #expect(message.prefixLength == c.prefix.count, "case \(i)")
            let p = c.prefix.count
            let t = full.count
            let offsets = Set([0, 1, p - 1, p, p + 1, t / 2, t - 1, t, t + 1, t + 1000]).filter { $0 >= 0 }.sorted()
            let lengths = Set([0, 1, 2, p, max(p - 1, 0), t, t + 10]).sorted()
            for offset in offsets {
                for length in lengths {
                    let expected = Array(full[min(offset, t)..<min(offset + length, t)])
                    let got = try s.store.read(message, offset: Int64(offset), length: length)
                    #expect(got == expected, "case \(i) (prefix \(p), size \(t)): offset \(offset) length \(length)")
                }
            }
        }
    }

    static func readBatch(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let prefix = Fixture.returnPath("s@remote.test")
        var messages: [UInt32: [UInt8]] = [:]
        for (i, (size, withPrefix)) in [(s.bodySizes[0], true), (s.bodySizes[1], false), (s.bodySizes[1], true), (5, false)].enumerated() {
            let body = Fixture.body(size, seed: i)
            let p = withPrefix ? prefix : []
            let uid = try s.put(body, prefix: p, into: alice.id)
            messages[uid] = p + body
        }
        let asked: [UInt32] = [1, 7, 2, 3, 4, 9]
        for length in [0, 10, prefix.count + 5, s.bodySizes[1] + 100] {
            let wanted = asked.filter { messages[$0] != nil }.map { min(length, messages[$0]!.count) }
            let everything = wanted.reduce(0, +)
            // Every budget where the answer changes, and one either side of it.
            let sums = wanted.indices.map { wanted[...$0].reduce(0, +) }
            for budget in Set(([0, everything + 1] + sums.flatMap { [$0 - 1, $0, $0 + 1] }).filter { $0 >= 0 }).sorted() {
                let reads = try store.readBatch(accountID: alice.id, mailbox: .inbox, uids: asked, length: length, budget: budget)
                #expect(reads.count == asked.count, "length \(length) budget \(budget)")
                var spent = 0
                var waiting = false
                for (uid, read) in zip(asked, reads) {
                    let what = "uid \(uid) length \(length) budget \(budget)"
                    guard let bytes = messages[uid] else {
                        #expect(read == .missing(uid: uid), "\(what)")
                        continue
                    }
                    let count = min(length, bytes.count)
                    if !waiting && spent + count <= budget {
                        #expect(read == .read(uid: uid, bytes: Array(bytes.prefix(count)), total: Int64(bytes.count)), "\(what)")
                        spent += count
                    } else {
                        waiting = true
                        #expect(read == .later(uid: uid), "\(what)")
                    }
                }
            }
        }
        expectError(.noSuchMailbox) {
            try store.readBatch(accountID: alice.id, mailbox: mailboxName("Nope"), uids: [1], length: 10, budget: 100)
        }
        #expect(try store.readBatch(accountID: alice.id, mailbox: .inbox, uids: [], length: 10, budget: 100) == [])
    }

    static func listing(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let inbox = try s.mailbox(alice.id, "INBOX")
        #expect(try s.list(inbox.id).isEmpty)
        for i in 1...6 {
            let body = Fixture.body(i == 4 ? s.bodySizes[1] : 40, seed: i)
            _ = try s.deliver(body, to: [Placement(accountID: alice.id, mailbox: "INBOX")], structure: "{\"n\":\(i)}")
        }
        _ = try store.changeFlags(mailboxID: inbox.id, uids: UIDSet([3]), operation: .add, flags: Fixture.deleted, unchangedSince: nil)
        _ = try store.expunge(accountID: alice.id, mailboxID: inbox.id, uids: nil, regardlessOfFlags: false)
        let before = try s.mailbox(alice.id, "INBOX").highestModseq
        _ = try store.changeFlags(mailboxID: inbox.id, uids: UIDSet([2, 5]), operation: .add, flags: Fixture.seen, unchangedSince: nil)
        func set(_ text: String) -> UIDSet { UIDSet(text)! }
        let table: [(uids: UIDSet?, changedSince: Int64?, afterUID: UInt32?, limit: Int, expected: [UInt32])] = [
            (nil, nil, nil, 100, [1, 2, 4, 5, 6]),
            (set("2:4"), nil, nil, 100, [2, 4]),
            (set("4:2"), nil, nil, 100, [2, 4]),
            (set("5:*"), nil, nil, 100, [5, 6]),
            (set("*"), nil, nil, 100, [6]),
            (set("7:*"), nil, nil, 100, [6]),  // RFC 3501 §6.4.8: n:* takes the last UID
            (set("10:20"), nil, nil, 100, []),
            (set("3"), nil, nil, 100, []),
            (set("1,6"), nil, nil, 100, [1, 6]),
            (set("1,2,4,5,6,8,10,12,14,16,18,20"), nil, nil, 100, [1, 2, 4, 5, 6]),
            (UIDSet(Array(stride(from: 1, through: 201, by: 2))), nil, nil, 100, [1, 5]),
            (nil, before, nil, 100, [2, 5]),
            (nil, before + 1, nil, 100, []),
            (set("1:4"), before, nil, 100, [2]),
            (nil, nil, 2, 100, [4, 5, 6]),
            (nil, nil, 6, 100, []),
            (nil, nil, 0, 100, [1, 2, 4, 5, 6]),
            (nil, nil, nil, 2, [1, 2]),
            (nil, nil, 2, 2, [4, 5]),
            (nil, nil, nil, 5, [1, 2, 4, 5, 6]),
            (nil, 0, nil, 100, [1, 2, 4, 5, 6]),
        ]
        for row in table {
            let got = try store.messages(
                mailboxID: inbox.id, uids: row.uids, changedSince: row.changedSince, afterUID: row.afterUID, limit: row.limit,
                withStructure: false)
            let since = row.changedSince.map { "\($0)" } ?? "-"
            let after = row.afterUID.map { "\($0)" } ?? "-"
            #expect(
                got.map(\.uid) == row.expected,
                "uids \(row.uids?.description ?? "all") changedSince \(since) afterUID \(after) limit \(row.limit)")
            #expect(got.allSatisfy { $0.structure == nil })
        }
        let structured = try store.messages(
            mailboxID: inbox.id, uids: nil, changedSince: nil, afterUID: nil, limit: 100, withStructure: true)
        #expect(structured.map(\.structure) == [1, 2, 4, 5, 6].map { "{\"n\":\($0)}" })
        #expect(structured.map(\.flags.system) == [[], .seen, [], .seen, []])
    }

    static func messageByUID(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let bob = try s.addAccount("bob")
        let prefix = Fixture.returnPath("s@remote.test")
        for (i, size) in s.bodySizes.enumerated() {
            _ = try s.deliver(
                Fixture.body(size, seed: i), prefix: prefix, to: [Placement(accountID: alice.id, mailbox: "INBOX")],
                structure: "{\"i\":\(i)}")
        }
        let listed = try s.list(try s.mailbox(alice.id, "INBOX").id, withStructure: true)
        for record in listed {
            #expect(try store.message(accountID: alice.id, mailbox: .inbox, uid: record.uid, withStructure: true) == record)
            var bare = record
            bare.structure = nil
            #expect(try store.message(accountID: alice.id, mailbox: .inbox, uid: record.uid, withStructure: false) == bare)
        }
        expectError(.noSuchMessage) { try store.message(accountID: alice.id, mailbox: .inbox, uid: 3, withStructure: false) }
        expectError(.noSuchMessage) { try store.message(accountID: bob.id, mailbox: .inbox, uid: 1, withStructure: false) }
        expectError(.noSuchMailbox) { try store.message(accountID: alice.id, mailbox: mailboxName("Nope"), uid: 1, withStructure: false) }

        let first = listed[0]
        _ = try store.expunge(
            accountID: alice.id, mailboxID: try s.mailbox(alice.id, "INBOX").id, uids: UIDSet([first.uid]), regardlessOfFlags: true)
        expectError(.noSuchMessage) { try store.message(accountID: alice.id, mailbox: .inbox, uid: first.uid, withStructure: false) }
        expectError(.noSuchMessage, "a record read before its message was expunged") { try store.read(first, offset: 0, length: 10) }
        #expect(try s.whole(listed[1]).count == Int(listed[1].size))
    }

    static func changeFlags(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let initial: [MessageFlags] = [
            MessageFlags(), Fixture.seen, MessageFlags(system: [.seen, .flagged], keywords: ["a"]), MessageFlags(keywords: ["b"]),
        ]
        for (i, flags) in initial.enumerated() { try s.put(Fixture.body(30, seed: i), into: alice.id, flags: flags) }
        let inbox = try s.mailbox(alice.id, "INBOX")
        func flags() throws -> [MessageFlags] { try s.list(inbox.id).map(\.flags) }
        func modseqs() throws -> [Int64] { try s.list(inbox.id).map(\.modseq) }

        // Each step: the call, the UIDs it changes and skips, the flags after.
        typealias Step = (uids: String, op: FlagOperation, flags: MessageFlags, since: Int64?, updated: [UInt32], skipped: [UInt32])
        let steps: [(Step, [MessageFlags])] = [
            (
                ("1:4", .add, Fixture.seen, nil, [1, 4], []),
                [
                    Fixture.seen, Fixture.seen, MessageFlags(system: [.seen, .flagged], keywords: ["a"]),
                    MessageFlags(system: .seen, keywords: ["b"]),
                ]
            ),
            (
                ("1:4", .add, Fixture.seen, nil, [], []),
                [
                    Fixture.seen, Fixture.seen, MessageFlags(system: [.seen, .flagged], keywords: ["a"]),
                    MessageFlags(system: .seen, keywords: ["b"]),
                ]
            ),
            (
                ("3", .remove, MessageFlags(system: .seen, keywords: ["a", "zz"]), nil, [3], []),
                [Fixture.seen, Fixture.seen, MessageFlags(system: .flagged), MessageFlags(system: .seen, keywords: ["b"])]
            ),
            (
                ("2:3", .set, MessageFlags(system: .answered, keywords: ["x"]), nil, [2, 3], []),
                [
                    Fixture.seen, MessageFlags(system: .answered, keywords: ["x"]), MessageFlags(system: .answered, keywords: ["x"]),
                    MessageFlags(system: .seen, keywords: ["b"]),
                ]
            ),
            (
                ("2:3", .set, MessageFlags(system: .answered, keywords: ["x"]), nil, [], []),
                [
                    Fixture.seen, MessageFlags(system: .answered, keywords: ["x"]), MessageFlags(system: .answered, keywords: ["x"]),
                    MessageFlags(system: .seen, keywords: ["b"]),
                ]
            ),
            (
                ("4", .add, MessageFlags(keywords: ["b"]), nil, [], []),
                [
                    Fixture.seen, MessageFlags(system: .answered, keywords: ["x"]), MessageFlags(system: .answered, keywords: ["x"]),
                    MessageFlags(system: .seen, keywords: ["b"]),
                ]
            ),
            (
                ("99", .add, Fixture.seen, nil, [], []),
                [
                    Fixture.seen, MessageFlags(system: .answered, keywords: ["x"]), MessageFlags(system: .answered, keywords: ["x"]),
                    MessageFlags(system: .seen, keywords: ["b"]),
                ]
            ),
        ]
        // RFC 7162 §3.1.3: UNCHANGEDSINCE skips what changed after it; equal is unchanged.
        // Messages 1 and 4 last changed in step 1, 2 and 3 in step 4.
        var stepOneModseq: Int64 = 0
        for (i, (step, after)) in steps.enumerated() {
            let highest = try s.mailbox(alice.id, "INBOX").highestModseq
            let before = try modseqs()
            let result = try store.changeFlags(
                mailboxID: inbox.id, uids: UIDSet(step.uids)!, operation: step.op, flags: step.flags, unchangedSince: step.since)
            #expect(result.updated.map(\.uid) == step.updated, "step \(i + 1)")
            #expect(result.skipped == step.skipped, "step \(i + 1)")
            #expect(try flags() == after, "step \(i + 1)")
            let now = try modseqs()
            if step.updated.isEmpty {
                #expect(now == before, "step \(i + 1) changed nothing")
                #expect(try s.mailbox(alice.id, "INBOX").highestModseq == highest, "step \(i + 1) changed nothing")
            } else {
                #expect(result.modseq > highest, "step \(i + 1)")
                #expect(result.updated.allSatisfy { $0.modseq == result.modseq }, "step \(i + 1): one modseq for the call")
                #expect(try s.mailbox(alice.id, "INBOX").highestModseq == result.modseq, "step \(i + 1)")
                for (uid, (was, is_)) in zip(1..., zip(before, now)) {
                    #expect(is_ == (step.updated.contains(UInt32(uid)) ? result.modseq : was), "step \(i + 1) uid \(uid)")
                }
                #expect(result.updated.map(\.flags) == step.updated.map { after[Int($0) - 1] })
                let changed = try store.messages(
                    mailboxID: inbox.id, uids: nil, changedSince: highest, afterUID: nil, limit: 10, withStructure: false)
                #expect(changed.map(\.uid) == step.updated, "step \(i + 1): CHANGEDSINCE finds what changed")
            }
            if i == 0 { stepOneModseq = result.modseq }
        }
        let draft = MessageFlags(system: .draft)
        let guarded = try store.changeFlags(mailboxID: inbox.id, uids: .all, operation: .add, flags: draft, unchangedSince: stepOneModseq)
        #expect(guarded.updated.map(\.uid) == [1, 4], "modseq equal to UNCHANGEDSINCE is unchanged")
        #expect(guarded.skipped == [2, 3])
        #expect(try flags().map { $0.system.contains(.draft) } == [true, false, false, true])
        let none = try store.changeFlags(mailboxID: inbox.id, uids: .all, operation: .remove, flags: draft, unchangedSince: 0)
        #expect(none.updated.isEmpty && none.skipped == [1, 2, 3, 4])
        #expect(try flags().map { $0.system.contains(.draft) } == [true, false, false, true])
    }

    static func copy(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let prefix = Fixture.returnPath("s@remote.test")
        let sources: [(body: [UInt8], prefix: [UInt8], flags: MessageFlags)] = [
            (Fixture.body(40, seed: 1), [], Fixture.seen),
            (Fixture.body(s.bodySizes[1], seed: 2), prefix, MessageFlags(system: .flagged, keywords: ["k"])),
            (Fixture.body(60, seed: 3), prefix, MessageFlags()),
            (Fixture.body(s.bodySizes[0], seed: 4), [], Fixture.seen),
        ]
        for m in sources { try s.put(m.body, prefix: m.prefix, into: alice.id, flags: m.flags) }
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Dest"), specialUse: nil)
        try s.put(Fixture.body(10, seed: 9), into: alice.id, "Dest")
        let inbox = try s.mailbox(alice.id, "INBOX")
        let dest = try s.mailbox(alice.id, "Dest")
        let totals = try s.totals

        let result = try store.copy(accountID: alice.id, from: inbox.id, uids: UIDSet("4,2")!, to: "Dest", move: false)
        #expect(result.source == [2, 4] && result.created == [2, 3], "COPYUID pairs in UID order")
        #expect(result.expungeModseq == nil)
        #expect(result.target.id == dest.id && result.target.uidValidity == dest.uidValidity && result.target.uidNext == 4)
        #expect(result.target == (try s.mailbox(alice.id, "Dest")))
        #expect(result.target.highestModseq > dest.highestModseq)
        for (from, to) in zip(result.source, result.created) {
            let original = try s.message(alice.id, "INBOX", from)
            let copied = try s.message(alice.id, "Dest", to)
            #expect(copied.flags == original.flags && copied.size == original.size && copied.internalDate == original.internalDate)
            #expect(copied.prefixLength == original.prefixLength)
            #expect(try s.whole(copied) == s.whole(original))
            #expect(copied.modseq == result.target.highestModseq)
        }
        #expect(try s.uids(alice.id, "INBOX") == [1, 2, 3, 4], "the source keeps its messages")
        #expect(try s.totals == (messages: totals.messages + 2, bodies: totals.bodies), "copies share their bodies")
        let used = try #require(try store.account(id: alice.id)).usedBytes
        #expect(used == (try s.list(inbox.id) + s.list(dest.id)).map(\.size).reduce(0, +))

        let empty = try store.copy(accountID: alice.id, from: inbox.id, uids: UIDSet("50:60")!, to: "Dest", move: false)
        #expect(empty.source.isEmpty && empty.created.isEmpty && empty.expungeModseq == nil)
        #expect(empty.target == (try s.mailbox(alice.id, "Dest")))
        expectError(.noSuchMailbox) { try store.copy(accountID: alice.id, from: inbox.id, uids: .all, to: "Nope", move: false) }

        // A copy counts against the quota, to the byte, and is all or none.
        let one = try s.message(alice.id, "INBOX", 1).size
        _ = try store.updateAccount(
            address: alice.address,
            {
                var c = AccountChange(); c.quotaBytes = used + one; return c
            }())
        let before = try s.mailbox(alice.id, "Dest")
        expectError(.quotaExceeded, "two do not fit") {
            try store.copy(accountID: alice.id, from: inbox.id, uids: UIDSet("1:2")!, to: "Dest", move: false)
        }
        #expect(try s.mailbox(alice.id, "Dest") == before, "a refused copy copies nothing")
        #expect(
            try store.copy(accountID: alice.id, from: inbox.id, uids: UIDSet("1")!, to: "Dest", move: false).created == [4],
            "exactly at the quota")
        expectError(.quotaExceeded) { try store.copy(accountID: alice.id, from: inbox.id, uids: UIDSet("1")!, to: "Dest", move: false) }
        #expect(try store.account(id: alice.id)?.usedBytes == used + one)
    }

    static func move(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        var bytes: [[UInt8]] = []
        for (i, size) in [40, s.bodySizes[1], 50, s.bodySizes[0]].enumerated() {
            let body = Fixture.body(size, seed: i)
            try s.put(
                body, prefix: i == 1 ? Fixture.returnPath("s@remote.test") : [], into: alice.id,
                flags: i == 2 ? Fixture.seen : MessageFlags())
            bytes.append((i == 1 ? Fixture.returnPath("s@remote.test") : []) + body)
        }
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Dest"), specialUse: nil)
        try s.put(Fixture.body(10, seed: 9), into: alice.id, "Dest")
        let inbox = try s.mailbox(alice.id, "INBOX")
        let totals = try s.totals
        let account = try #require(try store.account(id: alice.id))
        // At its quota, the account can still move.
        _ = try store.updateAccount(
            address: alice.address,
            {
                var c = AccountChange(); c.quotaBytes = account.usedBytes; return c
            }())

        let result = try store.copy(accountID: alice.id, from: inbox.id, uids: UIDSet("2:3")!, to: "Dest", move: true)
        #expect(result.source == [2, 3] && result.created == [2, 3])
        let expunged = try #require(result.expungeModseq, "a move records the source UIDs as expunged")
        let inboxAfter = try s.mailbox(alice.id, "INBOX")
        #expect(expunged > inbox.highestModseq && inboxAfter.highestModseq == expunged)
        #expect(try s.uids(alice.id, "INBOX") == [1, 4])
        #expect(try s.uids(alice.id, "Dest") == [1, 2, 3])
        #expect(try [2, 3].map { try s.whole(alice.id, "Dest", UInt32($0)) } == [bytes[1], bytes[2]])
        #expect(try s.message(alice.id, "Dest", 3).flags == Fixture.seen)
        #expect(try s.message(alice.id, "Dest", 2).modseq == result.target.highestModseq)
        expectError(.noSuchMessage) { try s.message(alice.id, "INBOX", 2) }
        #expect(try s.totals == totals, "a move stores nothing new")
        #expect(try store.account(id: alice.id)?.usedBytes == account.usedBytes)
        #expect(try store.account(id: alice.id)?.messageCount == account.messageCount)
        // A move of nothing records nothing.
        let nothing = try store.copy(accountID: alice.id, from: inbox.id, uids: UIDSet("2:3")!, to: "Dest", move: true)
        #expect(nothing.source.isEmpty && nothing.expungeModseq == nil)
        #expect(try s.mailbox(alice.id, "INBOX").highestModseq == expunged)
        // Moved messages still expunge and release like any other.
        _ = try store.expunge(accountID: alice.id, mailboxID: result.target.id, uids: nil, regardlessOfFlags: true)
        _ = try store.expunge(accountID: alice.id, mailboxID: inbox.id, uids: nil, regardlessOfFlags: true)
        #expect(try s.totals == (messages: 0, bodies: 0))
    }

    static func expunge(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        for i in 1...6 {
            try s.put(
                Fixture.body(i == 3 ? s.bodySizes[1] : 30 + i, seed: i), into: alice.id,
                flags: [2, 4].contains(i) ? Fixture.deleted : MessageFlags())
        }
        let inbox = try s.mailbox(alice.id, "INBOX")
        func used() throws -> Int64 { try #require(try store.account(id: alice.id)).usedBytes }
        func expectConsistent(_ what: String) throws {
            #expect(try used() == s.list(inbox.id).map(\.size).reduce(0, +), "\(what): usage follows")
            #expect(try store.account(id: alice.id)?.messageCount == Int64(try s.list(inbox.id).count), "\(what)")
        }

        let table: [(uids: String?, regardless: Bool, markFirst: String?, expunged: [UInt32], left: [UInt32])] = [
            (nil, false, nil, [2, 4], [1, 3, 5, 6]),
            (nil, false, nil, [], [1, 3, 5, 6]),
            ("3:5", false, "1,3", [3], [1, 5, 6]),
            ("1,5", true, nil, [1, 5], [6]),
            ("1:5", true, nil, [], [6]),
            (nil, true, nil, [6], []),
        ]
        for (i, row) in table.enumerated() {
            if let mark = row.markFirst {
                _ = try store.changeFlags(
                    mailboxID: inbox.id, uids: UIDSet(mark)!, operation: .add, flags: Fixture.deleted, unchangedSince: nil)
            }
            let highest = try s.mailbox(alice.id, "INBOX").highestModseq
            let result = try store.expunge(
                accountID: alice.id, mailboxID: inbox.id, uids: row.uids.map { UIDSet($0)! }, regardlessOfFlags: row.regardless)
            #expect(result.uids == row.expunged, "row \(i)")
            #expect(try s.uids(alice.id, "INBOX") == row.left, "row \(i)")
            let after = try s.mailbox(alice.id, "INBOX").highestModseq
            if row.expunged.isEmpty {
                #expect(result.modseq == highest && after == highest, "row \(i): nothing expunged, nothing changes")
            } else {
                #expect(result.modseq > highest && after == result.modseq, "row \(i): one new modseq")
            }
            try expectConsistent("row \(i)")
        }
        #expect(try s.totals == (messages: 0, bodies: 0))
        #expect(try s.mailbox(alice.id, "INBOX").uidNext == 7, "UIDs are not handed out again")
    }

    static func recordedOutcome(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let render: @Sendable (StoreResult) throws -> String = { result in
            "stored " + result.placements.map { $0.uid.map { "\($0)" } ?? "-" }.joined(separator: ",")
        }
        let into = [Placement(accountID: alice.id, mailbox: "INBOX")]
        #expect(try store.recordedOutcome(key: "k1") == nil)
        let first = try store.store(
            [
                try s.request(Fixture.body(30, seed: 1), to: into, outcome: RecordedOutcome(key: "k1", render: render)),
                try s.request(Fixture.body(s.bodySizes[1], seed: 2), to: into, outcome: RecordedOutcome(key: "k1", render: render)),
                try s.request(Fixture.body(30, seed: 3), to: into, outcome: RecordedOutcome(key: "k2", render: render)),
                try s.request(Fixture.body(30, seed: 4), to: into),
            ], now: nil)
        #expect(first[0].placements.map(\.uid) == [1] && first[0].earlierOutcome == nil)
        #expect(first[1].placements.isEmpty && first[1].earlierOutcome == "stored 1", "the same key twice in one batch")
        #expect(first[1].queueID == nil)
        #expect(first[2].placements.map(\.uid) == [2])
        #expect(first[3].placements.map(\.uid) == [3])
        #expect(try store.recordedOutcome(key: "k1") == "stored 1")
        #expect(try store.recordedOutcome(key: "k2") == "stored 2")
        #expect(try store.recordedOutcome(key: "k3") == nil)
        #expect(try s.totals == (messages: 3, bodies: 3), "the repeated body is not kept")

        let again = try store.store(
            [try s.request(Fixture.body(s.bodySizes[1], seed: 5), to: into, outcome: RecordedOutcome(key: "k1", render: render))], now: nil)
        #expect(again[0].placements.isEmpty && again[0].earlierOutcome == "stored 1", "the same key in a later batch")
        #expect(try s.uids(alice.id, "INBOX") == [1, 2, 3])
        #expect(try s.totals == (messages: 3, bodies: 3))
        try s.reopen()
        #expect(try s.store.recordedOutcome(key: "k1") == "stored 1", "outcomes survive a restart")
        let later = try s.store.store(
            [try s.request(Fixture.body(30, seed: 6), to: into, outcome: RecordedOutcome(key: "k2", render: render))], now: nil)
        #expect(later[0].earlierOutcome == "stored 2")
        #expect(try s.totals == (messages: 3, bodies: 3))
    }
}
