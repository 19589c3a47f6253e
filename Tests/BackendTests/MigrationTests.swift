import Crypto
import Foundation
import MailCore
import MailMessage
import Storage
import Testing

/// Stores made by schema v1 and v2 with real mail in them (Tests/Fixtures/README.md) upgrade to
/// the current schema and read back exactly what a client read from them before: every message
/// byte for byte, its flags, dates and modseqs, the mailboxes' UID state and subscriptions, the
/// accounts' usage, the queue; `store.verify` deep is clean, and the store takes new mail
/// afterwards.
@Suite struct MigrationTests {
    struct Manifest: Decodable {
        struct Mailbox: Decodable {
            var account: String
            var mailbox: String
            var uidValidity: UInt32
            var uidNext: UInt32
            var highestModseq: Int64
            var subscribed: Bool
            var specialUse: String?
            var messages: [Message]
        }
        struct Message: Decodable {
            var uid: UInt32
            var flags: [String]
            var keywords: [String]
            var internalDate: Int64
            var size: Int64
            var modseq: Int64
            var length: Int
            var sha256: String
        }
        struct Account: Decodable {
            var address: String
            var messages: Int64
            var usedBytes: Int64
        }
        struct Queued: Decodable {
            var id: Int64
            var sender: String
            var recipients: [String]
            var size: Int64
        }
        var mailboxes: [Mailbox]
        var accounts: [Account]
        var queue: [Queued]
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// A scratch copy of a fixture: the test must not change the checked-in files.
    static func copy(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "loft-migration-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent(name).path, toPath: dir)
        return dir
    }

