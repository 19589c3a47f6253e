import Foundation
import GRDB
import MailCore
import Testing

@testable import Storage

/// Schema v3 → v4 on a store written by the v3 schema itself (`Schema.migrator` up to v3, rows
/// as v3 code wrote them): subscribed mailboxes become the subscription list, and inline bodies
/// get their header kept apart for SEARCH. The fixture stores of v1 and v2 (MigrationTests) hold
/// file bodies only, and their subscriptions are checked there.
@Suite struct MigrationV4Tests {
    @Test func subscribedFlagsBecomeTheListAndInlineHeadersAreKept() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/loft-v4-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let header = Array("Subject: v3\r\nFrom: a@example.test\r\n\r\n".utf8)
        let body = header + Array("kept inline\r\n".utf8)
        let structure =
            #"{"envelope":{"subject":"v3","from":[],"sender":[],"replyTo":[],"to":[],"cc":[],"bcc":[]},"body":{"bodyStart":\#(header.count)},"truncated":false}"#
        do {
            let queue = try DatabaseQueue(path: dir + "/" + SQLiteStore.databaseName)
            try Schema.migrator().migrate(queue, upTo: "v3")
            try queue.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO domain (id, name, created_at) VALUES (1, 'example.test', 0);
                        INSERT INTO account (id, domain_id, address, password_hash, created_at) VALUES (1, 1, 'a@example.test', 'x', 0);
                        INSERT INTO mailbox (account_id, name, uid_validity, subscribed) VALUES
                            (1, 'INBOX', 10, 1), (1, 'Lists', 11, 0), (1, 'Lists/Swift', 12, 1), (1, 'Trash', 13, 0);
                        """)
                try db.execute(
                    sql: "INSERT INTO blob (id, sha256, size, refs, inline) VALUES (1, ?, ?, 1, 1)",
                    arguments: [Data(repeating: 7, count: 32), body.count])
                try db.execute(sql: "INSERT INTO body (blob_id, structure, data) VALUES (1, ?, ?)", arguments: [structure, Data(body)])
                try db.execute(
                    sql: """
                        INSERT INTO message (mailbox_id, uid, blob_id, size, internal_date, modseq)
                        VALUES ((SELECT id FROM mailbox WHERE name = 'INBOX'), 1, 1, ?, 0, 2)
                        """, arguments: [body.count])
            }
            try queue.close()
        }
        let store = try SQLiteStore(directory: dir)
        // v6: the default mailboxes that were missing are created, subscribed; the Trash that
        // was there gets its special use and keeps its subscription state.
        #expect(try store.subscriptions(accountID: 1) == ["Archive", "Drafts", "INBOX", "Junk", "Lists/Swift", "Sent"])
        let boxes = try store.mailboxes(accountID: 1)
        #expect(boxes.map(\.name) == ["Archive", "Drafts", "INBOX", "Junk", "Lists", "Lists/Swift", "Sent", "Trash"])
        #expect(boxes.map(\.subscribed) == [true, true, true, true, false, true, true, false])
        #expect(boxes.map(\.specialUse) == ["\\Archive", "\\Drafts", nil, "\\Junk", nil, nil, "\\Sent", "\\Trash"])
        #expect(boxes.first { $0.name == "Trash" }?.uidValidity == 13, "an existing mailbox keeps its UIDs")
        #expect(boxes.allSatisfy { !$0.noselect })
        // v5: the envelope in a table of its own, read by a listing that asks for it.
        let inbox = try #require(boxes.first { $0.name == "INBOX" })
        let listed = try store.messages(
            mailboxID: inbox.id, uids: nil, changedSince: nil, afterUID: nil, limit: 10, columns: .envelope, budget: 1 << 20)
        #expect(listed.messages.map(\.envelope) == [#"{"subject":"v3","from":[],"sender":[],"replyTo":[],"to":[],"cc":[],"bcc":[]}"#])
        try store.close()
        let queue = try DatabaseQueue(path: dir + "/" + SQLiteStore.databaseName)
        try queue.read { db in
            #expect(try Data.fetchOne(db, sql: "SELECT data FROM body_header WHERE blob_id = 1") == Data(header))
            let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('mailbox')")
            #expect(!columns.contains("subscribed") && columns.contains("noselect"))
        }
        try queue.close()
    }
}
