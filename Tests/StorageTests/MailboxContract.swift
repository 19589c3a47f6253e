import Foundation
import MailCore
import Storage
import Testing

/// Mailboxes: hierarchy, rename, delete, subscriptions, counters, \Recent.
extension StorageContract {
    static let mailboxChecks: [ContractCheck] = [
        ContractCheck("create makes missing parents; names are per account", createMailboxes),
        ContractCheck("rename moves the children and only them, keeping UIDVALIDITY", renameMailboxes),
        ContractCheck("rename refused: existing target, into itself, no source", renameRefused),
        ContractCheck("renaming INBOX moves its messages and leaves it empty", renameInbox),
        ContractCheck("delete: messages and bodies go; with children \\Noselect; INBOX refused", deleteMailboxes),
        ContractCheck("\\Noselect: not selectable, no messages in, create revives it", noselectMailboxes),
        ContractCheck("names that differ in case are different mailboxes", caseSensitiveNames),
        ContractCheck("subscribe", subscribe),
        ContractCheck("subscriptions: names without mailboxes, kept by delete, moved by rename", subscriptions),
        ContractCheck("counts follow store, flags, copy, move, expunge, delete, rename", countsFollowChanges),
        ContractCheck("claimRecent hands each new message to one claim", claimRecent),
        ContractCheck("a mailbox that is gone: counts, claims, flags, expunge refuse", goneMailbox),
    ]