    @Test(arguments: ["v1", "v2"]) func upgradesAndReadsBackByteExact(schema: String) throws {
        let manifest = try JSONDecoder().decode(
            Manifest.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("store-\(schema).manifest.json")))
        let dir = try Self.copy("store-\(schema)")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var store = try SQLiteStore(directory: dir)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir + "/backups").contains { $0.hasPrefix("loft-pre-migration-") },
            "the database was backed up before migrating")
        try check(store, against: manifest)
        #expect(try store.verify(deep: true) == [])

        // New mail goes in next to the migrated mail, and both survive a reopen.
        let alice = try #require(try store.account(address: "alice@example.org"))
        let writer = try store.newBody()
        let text = Array("Subject: after the upgrade\r\n\r\nhello\r\n".utf8)
        try writer.append(text)
        let result = try store.store(
            [
                StoreRequest(
                    body: try writer.finish(), structure: nil, prefix: Array("Return-Path: <x@y.test>\r\n".utf8), internalDate: 1,
                    placements: [Placement(accountID: alice.id, mailbox: "INBOX")])
            ], now: nil)
        guard case .stored(_, _, let uid, _) = result.first?.placements.first else {
            Issue.record("not stored: \(result)")
            return
        }
        try store.close()
        store = try SQLiteStore(directory: dir)
        let size = Int64(text.count + "Return-Path: <x@y.test>\r\n".utf8.count)
        try check(store, against: manifest, added: (uid, size))
        let added = try store.message(accountID: alice.id, mailbox: .inbox, uid: uid, withStructure: false)
        #expect(try store.read(added, offset: 0, length: 1000) == Array("Return-Path: <x@y.test>\r\n".utf8) + text)
        #expect(try store.verify(deep: true) == [])
        try store.close()
    }

    /// `added`: one unseen message delivered to alice's INBOX since, which the manifest lacks.
    func check(_ store: SQLiteStore, against manifest: Manifest, added: (uid: UInt32, size: Int64)? = nil) throws {
        for var box in manifest.mailboxes {
            let extra = added != nil && box.account == "alice@example.org" && box.mailbox == "INBOX"
            if extra, let added {
                box.uidNext = added.uid + 1
                box.highestModseq += 1
            }
            let account = try #require(try store.account(address: box.account))
            let name = try #require(MailboxName(box.mailbox))
            let record = try store.mailbox(accountID: account.id, name: name)
            #expect(record.uidValidity == box.uidValidity, "\(box.mailbox)")
            #expect(record.uidNext == box.uidNext, "\(box.mailbox)")
            #expect(record.highestModseq == box.highestModseq, "\(box.mailbox)")
            #expect(record.subscribed == box.subscribed && record.specialUse == box.specialUse, "\(box.mailbox)")
            let rows = try store.messages(
                mailboxID: record.id, uids: nil, changedSince: nil, afterUID: nil, limit: 1000, withStructure: true
            ).filter { $0.uid != added?.uid || !extra }
            #expect(rows.map(\.uid) == box.messages.map(\.uid), "\(box.account) \(box.mailbox)")
            let counts = try store.counts(mailboxID: record.id)
            let more = extra ? 1 : 0
            #expect(counts.messages == box.messages.count + more)
            #expect(counts.unseen == box.messages.filter { !$0.flags.contains("\\Seen") }.count + more)
            #expect(counts.sizeBytes == box.messages.reduce(0) { $0 + $1.size } + (extra ? added?.size ?? 0 : 0))
            #expect(counts.recent == more, "nothing is recent to a session after an upgrade, but new mail is")
            for (row, expected) in zip(rows, box.messages) {
                let what = "\(box.account) \(box.mailbox) \(expected.uid)"
                let flags = try JSONDecoder().decode([String].self, from: JSONEncoder().encode(row.flags))
                #expect(Set(flags) == Set(expected.flags + expected.keywords), "\(what)")
                #expect(row.internalDate == expected.internalDate && row.size == expected.size && row.modseq == expected.modseq, "\(what)")
                let bytes = try store.read(row, offset: 0, length: Int(row.size) + 10)
                #expect(bytes.count == expected.length, "\(what)")
                #expect(SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() == expected.sha256, "\(what)")
                // The cached structure still locates the header: it ends with the blank line.
                let json = try #require(row.structure, "\(what) lost its structure")
                let parsed = try JSONDecoder().decode(ParsedMessage.self, from: Data(json.utf8)).afterPrefix(row.prefixLength)
                let header = bytes[parsed.headerRange]
                #expect(header.starts(with: Array("Return-Path:".utf8)) || box.mailbox == "Archive", "\(what)")
                #expect(parsed.bodyRange.upperBound == bytes.count, "\(what)")
            }
        }
        // Subscriptions became a list of their own (v4): exactly the mailboxes that were
        // subscribed, and none of those that were not (alice's Lists), with the default
        // mailboxes v6 created (subscribed, as new mailboxes are). A default mailbox that was
        // there keeps its messages and gets its special use.
        for address in Set(manifest.mailboxes.map(\.account)) {
            let account = try #require(try store.account(address: address))
            let had = manifest.mailboxes.filter { $0.account == address }
            let created = StoreOptions.standardMailboxes.map(\.name).filter { name in !had.contains { $0.mailbox == name } }
            let subscribed = (had.filter(\.subscribed).map(\.mailbox) + created).sorted()
            #expect(try store.subscriptions(accountID: account.id) == subscribed, "\(address)")
            let boxes = try store.mailboxes(accountID: account.id)
            #expect(boxes.allSatisfy { !$0.noselect }, "\(address)")
            for standard in StoreOptions.standardMailboxes {
                let box = try #require(boxes.first { $0.name == standard.name }, "\(address) \(standard.name)")
                #expect(box.specialUse == standard.specialUse, "\(address) \(standard.name)")
            }
        }
        #expect(manifest.mailboxes.contains { !$0.subscribed }, "the fixture has an unsubscribed mailbox")
        for var expected in manifest.accounts {
            if let added, expected.address == "alice@example.org" {
                expected.usedBytes += added.size
                expected.messages += 1
            }
            let account = try #require(try store.account(address: expected.address))
            #expect(account.usedBytes == expected.usedBytes && account.messageCount == expected.messages, "\(expected.address)")
        }
        let queue = try store.queueEntries(limit: 100)
        #expect(queue.map(\.id) == manifest.queue.map(\.id))
        #expect(queue.map(\.sender) == manifest.queue.map(\.sender) && queue.map(\.recipients) == manifest.queue.map(\.recipients))
        // Schema v8 lists the bytes that go out: v1 kept the Return-Path in a queued body
        // (skipped by `body_offset`), and the old listing counted it.
        #expect(queue.map(\.size) == manifest.queue.map { $0.size - Int64("Return-Path: <\($0.sender)>\r\n".utf8.count) })
    }
}
