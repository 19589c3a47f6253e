import Foundation
import MailCore
import Storage
import Testing

/// Restarts: what was committed reads back the same; what failed left nothing.
extension StorageContract {
    static let durabilityChecks: [ContractCheck] = [
        ContractCheck("after a restart everything reads back the same, and goes on from there", restart),
        ContractCheck("a batch that fails leaves no trace, before and after a restart", failedBatch),
        ContractCheck("a backup leaves the store working", backup),
    ]

    /// A message as clients see it: its row without the store's reference, and its bytes.
    struct SeenMessage: Equatable {
        var uid: UInt32
        var size: Int64
        var internalDate: Int64
        var flags: MessageFlags
        var modseq: Int64
        var structure: String?
        var prefixLength: Int
        var bytes: [UInt8]
    }

    /// Everything the protocols show, for comparing a store with itself.
    struct Snapshot: Equatable {
        var domains: [String] = []
        var accounts: [AccountRecord] = []
        var aliases: [String] = []
        var groups: [GroupRecord] = []
        var settings: [String?] = []
        var mailboxes: [MailboxRecord] = []
        var counts: [MailboxCounts] = []
        var messages: [[SeenMessage]] = []
        var queue: [QueueEntry] = []
        var totals: [Int64] = []
        var outcomes: [String?] = []
        var challengeResponse = false
    }

    static func snapshot(
        _ s: StorageUnderTest, settings: [String] = ["greeting"], outcomes: [String] = ["key-1", "key-2"]
    ) throws -> Snapshot {
        let store = s.store
        var snap = Snapshot()
        snap.domains = try store.domains().map { "\($0.name) \($0.accounts)" }
        snap.accounts = try store.accounts(domain: nil)
        snap.aliases = try store.aliases(domain: nil).map { "\($0.address)=\($0.targets.joined(separator: ","))" }
        snap.groups = try store.groups(domain: nil)
        snap.settings = try settings.map { try store.setting($0) }
        for account in snap.accounts {
            for box in try store.mailboxes(accountID: account.id) {
                snap.mailboxes.append(box)
                snap.counts.append(try store.counts(mailboxID: box.id))
                snap.messages.append(
                    try s.list(box.id, withStructure: true).map {
                        SeenMessage(
                            uid: $0.uid, size: $0.size, internalDate: $0.internalDate, flags: $0.flags, modseq: $0.modseq,
                            structure: $0.structure, prefixLength: $0.prefixLength, bytes: try s.whole($0))
                    })
            }
        }
        snap.queue = try store.queueEntries(limit: 1000)
        let totals = try store.counts()
        snap.totals = [totals.messages, totals.bodies]
        snap.outcomes = try outcomes.map { try store.recordedOutcome(key: $0) }
        snap.challengeResponse = try store.anyChallengeResponseAccount()
        return snap
    }

    /// A store with a bit of everything in it.
    static func populate(_ s: StorageUnderTest) throws -> (alice: AccountRecord, bob: AccountRecord) {
        let store = s.store
        let alice = try s.addAccount("alice", quota: 10_000_000)
        var change = AccountChange()
        change.apopSecret = [7, 7]
        change.displayName = "Alice"
        _ = try store.updateAccount(address: alice.address, change)
        let bob = try s.addAccount("bob")
        _ = try store.addAlias(address: "info@example.test", domain: "example.test", targets: ["alice@example.test", "bob@example.test"])
        _ = try store.addGroup(address: "team@example.test", domain: "example.test", name: "Team", members: ["alice@example.test"])
        try store.setSetting("greeting", "hello")
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Archive/2024"), specialUse: "\\Archive")
        try store.subscribe(accountID: alice.id, name: mailboxName("Archive"), subscribed: false)
        let prefix = Fixture.returnPath("s@remote.test")
        for (i, size) in (s.bodySizes + [0, 77]).enumerated() {
            _ = try store.store(
                [
                    StoreRequest(
                        body: try s.prepare(Fixture.body(size, seed: i)), structure: "{\"i\":\(i)}", prefix: i % 2 == 0 ? prefix : [],
                        internalDate: StorageUnderTest.date + Int64(i),
                        placements: [
                            Placement(
                                accountID: alice.id, mailbox: "INBOX", flags: MessageFlags(system: i == 1 ? .seen : [], keywords: ["k\(i)"])
                            ),
                            Placement(accountID: bob.id, mailbox: "INBOX"),
                        ], queueSender: "alice@example.test", queueRecipients: i == 0 ? ["z@remote.test"] : [],
                        outcome: i < 2 ? RecordedOutcome(key: "key-\(i + 1)", render: { "outcome \($0.placements.count)" }) : nil)
                ], now: 1_700_000_000)
        }
        let inbox = try s.mailbox(alice.id, "INBOX")
        _ = try store.copy(accountID: alice.id, from: inbox.id, uids: UIDSet("1:2")!, to: "Archive/2024", move: false)
        _ = try store.copy(accountID: alice.id, from: inbox.id, uids: UIDSet("3")!, to: "Archive", move: true)
        _ = try store.changeFlags(mailboxID: inbox.id, uids: UIDSet("4")!, operation: .add, flags: Fixture.deleted, unchangedSince: nil)
        _ = try store.expunge(accountID: alice.id, mailboxID: inbox.id, uids: nil, regardlessOfFlags: false)
        _ = try store.claimRecent(mailboxID: inbox.id)
        try s.put(Fixture.body(20, seed: 99), into: alice.id)
        return (alice, bob)
    }