    static func createMailboxes(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let bob = try s.addAccount("bob")
        let leaf = try store.createMailbox(accountID: alice.id, name: mailboxName("a/b/c"), specialUse: "\\Archive")
        #expect(leaf.name == "a/b/c" && leaf.specialUse == "\\Archive" && leaf.accountID == alice.id)
        #expect(try s.names(alice.id) == ["INBOX", "a", "a/b", "a/b/c"])
        let boxes = try store.mailboxes(accountID: alice.id)
        for box in boxes {
            #expect(box.uidNext == 1, "\(box.name)")
            #expect(box.subscribed, "\(box.name)")
            #expect(box.specialUse == (box.name == "a/b/c" ? "\\Archive" : nil), "\(box.name)")
            #expect(try store.mailbox(accountID: alice.id, name: mailboxName(box.name)) == box)
        }
        #expect(Set(boxes.map(\.uidValidity)).count == boxes.count, "each mailbox has its own UIDVALIDITY")
        #expect(Set(boxes.map(\.id)).count == boxes.count)

        expectError(.mailboxExists) { try store.createMailbox(accountID: alice.id, name: mailboxName("a/b"), specialUse: nil) }
        expectError(.mailboxExists) { try store.createMailbox(accountID: alice.id, name: mailboxName("inbox"), specialUse: nil) }
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("a/b/d"), specialUse: nil)
        #expect(try s.names(alice.id) == ["INBOX", "a", "a/b", "a/b/c", "a/b/d"])
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("INBOX/sub"), specialUse: nil)
        #expect(try s.names(alice.id) == ["INBOX", "INBOX/sub", "a", "a/b", "a/b/c", "a/b/d"])
        expectError(.noSuchMailbox) { try s.mailbox(alice.id, "zzz") }
        expectError(.noSuchMailbox) { try s.mailbox(bob.id, "a") }

        // Another account has its own namespace.
        #expect(try s.names(bob.id) == ["INBOX"])
        let bobs = try store.createMailbox(accountID: bob.id, name: mailboxName("a"), specialUse: nil)
        #expect(bobs.id != (try s.mailbox(alice.id, "a")).id)
        #expect(try s.names(bob.id) == ["INBOX", "a"])
    }

    /// Mailboxes before, the rename, mailboxes after (INBOX aside).
    static let renames: [(before: [String], from: String, to: String, after: [String])] = [
        (["a", "a/b", "a/b/c", "ab", "ab/c", "b"], "a", "x", ["ab", "ab/c", "b", "x", "x/b", "x/b/c"]),
        (["a/b/c"], "a/b", "z", ["a", "z", "z/c"]),
        (["a"], "a", "p/q/a", ["p", "p/q", "p/q/a"]),
        (["a_", "a_/k", "ab/k", "a-/k"], "a_", "u", ["a-", "a-/k", "ab", "ab/k", "u", "u/k"]),
        (["a/b", "a/bc"], "a/b", "a/b2", ["a", "a/b2", "a/bc"]),
        (["Ünïcødé/ß"], "Ünïcødé", "ü", ["ü", "ü/ß"]),
    ]

    static func renameMailboxes(_ s: StorageUnderTest) throws {
        let store = s.store
        for (i, row) in renames.enumerated() {
            let account = try s.addAccount("r\(i)")
            for name in row.before { _ = try store.createMailbox(accountID: account.id, name: mailboxName(name), specialUse: nil) }
            // A message in each mailbox, to follow it.
            var marks: [String: [UInt8]] = [:]
            for (j, name) in try s.names(account.id).enumerated() { marks[name] = Fixture.body(100, seed: i * 100 + j) }
            _ = try store.store(
                try marks.map { name, bytes in try s.request(bytes, to: [Placement(accountID: account.id, mailbox: name)]) }, now: nil)
            let before = Dictionary(uniqueKeysWithValues: try store.mailboxes(accountID: account.id).map { ($0.name, $0) })
            try store.renameMailbox(accountID: account.id, from: mailboxName(row.from), to: mailboxName(row.to))
            #expect(try s.names(account.id) == ["INBOX"] + row.after, "rename \(row.from) to \(row.to)")
            for box in try store.mailboxes(accountID: account.id) {
                let old =
                    box.name.hasPrefix(row.to + "/") || box.name == row.to
                    ? row.from + box.name.dropFirst(row.to.count) : box.name
                guard let was = before[old] else { continue }  // a new parent
                #expect(try s.list(box.id).map { try s.whole($0) } == [marks[old]!], "\(old) → \(box.name) keeps its message")
                // No UID was reassigned, so UIDVALIDITY stays (RFC 3501 §2.3.1.1).
                #expect(box.uidValidity == was.uidValidity, "\(old) → \(box.name) keeps its UIDVALIDITY")
                #expect(box.uidNext == was.uidNext && box.highestModseq == was.highestModseq, "\(old) → \(box.name)")
            }
        }
    }

    static func renameRefused(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        for name in ["a/b", "c"] { _ = try store.createMailbox(accountID: alice.id, name: mailboxName(name), specialUse: nil) }
        let before = try store.mailboxes(accountID: alice.id)
        let table: [(String, String, StorageError.Kind)] = [
            ("a", "c", .mailboxExists),
            ("a", "a/b", .invalidRename),
            ("c", "INBOX", .mailboxExists),
            ("INBOX", "INBOX", .invalidRename),
            ("a", "a", .invalidRename),
            ("a/b", "a/b", .invalidRename),
            ("a", "a/x", .invalidRename),
            ("a", "a/b/x", .invalidRename),
            ("nope", "d", .noSuchMailbox),
        ]
        for (from, to, kind) in table {
            expectError(kind, "rename \(from) to \(to)") {
                try store.renameMailbox(accountID: alice.id, from: mailboxName(from), to: mailboxName(to))
            }
        }
        #expect(try store.mailboxes(accountID: alice.id) == before, "a refused rename changes nothing")
    }

    static func renameInbox(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        var bodies: [[UInt8]] = []
        for (i, size) in (s.bodySizes + [50]).enumerated() {
            let bytes = Fixture.body(size, seed: i)
            try s.put(bytes, prefix: Fixture.returnPath("s\(i)@remote.test"), into: alice.id, flags: i == 1 ? Fixture.seen : MessageFlags())
            bodies.append(Fixture.returnPath("s\(i)@remote.test") + bytes)
        }
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("INBOX/sub"), specialUse: nil)
        try s.put(Fixture.body(40, seed: 9), into: alice.id, "INBOX/sub")
        let inbox = try s.mailbox(alice.id, "INBOX")
        let flags = try s.list(inbox.id).map(\.flags)
        let used = try #require(try store.account(id: alice.id)).usedBytes

        try store.renameMailbox(accountID: alice.id, from: .inbox, to: mailboxName("Old/Inbox"))
        #expect(try s.names(alice.id) == ["INBOX", "INBOX/sub", "Old", "Old/Inbox"], "INBOX's children stay where they are")
        let old = try s.mailbox(alice.id, "Old/Inbox")
        let moved = try s.list(old.id)
        #expect(try moved.map { try s.whole($0) } == bodies, "the messages moved in their order")
        #expect(moved.map(\.flags) == flags)
        #expect(moved.map(\.uid) == [1, 2, 3])
        #expect(old.uidNext == 4)
        #expect(old.uidValidity != inbox.uidValidity)
        #expect(try s.list(inbox.id).isEmpty)
        #expect(try store.counts(mailboxID: inbox.id) == MailboxCounts(messages: 0, unseen: 0, sizeBytes: 0, recent: 0))
        #expect(
            try store.counts(mailboxID: old.id)
                == MailboxCounts(messages: 3, unseen: 2, sizeBytes: Int64(bodies.map(\.count).reduce(0, +)), recent: 3))
        #expect(try s.uids(alice.id, "INBOX/sub") == [1])
        #expect(try store.account(id: alice.id)?.usedBytes == used, "nothing was stored or removed")
        // RFC 7162: to INBOX's QRESYNC clients the messages vanished, after the modseq they knew.
        let after = try s.mailbox(alice.id, "INBOX")
        #expect(after.highestModseq > inbox.highestModseq)
        let vanished = try store.vanishedPage(
            accountID: alice.id, mailbox: .inbox, sinceModseq: inbox.highestModseq, within: nil, afterUID: nil, maxRanges: 10)
        #expect(vanished.uids.ranges == [1...3])
        let none = try store.vanishedPage(
            accountID: alice.id, mailbox: .inbox, sinceModseq: after.highestModseq, within: nil, afterUID: nil, maxRanges: 10)
        #expect(none.uids.ranges.isEmpty)
        let some = try store.vanishedPage(
            accountID: alice.id, mailbox: .inbox, sinceModseq: 0, within: UIDSet("2:*"), afterUID: nil, maxRanges: 10)
        #expect(some.uids.ranges == [2...3], "within the client's known UIDs")

        // INBOX keeps its UIDVALIDITY, so it must not hand out its old UIDs again.
        let inboxAfter = try s.mailbox(alice.id, "INBOX")
        #expect(inboxAfter.uidValidity == inbox.uidValidity)
        let next = try s.put(Fixture.body(10, seed: 77), into: alice.id)
        #expect(next >= inbox.uidNext)
        // Renaming INBOX again needs a new name.
        expectError(.mailboxExists) { try store.renameMailbox(accountID: alice.id, from: .inbox, to: mailboxName("Old/Inbox")) }
    }

    static func deleteMailboxes(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("a/b"), specialUse: nil)
        let shared = Fixture.body(s.bodySizes[1], seed: 1)
        let own = Fixture.body(s.bodySizes[1], seed: 2)
        let kept = try s.deliver(
            shared, to: [Placement(accountID: alice.id, mailbox: "INBOX"), Placement(accountID: alice.id, mailbox: "a/b")])
        try s.put(own, into: alice.id, "a/b")
        try s.put(Fixture.body(s.bodySizes[0], seed: 3), into: alice.id, "a/b")
        #expect(try s.totals == (messages: 4, bodies: 3))

        expectError(.mailboxIsInbox) { try store.deleteMailbox(accountID: alice.id, name: .inbox) }
        expectError(.noSuchMailbox) { try store.deleteMailbox(accountID: alice.id, name: mailboxName("nope")) }
        #expect(try s.names(alice.id) == ["INBOX", "a", "a/b"])

        let ab = try s.mailbox(alice.id, "a/b")
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("a/b"))
        #expect(try s.names(alice.id) == ["INBOX", "a"])
        expectError(.noSuchMailbox) { try store.counts(mailboxID: ab.id) }
        #expect(try s.totals == (messages: 1, bodies: 1), "the bodies only a/b used are gone")
        #expect(try s.whole(alice.id, "INBOX", try #require(kept.placements[0].uid)) == shared)
        let account = try #require(try store.account(id: alice.id))
        #expect(account.usedBytes == Int64(shared.count) && account.messageCount == 1)
        #expect(try store.verify(deep: true) == [])

        try store.deleteMailbox(accountID: alice.id, name: mailboxName("a"))
        #expect(try s.names(alice.id) == ["INBOX"])

        // RFC 3501 §6.3.4: a mailbox with children loses its messages and keeps its name as
        // \Noselect; deleting it again while it has children is refused; without them it goes.
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("p/q"), specialUse: nil)
        _ = try store.store(
            [try s.request(shared, to: [Placement(accountID: alice.id, mailbox: "p"), Placement(accountID: alice.id, mailbox: "p")])],
            now: nil)
        try s.put(own, into: alice.id, "p")
        let p = try s.mailbox(alice.id, "p")
        #expect(!p.noselect)
        #expect(try s.list(p.id).count == 3)
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("p"))
        let parent = try s.mailbox(alice.id, "p")
        #expect(parent.noselect && parent.id == p.id && parent.uidValidity == p.uidValidity)
        #expect(try s.list(p.id).isEmpty)
        #expect(try store.counts(mailboxID: p.id) == MailboxCounts(messages: 0, unseen: 0, sizeBytes: 0, recent: 0))
        #expect(try store.account(id: alice.id)?.usedBytes == Int64(shared.count), "p's messages no longer count")
        #expect(try s.totals == (messages: 1, bodies: 1))
        #expect(try s.names(alice.id) == ["INBOX", "p", "p/q"])
        expectError(.mailboxNotEmpty) { try store.deleteMailbox(accountID: alice.id, name: mailboxName("p")) }
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("p/q"))
        #expect(try s.mailbox(alice.id, "p").noselect, "a \\Noselect mailbox stays when its last child goes")
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("p"))
        #expect(try s.names(alice.id) == ["INBOX"])

        // The same name again is a new mailbox (RFC 3501 §2.3.1.1).
        let again = try store.createMailbox(accountID: alice.id, name: mailboxName("a/b"), specialUse: nil)
        #expect(again.uidValidity != ab.uidValidity)
        #expect(try s.list(again.id).isEmpty)
        #expect(try store.counts(mailboxID: again.id) == MailboxCounts(messages: 0, unseen: 0, sizeBytes: 0, recent: 0))
    }

    /// Only INBOX is case-insensitive (RFC 3501 §5.1); `Work` and `work` are two mailboxes,
    /// and one's children are not the other's.
    static func caseSensitiveNames(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        for name in ["Work/a", "work"] { _ = try store.createMailbox(accountID: alice.id, name: mailboxName(name), specialUse: nil) }
        let a = try s.put(Fixture.body(60, seed: 1), into: alice.id, "Work/a")
        #expect(try s.names(alice.id) == ["INBOX", "Work", "Work/a", "work"])

        try store.renameMailbox(accountID: alice.id, from: mailboxName("work"), to: mailboxName("play"))
        #expect(try s.names(alice.id) == ["INBOX", "Work", "Work/a", "play"])
        #expect(try s.uids(alice.id, "Work/a") == [a])
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("play"))
        #expect(try s.names(alice.id) == ["INBOX", "Work", "Work/a"])
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("work"), specialUse: nil)
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("work"))
        #expect(try s.names(alice.id) == ["INBOX", "Work", "Work/a"])
    }

    static func subscribe(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("a"), specialUse: nil)
        try store.subscribe(accountID: alice.id, name: mailboxName("a"), subscribed: false)
        #expect(try s.mailbox(alice.id, "a").subscribed == false)
        #expect(try s.mailbox(alice.id, "INBOX").subscribed)
        try store.subscribe(accountID: alice.id, name: mailboxName("a"), subscribed: false)
        #expect(try s.mailbox(alice.id, "a").subscribed == false)
        try store.subscribe(accountID: alice.id, name: mailboxName("a"), subscribed: true)
        #expect(try s.mailbox(alice.id, "a").subscribed)
        #expect(try store.subscriptions(accountID: alice.id) == ["INBOX", "a"])
    }

    /// RFC 3501 §6.3.6: subscriptions are a list of names of their own.
    static func subscriptions(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let bob = try s.addAccount("bob")
        try store.subscribe(accountID: alice.id, name: mailboxName("Not/yet"), subscribed: true)
        try store.subscribe(accountID: alice.id, name: mailboxName("Not/yet"), subscribed: true)
        #expect(try store.subscriptions(accountID: alice.id) == ["INBOX", "Not/yet"], "a name that is no mailbox, once")
        #expect(try store.subscriptions(accountID: bob.id) == ["INBOX"])
        try store.subscribe(accountID: alice.id, name: mailboxName("Never"), subscribed: false)
        // Creating a subscribed name: the mailbox is subscribed, the name listed once.
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Not/yet"), specialUse: nil)
        #expect(try s.mailbox(alice.id, "Not/yet").subscribed && (try s.mailbox(alice.id, "Not").subscribed))
        #expect(try store.subscriptions(accountID: alice.id) == ["INBOX", "Not", "Not/yet"])
        // Delete keeps them.
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("Not/yet"))
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("Not"))
        #expect(try store.subscriptions(accountID: alice.id) == ["INBOX", "Not", "Not/yet"])
        #expect(try s.names(alice.id) == ["INBOX"])

        // Rename moves the subscriptions of the mailbox and of every name below it, and only those.
        for name in ["W", "W/a", "W/a/b", "Wx"] {
            _ = try store.createMailbox(accountID: alice.id, name: mailboxName(name), specialUse: nil)
        }
        try store.subscribe(accountID: alice.id, name: mailboxName("W/a"), subscribed: false)
        try store.subscribe(accountID: alice.id, name: mailboxName("W/gone"), subscribed: true)
        try store.subscribe(accountID: alice.id, name: mailboxName("Z/W"), subscribed: true)
        try store.renameMailbox(accountID: alice.id, from: mailboxName("W"), to: mailboxName("Z"))
        #expect(try s.names(alice.id) == ["INBOX", "Wx", "Z", "Z/a", "Z/a/b"])
        #expect(try store.subscriptions(accountID: alice.id) == ["INBOX", "Not", "Not/yet", "Wx", "Z", "Z/W", "Z/a/b", "Z/gone"])
        #expect(try s.mailbox(alice.id, "Z").subscribed && !(try s.mailbox(alice.id, "Z/a").subscribed))
        // Renaming INBOX leaves its subscription; the new mailbox is subscribed as new ones are.
        try store.renameMailbox(accountID: alice.id, from: .inbox, to: mailboxName("Old"))
        #expect(try store.subscriptions(accountID: alice.id).contains("INBOX") && (try s.mailbox(alice.id, "Old").subscribed))
        // Removing the account removes its list.
        try store.removeAccount(address: "alice@\(StorageUnderTest.domain)")
        #expect(try store.subscriptions(accountID: alice.id).isEmpty)
        #expect(try store.subscriptions(accountID: bob.id) == ["INBOX"])
    }

    static func noselectMailboxes(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("n/child"), specialUse: nil)
        let n = try s.mailbox(alice.id, "n")
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Other"), specialUse: nil)
        try s.put(Fixture.body(30, seed: 1), into: alice.id, "n", flags: Fixture.seen)
        try s.put(Fixture.body(30, seed: 2), into: alice.id)
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("n"))
        #expect(try s.mailbox(alice.id, "n").noselect)

        expectError(.notSelectable) { try store.select(accountID: alice.id, name: mailboxName("n"), claimRecent: true) }
        expectError(.notSelectable) { try store.select(accountID: alice.id, name: mailboxName("n"), claimRecent: false) }
        expectError(.notSelectable) { try store.uidPage(accountID: alice.id, mailbox: mailboxName("n"), afterUID: nil) }
        let inbox = try s.mailbox(alice.id, "INBOX")
        expectError(.notSelectable) { try store.copy(accountID: alice.id, from: inbox.id, uids: .all, to: "n", move: false) }
        expectError(.notSelectable) { try store.copy(accountID: alice.id, from: inbox.id, uids: .all, to: "n", move: true) }
        let stored = try s.deliver(Fixture.body(30, seed: 3), to: [Placement(accountID: alice.id, mailbox: "n")])
        #expect(stored.placements.first?.failure == .notSelectable, "nothing is stored in a \\Noselect mailbox")
        #expect(try s.uids(alice.id, "INBOX") == [1])

        // Renaming keeps it \Noselect; creating its name makes it a mailbox again, empty and new.
        try store.renameMailbox(accountID: alice.id, from: mailboxName("n"), to: mailboxName("m"))
        #expect(try s.mailbox(alice.id, "m").noselect && (try s.names(alice.id)) == ["INBOX", "Other", "m", "m/child"])
        let revived = try store.createMailbox(accountID: alice.id, name: mailboxName("m"), specialUse: "\\Archive")
        #expect(!revived.noselect && revived.id == n.id && revived.specialUse == "\\Archive")
        #expect(revived.uidValidity != n.uidValidity && revived.uidNext == 1)
        expectError(.mailboxExists) { try store.createMailbox(accountID: alice.id, name: mailboxName("m"), specialUse: nil) }
        let uid = try s.put(Fixture.body(30, seed: 4), into: alice.id, "m")
        #expect(uid == 1)
        #expect(try store.select(accountID: alice.id, name: mailboxName("m"), claimRecent: true).uids.uids == [1])
    }

    /// The counters after each kind of change, checked against the listing too.
    static func countsFollowChanges(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let inbox = try s.mailbox(alice.id, "INBOX")
        let other = try store.createMailbox(accountID: alice.id, name: mailboxName("Other"), specialUse: nil)
        let prefix = Fixture.returnPath("s@remote.test")
        let sizes = [100, s.bodySizes[1], 300].map { Int64($0) }
        func expectCounts(_ box: MailboxRecord, _ messages: Int, unseen: Int, size: Int64, recent: Int, _ step: String) throws {
            let counts = try store.counts(mailboxID: box.id)
            #expect(
                counts == MailboxCounts(messages: messages, unseen: unseen, sizeBytes: size, recent: recent), "\(box.name) after \(step)")
            let listed = try s.list(box.id)
            #expect(listed.count == counts.messages, "\(box.name) after \(step): listing")
            #expect(listed.filter { !$0.flags.system.contains(.seen) }.count == counts.unseen, "\(box.name) after \(step): listing")
            #expect(listed.map(\.size).reduce(0, +) == counts.sizeBytes, "\(box.name) after \(step): listing")
        }
        try expectCounts(inbox, 0, unseen: 0, size: 0, recent: 0, "nothing")

        for (i, size) in sizes.enumerated() {
            try s.put(
                Fixture.body(Int(size), seed: i), prefix: i == 0 ? prefix : [], into: alice.id,
                flags: i == 2 ? Fixture.seen : MessageFlags())
        }
        let total = sizes.reduce(0, +) + Int64(prefix.count)
        let m1 = sizes[0] + Int64(prefix.count)
        try expectCounts(inbox, 3, unseen: 2, size: total, recent: 3, "store")
        try expectCounts(other, 0, unseen: 0, size: 0, recent: 0, "store")

        func flags(_ uids: String, _ op: FlagOperation, _ f: MessageFlags) throws {
            _ = try store.changeFlags(mailboxID: inbox.id, uids: try #require(UIDSet(uids)), operation: op, flags: f, unchangedSince: nil)
        }
        try flags("1", .add, Fixture.seen)
        try expectCounts(inbox, 3, unseen: 1, size: total, recent: 3, "\\Seen added")
        try flags("2", .add, MessageFlags(system: .flagged, keywords: ["x"]))
        try expectCounts(inbox, 3, unseen: 1, size: total, recent: 3, "other flags added")
        try flags("3", .remove, Fixture.seen)
        try expectCounts(inbox, 3, unseen: 2, size: total, recent: 3, "\\Seen removed")
        try flags("1:*", .set, MessageFlags(system: [.seen, .answered]))
        try expectCounts(inbox, 3, unseen: 0, size: total, recent: 3, "\\Seen set on all")
        try flags("1,3", .set, MessageFlags())
        try expectCounts(inbox, 3, unseen: 2, size: total, recent: 3, "flags cleared")

        _ = try store.copy(accountID: alice.id, from: inbox.id, uids: try #require(UIDSet("1:2")), to: "Other", move: false)
        try expectCounts(inbox, 3, unseen: 2, size: total, recent: 3, "copy out")
        try expectCounts(other, 2, unseen: 1, size: m1 + sizes[1], recent: 2, "copy in")

        _ = try store.copy(accountID: alice.id, from: inbox.id, uids: try #require(UIDSet("3")), to: "Other", move: true)
        try expectCounts(inbox, 2, unseen: 1, size: m1 + sizes[1], recent: 2, "move out")
        try expectCounts(other, 3, unseen: 2, size: total, recent: 3, "move in")

        #expect(try store.claimRecent(mailboxID: other.id) == 1)
        try expectCounts(other, 3, unseen: 2, size: total, recent: 0, "claim")

        try flags("1", .add, Fixture.deleted)
        _ = try store.expunge(accountID: alice.id, mailboxID: inbox.id, uids: nil, regardlessOfFlags: false)
        try expectCounts(inbox, 1, unseen: 0, size: sizes[1], recent: 1, "expunge")

        try store.deleteMailbox(accountID: alice.id, name: mailboxName("Other"))
        expectError(.noSuchMailbox) { try store.counts(mailboxID: other.id) }
        try expectCounts(inbox, 1, unseen: 0, size: sizes[1], recent: 1, "deleting another mailbox")

        try store.renameMailbox(accountID: alice.id, from: .inbox, to: mailboxName("Old"))
        try expectCounts(inbox, 0, unseen: 0, size: 0, recent: 0, "INBOX renamed away")
        try expectCounts(try s.mailbox(alice.id, "Old"), 1, unseen: 0, size: sizes[1], recent: 1, "INBOX renamed here")
        let account = try #require(try store.account(id: alice.id))
        #expect(account.usedBytes == sizes[1] && account.messageCount == 1)
    }

    /// RFC 3501 §2.3.1.2: a message is recent to one session only.
    static func claimRecent(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let inbox = try s.mailbox(alice.id, "INBOX")
        #expect(try store.claimRecent(mailboxID: inbox.id) == 1, "an empty mailbox: UIDNEXT, so no UID is recent")
        #expect(try store.claimRecent(mailboxID: inbox.id) == 1)
        try s.put(Fixture.body(10, seed: 1), into: alice.id)
        try s.put(Fixture.body(10, seed: 2), into: alice.id)
        #expect(try store.counts(mailboxID: inbox.id).recent == 2)
        #expect(try store.claimRecent(mailboxID: inbox.id) == 1, "the first claim gets UIDs 1 and 2")
        #expect(try store.counts(mailboxID: inbox.id).recent == 0)
        #expect(try store.claimRecent(mailboxID: inbox.id) == 3, "the second sees none (UIDNEXT is 3)")

        try s.put(Fixture.body(10, seed: 3), into: alice.id)
        #expect(try store.counts(mailboxID: inbox.id).recent == 1, "new mail after a claim is recent again")
        try s.reopen()
        let store2 = s.store
        #expect(try store2.counts(mailboxID: inbox.id).recent == 1, "claims survive a restart")
        // Copied and moved messages are recent in their new mailbox (RFC 3501 §6.4.7).
        _ = try store2.createMailbox(accountID: alice.id, name: mailboxName("Other"), specialUse: nil)
        let other = try s.mailbox(alice.id, "Other")
        _ = try store2.copy(accountID: alice.id, from: inbox.id, uids: try #require(UIDSet("1")), to: "Other", move: false)
        #expect(try store2.claimRecent(mailboxID: other.id) == 1)
        _ = try store2.copy(accountID: alice.id, from: inbox.id, uids: try #require(UIDSet("2")), to: "Other", move: true)
        #expect(try store2.counts(mailboxID: other.id).recent == 1)
        #expect(try store2.claimRecent(mailboxID: inbox.id) == 3)
        #expect(try store2.claimRecent(mailboxID: other.id) == 2)
        #expect(try store2.counts(mailboxID: other.id).recent == 0)
    }

    /// The back-end looks a mailbox up by name, then acts on its id: another session may
    /// delete it in between. That is an error, not a crash.
    static func goneMailbox(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Gone"), specialUse: nil)
        try s.put(Fixture.body(10, seed: 1), into: alice.id, "Gone", flags: Fixture.deleted)
        let gone = try s.mailbox(alice.id, "Gone")
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("Gone"))
        expectError(.noSuchMailbox) { try store.counts(mailboxID: gone.id) }
        expectError(.noSuchMailbox) { try store.claimRecent(mailboxID: gone.id) }
        expectError(.noSuchMailbox) {
            try store.changeFlags(mailboxID: gone.id, uids: .all, operation: .add, flags: Fixture.seen, unchangedSince: nil)
        }
        expectError(.noSuchMailbox) { try store.expunge(accountID: alice.id, mailboxID: gone.id, uids: nil, regardlessOfFlags: true) }
    }
}
