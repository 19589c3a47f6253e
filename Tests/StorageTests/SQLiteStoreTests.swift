import Foundation
import GRDB
import MailCore
import Storage
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What only the embedded store promises, checked by looking inside its data directory
/// (`loft.sqlite`, `blobs/xx/<sha256>`, `blobs/tmp/`): crash leftovers are cleaned up,
/// `verify` finds tampering, and its limits hold at the limit.
@Suite(.timeLimit(.minutes(2))) struct SQLiteStoreTests {
    /// A store in a directory of its own, with the contract's helpers.
    struct Opened {
        let s: StorageUnderTest
        let dir: String
        var blobs: String { dir + "/blobs" }

        init(_ options: StoreOptions = StoreOptions()) throws {
            let dir = FileManager.default.temporaryDirectory.path + "/loft-sqlite-\(UUID().uuidString)"
            self.dir = dir
            s = try StorageUnderTest(
                StorageFactory(name: "SQLite") {
                    (
                        try SQLiteStore(directory: dir, options: options), { try SQLiteStore(directory: dir, options: options) },
                        { try? FileManager.default.removeItem(atPath: dir) }
                    )
                })
        }

        func path(_ digest: BodyDigest) -> String { path(hex: digest.hex) }
        func path(hex: String) -> String { "\(blobs)/\(hex.prefix(2))/\(hex)" }
        var staged: [String] { (try? FileManager.default.contentsOfDirectory(atPath: blobs + "/tmp")) ?? [] }
        func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

        /// Changes the database with the store closed, then opens the store again.
        func tamper(sql: String, arguments: StatementArguments = StatementArguments()) throws {
            try s.reopen {
                let db = try DatabaseQueue(path: dir + "/" + SQLiteStore.databaseName)
                try db.write { try $0.execute(sql: sql, arguments: arguments) }
                try db.close()
                return try SQLiteStore(directory: dir)
            }
        }

        /// Stores `bytes` in alice's INBOX and answers the body's digest.
        func store(_ bytes: [UInt8], into accountID: Int64) throws -> (uid: UInt32, digest: BodyDigest) {
            let body = try s.prepare(bytes)
            let result = try s.store.store(
                [
                    StoreRequest(
                        body: body, structure: nil, internalDate: 1, placements: [Placement(accountID: accountID, mailbox: "INBOX")])
                ], now: nil)
            return (try #require(result[0].placements[0].uid), body.digest)
        }
    }

    /// A crash between a body file's rename into place and its batch's commit leaves a file no
    /// row names. The background sweep after the next start removes it, and only it.
    @Test func orphanFilesAreSweptAfterARestart() throws {
        let o = try Opened(.inline(1024))
        defer { o.s.finish() }
        let alice = try o.s.addAccount("alice")
        let live = Fixture.body(3000, seed: 1)
        let (uid, liveDigest) = try o.store(live, into: alice.id)
        #expect(o.exists(o.path(liveDigest)))

        let orphan = try o.s.prepare(Fixture.body(5000, seed: 2))
        guard case .file(let staged) = orphan.content else {
            Issue.record("a body over the inline limit is not staged as a file")
            return
        }
        let installed = o.path(orphan.digest)
        let stray = o.path(hex: String(repeating: "ab", count: 32))
        let notABody = o.blobs + "/ab/notes.txt"
        try o.s.reopen {
            // The body was renamed into place; its batch never committed.
            mkdir(String(installed.dropLast(65)), 0o700)
            #expect(rename(staged, installed) == 0)
            mkdir(String(stray.dropLast(65)), 0o700)
            #expect(FileManager.default.createFile(atPath: stray, contents: Data("stray".utf8)))
            #expect(FileManager.default.createFile(atPath: notABody, contents: Data("keep".utf8)))
            return try SQLiteStore(directory: o.dir, options: .inline(1024))
        }
        let deadline = Date().addingTimeInterval(5)
        while (o.exists(installed) || o.exists(stray)) && Date() < deadline { usleep(20_000) }
        #expect(!o.exists(installed), "the orphaned body file is swept")
        #expect(!o.exists(stray), "a file named like a body with no row is swept")
        #expect(o.exists(notABody), "a file not named like a body is left alone")
        #expect(o.exists(o.path(liveDigest)), "a body in use is not swept")
        #expect(try o.s.whole(alice.id, "INBOX", uid) == live)
        #expect(try o.s.store.verify(deep: true) == [])
        #expect(try o.s.totals == (messages: 1, bodies: 1))
    }

    /// Uploads that never committed are in `blobs/tmp/`; opening the store empties it.
    @Test func unfinishedUploadsAreRemovedAtOpen() throws {
        let o = try Opened(.inline(1024))
        defer { o.s.finish() }
        let finished = try o.s.prepare(Fixture.body(4000, seed: 1))
        let unfinished = try o.s.store.newBody()
        try unfinished.append(Fixture.body(4000, seed: 2))
        #expect(FileManager.default.createFile(atPath: o.blobs + "/tmp/junk", contents: Data("x".utf8)))
        #expect(o.staged.count == 3)
        try o.s.reopen()
        #expect(o.staged.isEmpty)
        unfinished.discard()
        finished.discard()
        #expect(try o.s.store.verify(deep: true) == [])
    }

    /// Whatever becomes of a body, its staged file does not outlive it.
    @Test func stagedFilesDoNotOutliveTheirBody() throws {
        let o = try Opened(.inline(1024))
        defer { o.s.finish() }
        let alice = try o.s.addAccount("alice")
        let big = Fixture.body(4000, seed: 1)
        let discarded = try o.s.store.newBody()
        try discarded.append(big)
        #expect(o.staged.count == 1)
        discarded.discard()
        #expect(o.staged.isEmpty, "a discarded writer")
        do {
            let dropped = try o.s.store.newBody()
            try dropped.append(big)
        }
        #expect(o.staged.isEmpty, "a writer let go of")
        try o.s.prepare(big).discard()
        #expect(o.staged.isEmpty, "a finished body discarded")

        let stored = try o.s.prepare(big)
        _ = try o.s.store.store(
            [StoreRequest(body: stored, structure: nil, internalDate: 1, placements: [Placement(accountID: alice.id, mailbox: "INBOX")])],
            now: nil)
        #expect(o.staged.isEmpty, "a stored body")
        #expect(o.exists(o.path(stored.digest)))

        let refused = try o.s.prepare(Fixture.body(4000, seed: 2))
        let results = try o.s.store.store(
            [StoreRequest(body: refused, structure: nil, internalDate: 1, placements: [Placement(accountID: alice.id, mailbox: "Nope")])],
            now: nil)
        #expect(results[0].placements.map(\.failure) == [.noSuchMailbox])
        #expect(o.staged.isEmpty && !o.exists(o.path(refused.digest)), "a body no placement took")

        let failing = try o.s.prepare(Fixture.body(4000, seed: 3))
        let request = StoreRequest(
            body: failing, structure: nil, internalDate: 1, placements: [Placement(accountID: alice.id, mailbox: "INBOX")],
            outcome: RecordedOutcome(key: "k") { _ in throw StorageError(.ioFailure, "injected") })
        #expect(throws: StorageError.self) { try o.s.store.store([request], now: nil) }
        #expect(o.staged.isEmpty && !o.exists(o.path(failing.digest)), "a body of a batch that failed")
        #expect(try o.s.store.verify(deep: true) == [])
    }

    /// How the data directory is damaged, and whether the cheap check sees it too.
    struct Tampering: Sendable, CustomTestStringConvertible {
        let name: String
        /// Given the store, the inline body's digest and the file body's.
        let damage: @Sendable (Opened, BodyDigest, BodyDigest) throws -> Void
        let shallowSees: Bool
        /// Which body the problem is about, if it is about one.
        let mentionsInline: Bool?
        var testDescription: String { name }
    }

    static let tamperings: [Tampering] = [
        Tampering(
            name: "inline bytes altered, same size",
            damage: { o, inline, _ in
                try o.tamper(
                    sql: "UPDATE body SET data = zeroblob(length(data)) WHERE blob_id = (SELECT id FROM blob WHERE sha256 = ?)",
                    arguments: [Data(inline.bytes)])
            }, shallowSees: false, mentionsInline: true),
        Tampering(
            name: "inline bytes cut short",
            damage: { o, inline, _ in
                try o.tamper(
                    sql: "UPDATE body SET data = substr(data, 1, length(data) - 1) WHERE blob_id = (SELECT id FROM blob WHERE sha256 = ?)",
                    arguments: [Data(inline.bytes)])
            }, shallowSees: true, mentionsInline: true),
        Tampering(
            name: "body file truncated",
            damage: { o, _, file in
                #expect(truncate(o.path(file), 100) == 0)
            }, shallowSees: true, mentionsInline: false),
        Tampering(
            name: "body file altered, same size",
            damage: { o, _, file in
                let handle = try #require(FileHandle(forWritingAtPath: o.path(file)))
                try handle.seek(toOffset: 10)
                try handle.write(contentsOf: Data("XXXX".utf8))
                try handle.close()
            }, shallowSees: false, mentionsInline: false),
        Tampering(
            name: "body file deleted",
            damage: { o, _, file in #expect(unlink(o.path(file)) == 0) }, shallowSees: true, mentionsInline: false),
        Tampering(
            name: "a reference count off by one",
            damage: { o, inline, _ in
                try o.tamper(sql: "UPDATE blob SET refs = refs + 1 WHERE sha256 = ?", arguments: [Data(inline.bytes)])
            }, shallowSees: true, mentionsInline: true),
        Tampering(
            name: "a mailbox counter off by one",
            damage: { o, _, _ in try o.tamper(sql: "UPDATE mailbox SET unseen_count = unseen_count + 1 WHERE name = 'INBOX'") },
            shallowSees: true, mentionsInline: nil),
        Tampering(
            name: "an account's usage off by one",
            damage: { o, _, _ in try o.tamper(sql: "UPDATE account SET used_bytes = used_bytes + 1") }, shallowSees: true,
            mentionsInline: nil),
    ]

    @Test(arguments: tamperings)
    func verifyFindsTampering(_ tampering: Tampering) throws {
        let o = try Opened()
        defer { o.s.finish() }
        let alice = try o.s.addAccount("alice")
        let inline = try o.store(Fixture.body(200, seed: 1), into: alice.id).digest
        let file = try o.store(Fixture.body(o.s.store.inlineBodyLimit + 100, seed: 2), into: alice.id).digest
        #expect(try o.s.store.verify(deep: true) == [])
        try tampering.damage(o, inline, file)
        let deep = try o.s.store.verify(deep: true)
        #expect(!deep.isEmpty, "deep verify misses it")
        if tampering.shallowSees { #expect(try !o.s.store.verify(deep: false).isEmpty, "verify misses it") }
        if let mentionsInline = tampering.mentionsInline {
            let digest = mentionsInline ? inline : file
            #expect(deep.contains { $0.contains(digest.hex) }, "\(deep) does not name body \(digest)")
        }
    }

    enum Cut: String, CaseIterable, Sendable { case file, inline }

    /// A body shorter than its row says is corruption, not a message that ends early: an IMAP
    /// literal or a POP3 size announced from the row would not match the bytes.
    @Test(arguments: Cut.allCases)
    func readingACutShortBodyFails(_ cut: Cut) throws {
        let o = try Opened(.inline(cut == .file ? 1024 : 64 * 1024))
        defer { o.s.finish() }
        let alice = try o.s.addAccount("alice")
        let bytes = Fixture.body(5000, seed: 1)
        let (uid, digest) = try o.store(bytes, into: alice.id)
        switch cut {
        case .file: #expect(truncate(o.path(digest), 3000) == 0)
        case .inline:
            try o.tamper(
                sql: "UPDATE body SET data = substr(data, 1, 3000) WHERE blob_id = (SELECT id FROM blob WHERE sha256 = ?)",
                arguments: [Data(digest.bytes)])
        }
        let message = try o.s.message(alice.id, "INBOX", uid)
        #expect(message.size == 5000)
        expectError(.corrupt) { try o.s.store.read(message, offset: 0, length: 5000) }
        expectError(.corrupt) { try o.s.store.read(message, offset: 2900, length: 200) }
        expectError(.corrupt) { try o.s.store.read(message, offset: 4000, length: 10) }
        #expect(try o.s.store.read(message, offset: 0, length: 3000) == Array(bytes.prefix(3000)), "the bytes still there read")
        #expect(try o.s.store.read(message, offset: 5000, length: 10) == [], "past the end is empty, as always")
        expectError(.corrupt) { try o.s.store.readBatch(accountID: alice.id, mailbox: .inbox, uids: [uid], length: 5000, budget: 10_000) }
        if cut == .file {
            #expect(unlink(o.path(digest)) == 0)
            expectError(.corrupt) { try o.s.store.read(message, offset: 0, length: 10) }
        }
    }

    /// A body is one body whichever side of the inline limit it arrived on: the limit can
    /// change between runs.
    @Test func oneBodyAcrossAChangedInlineLimit() throws {
        let o = try Opened(.inline(64 * 1024))
        defer { o.s.finish() }
        let alice = try o.s.addAccount("alice")
        let bob = try o.s.addAccount("bob")
        let first = Fixture.body(2000, seed: 1)
        let (a1, inlineDigest) = try o.store(first, into: alice.id)
        let second = Fixture.body(2000, seed: 2)
        try o.s.reopen { try SQLiteStore(directory: o.dir, options: .inline(1024)) }
        // Stored inline before; arrives as a file now.
        let (b1, _) = try o.store(first, into: bob.id)
        #expect(try o.s.totals == (messages: 2, bodies: 1))
        #expect(!o.exists(o.path(inlineDigest)), "the file of a body already inline is dropped")
        let (a2, fileDigest) = try o.store(second, into: alice.id)
        #expect(o.exists(o.path(fileDigest)))
        try o.s.reopen { try SQLiteStore(directory: o.dir, options: .inline(64 * 1024)) }
        // Stored as a file before; arrives in memory now.
        let (b2, _) = try o.store(second, into: bob.id)
        #expect(try o.s.totals == (messages: 4, bodies: 2))
        #expect(try o.s.store.verify(deep: true) == [])
        for (account, uid, bytes) in [(alice.id, a1, first), (bob.id, b1, first), (alice.id, a2, second), (bob.id, b2, second)] {
            #expect(try o.s.whole(account, "INBOX", uid) == bytes)
        }
        for account in [alice, bob] {
            _ = try o.s.store.expunge(
                accountID: account.id, mailboxID: try o.s.mailbox(account.id, "INBOX").id, uids: nil, regardlessOfFlags: true)
        }
        #expect(try o.s.totals == (messages: 0, bodies: 0))
        #expect(!o.exists(o.path(fileDigest)))
        #expect(try o.s.store.verify(deep: true) == [])
    }

    /// RFC 6154: a new account has INBOX and the default mailboxes, subscribed, with their
    /// special uses; a store configured with others makes those.
    @Test func newAccountsGetTheDefaultMailboxes() throws {
        let o = try Opened()
        defer { o.s.finish() }
        let alice = try o.s.addAccount("alice")
        let boxes = try o.s.store.mailboxes(accountID: alice.id)
        #expect(boxes.map(\.name) == ["Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"])
        #expect(boxes.map(\.specialUse) == ["\\Archive", "\\Drafts", nil, "\\Junk", "\\Sent", "\\Trash"])
        #expect(boxes.allSatisfy { $0.subscribed && !$0.noselect && $0.counts.messages == 0 })
        #expect(Set(boxes.map(\.uidValidity)).count == boxes.count, "each has a UIDVALIDITY of its own")
        var options = StoreOptions()
        options.defaultMailboxes = [DefaultMailbox("Gesendet", "\\Sent"), DefaultMailbox("Papierkorb", "\\Trash")]
        let other = try Opened(options)
        defer { other.s.finish() }
        let bob = try other.s.addAccount("bob")
        #expect(try other.s.store.mailboxes(accountID: bob.id).map(\.name) == ["Gesendet", "INBOX", "Papierkorb"])
    }

    /// `SQLiteStore.maxMailboxesPerAccount`, at the limit: creating or renaming up to it
    /// works, one more is refused, whatever creates it (new parents included).
    @Test func mailboxLimitAtTheLimit() throws {
        let o = try Opened()
        defer { o.s.finish() }
        let alice = try o.s.addAccount("alice")
        let max = SQLiteStore.maxMailboxesPerAccount
        _ = try o.s.store.createMailbox(accountID: alice.id, name: mailboxName("a"), specialUse: nil)
        func count() throws -> Int { try o.s.store.mailboxes(accountID: alice.id).count }
        // One below the limit with INBOX, the default mailboxes and `a`, filled in one
        // transaction: the limit is what is under test, not making 10,000 mailboxes one by one.
        let existing = try count()
        try o.tamper(
            sql: """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
                INSERT INTO mailbox (account_id, name, uid_validity) SELECT ?, 'filler-' || i, i FROM n
                """, arguments: [max - 1 - existing, alice.id])
        let store = o.s.store
        func create(_ name: String) throws { _ = try store.createMailbox(accountID: alice.id, name: mailboxName(name), specialUse: nil) }
        #expect(try count() == max - 1)
        try create("a/b")
        #expect(try count() == max, "the last one, its parent already there")
        expectError(.tooManyMailboxes) { try create("z") }
        expectError(.tooManyMailboxes) { try create("a/b/c") }
        try store.renameMailbox(accountID: alice.id, from: mailboxName("a/b"), to: mailboxName("a/c"))
        expectError(.tooManyMailboxes, "a rename that makes new parents") {
            try store.renameMailbox(accountID: alice.id, from: mailboxName("a/c"), to: mailboxName("n1/n2/c"))
        }
        expectError(.tooManyMailboxes, "renaming INBOX makes a mailbox") {
            try store.renameMailbox(accountID: alice.id, from: .inbox, to: mailboxName("Old"))
        }
        #expect(try count() == max)
        try store.deleteMailbox(accountID: alice.id, name: mailboxName("a/c"))
        expectError(.tooManyMailboxes, "two new parents and the mailbox, one place left") { try create("p/q/r") }
        try store.renameMailbox(accountID: alice.id, from: .inbox, to: mailboxName("Old"))
        #expect(try count() == max)
        // Another account has its own limit.
        let bob = try o.s.addAccount("bob")
        _ = try store.createMailbox(accountID: bob.id, name: mailboxName("z"), specialUse: nil)
    }

    /// Recorded outcomes are kept `deliveryOutcomeRetention` seconds, and pruned at most
    /// `outcomePruneBatch` a commit.
    @Test func outcomeRetentionAtTheLimit() throws {
        let o = try Opened()
        defer { o.s.finish() }
        let store = o.s.store
        let start: Int64 = 1_800_000_000
        let retention = SQLiteStore.deliveryOutcomeRetention
        let batch = SQLiteStore.outcomePruneBatch
        func keyed(_ key: String) throws -> StoreRequest {
            StoreRequest(
                body: try o.s.prepare(Array(key.utf8)), structure: nil, internalDate: 1, placements: [],
                outcome: RecordedOutcome(key: key) { _ in key })
        }
        _ = try store.store([try keyed("first")], now: start)
        _ = try store.store([], now: start + retention)
        #expect(try store.recordedOutcome(key: "first") == "first", "kept for exactly the retention")
        _ = try store.store([], now: start + retention + 1)
        #expect(try store.recordedOutcome(key: "first") == nil, "pruned a second later")

        _ = try store.store(try (0...batch).map { try keyed("k\($0)") }, now: start)
        _ = try store.store([], now: start + retention + 1)
        #expect(
            try (0...batch).filter { try store.recordedOutcome(key: "k\($0)") != nil } == [batch], "one batch's worth pruned per commit")
        _ = try store.store([], now: start + retention + 1)
        #expect(try store.recordedOutcome(key: "k\(batch)") == nil)
    }

    @Test func backupIsAReadableCopyAndCloseTwiceIsHarmless() throws {
        let o = try Opened()
        defer { o.s.finish() }
        _ = try o.s.addAccount("alice")
        let path = try o.s.store.backup(reason: "test")
        #expect(path.hasPrefix(o.dir + "/backups/"))
        let copy = try DatabaseQueue(path: path)
        #expect(try copy.read { try String.fetchAll($0, sql: "SELECT address FROM account") } == ["alice@example.test"])
        try copy.close()
        try o.s.store.close()
        try o.s.store.close()
    }
}