    static func restart(_ s: StorageUnderTest) throws {
        let (alice, _) = try populate(s)
        let before = try snapshot(s)
        #expect(before.messages.contains { !$0.isEmpty })
        try s.reopen()
        let after = try snapshot(s)
        #expect(after == before)
        #expect(try s.store.verify(deep: true) == [])
        // And goes on where it was: UIDs and modseqs continue, UIDVALIDITY is never reused,
        // recent is what it was.
        let inbox = try s.mailbox(alice.id, "INBOX")
        #expect(try s.store.counts(mailboxID: inbox.id).recent == 1)
        let uid = try s.put(Fixture.body(30, seed: 500), into: alice.id)
        #expect(uid == inbox.uidNext)
        #expect(try s.mailbox(alice.id, "INBOX").highestModseq > inbox.highestModseq)
        let validities = Set(after.mailboxes.map(\.uidValidity))
        let new = try s.store.createMailbox(accountID: alice.id, name: mailboxName("New"), specialUse: nil)
        #expect(!validities.contains(new.uidValidity))
        // A second restart in a row changes nothing either.
        let third = try snapshot(s)
        try s.reopen()
        #expect(try snapshot(s) == third)
    }

    struct RenderFailed: Error {}

    /// A batch whose commit throws (here: its outcome cannot be rendered) stores none of its
    /// requests: no rows, no bodies, no UIDs used, no files, and a body already stored with
    /// the same content is untouched.
    static func failedBatch(_ s: StorageUnderTest) throws {
        let alice = try s.addAccount("alice")
        let existing = Fixture.body(s.bodySizes[1], seed: 1)
        let existingUID = try s.put(existing, into: alice.id)
        let before = try snapshot(s, outcomes: ["boom"])
        let into = [Placement(accountID: alice.id, mailbox: "INBOX")]
        func batch(failing: Bool) throws -> [StoreRequest] {
            [
                try s.request(Fixture.body(s.bodySizes[0], seed: 2), to: into),
                try s.request(Fixture.body(s.bodySizes[1], seed: 3), to: into + [Placement(accountID: alice.id, mailbox: "Nope")]),
                try s.request(existing, to: into),
                try s.request(
                    Fixture.body(50, seed: 4), to: into,
                    outcome: RecordedOutcome(key: "boom") { _ in
                        if failing { throw RenderFailed() }
                        return "ok"
                    }),
            ]
        }
        #expect(throws: RenderFailed.self) { try s.store.store(try batch(failing: true), now: nil) }
        #expect(try snapshot(s, outcomes: ["boom"]) == before)
        #expect(try s.store.verify(deep: true) == [])
        #expect(try s.whole(alice.id, "INBOX", existingUID) == existing)
        try s.reopen()
        #expect(try snapshot(s, outcomes: ["boom"]) == before)
        #expect(try s.store.verify(deep: true) == [])

        // The same batch, able to commit, takes the UIDs the failed one did not use.
        let results = try s.store.store(try batch(failing: false), now: nil)
        #expect(results.map { $0.placements.map(\.uid) } == [[2], [3, nil], [4], [5]])
        #expect(try s.totals == (messages: 5, bodies: 4))
        #expect(try s.store.recordedOutcome(key: "boom") == "ok")
    }

    static func backup(_ s: StorageUnderTest) throws {
        let alice = try s.addAccount("alice")
        try s.put(Fixture.body(40, seed: 1), into: alice.id)
        let before = try snapshot(s)
        let path = try s.store.backup(reason: "contract")
        #expect(!path.isEmpty)
        #expect(try snapshot(s) == before)
        try s.put(Fixture.body(40, seed: 2), into: alice.id)
        #expect(try s.uids(alice.id, "INBOX") == [1, 2])
    }
}
