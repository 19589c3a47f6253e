import Foundation
import GRDB
public import MailCore

public struct MailboxRecord: Sendable, Equatable {
    public var id: Int64
    public var accountID: Int64
    public var name: String
    public var uidValidity: UInt32
    public var uidNext: UInt32
    public var highestModseq: Int64
    /// The name is on the account's subscription list, a list of its own (RFC 3501 §6.3.6).
    public var subscribed: Bool
    public var specialUse: String?
    /// RFC 3501 §6.3.4 `\Noselect`: deleted while it had children, so only the name is left; it
    /// holds no messages, cannot be selected and takes none (`notSelectable`).
    public var noselect: Bool
    /// The counters kept by the triggers on `message`, read with the row.
    public var counts: MailboxCounts

    init(row: Row) {
        id = row["id"]
        accountID = row["account_id"]
        name = row["name"]
        uidValidity = row["uid_validity"]
        uidNext = row["uid_next"]
        highestModseq = row["highest_modseq"]
        subscribed = row["subscribed"]
        specialUse = row["special_use"]
        noselect = row["noselect"]
        counts = MailboxCounts(
            messages: row["message_count"], unseen: row["unseen_count"], sizeBytes: row["size_bytes"], recent: row["recent_count"])
    }

    /// What `init(row:)` reads, selected from `mailbox`.
    static let columns =
        "mailbox.*, EXISTS (SELECT 1 FROM subscription s WHERE s.account_id = mailbox.account_id AND s.name = mailbox.name) AS subscribed"
}

public struct MailboxCounts: Sendable, Equatable {
    public var messages: Int
    public var unseen: Int
    public var sizeBytes: Int64
    /// Messages no session has claimed as recent yet (RFC 3501 §2.3.2).
    public var recent: Int
    public init(messages: Int, unseen: Int, sizeBytes: Int64, recent: Int) {
        self.messages = messages
        self.unseen = unseen
        self.sizeBytes = sizeBytes
        self.recent = recent
    }
}

/// The messages flagged `\Deleted` in a mailbox and their bytes (what an EXPUNGE would free).
public struct DeletedCounts: Sendable, Equatable {
    public var messages: Int
    public var bytes: Int64
    public init(messages: Int, bytes: Int64) {
        self.messages = messages
        self.bytes = bytes
    }
}

/// Mailboxes of one account, and its subscriptions. INBOX exists from the account's creation
/// and cannot be deleted; `StoreOptions.defaultMailboxes` are created with it.
extension SQLiteStore {
    public static let maxMailboxesPerAccount = 10_000

    public func mailboxes(accountID: Int64) throws -> [MailboxRecord] {
        try read { db in
            try Row.fetchAll(
                try db.cachedStatement(sql: "SELECT \(MailboxRecord.columns) FROM mailbox WHERE account_id = ? ORDER BY name"),
                arguments: [accountID]
            ).map(MailboxRecord.init(row:))
        }
    }

    public func mailbox(accountID: Int64, name: MailboxName) throws -> MailboxRecord {
        try read { db in try fetchMailbox(db, accountID: accountID, name: name.value) }
    }

    func fetchMailbox(_ db: Database, accountID: Int64, name: String) throws -> MailboxRecord {
        guard
            let row = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT \(MailboxRecord.columns) FROM mailbox WHERE account_id = ? AND name = ?"),
                arguments: [accountID, name])
        else {
            throw StorageError(.noSuchMailbox, "no mailbox \(name)")
        }
        return MailboxRecord(row: row)
    }

    /// `fetchMailbox`, refusing a `\Noselect` one: for what selects, lists or stores messages.
    func fetchSelectableMailbox(_ db: Database, accountID: Int64, name: String) throws -> MailboxRecord {
        let box = try fetchMailbox(db, accountID: accountID, name: name)
        if box.noselect { throw Self.notSelectable(name) }
        return box
    }

    static func notSelectable(_ name: String) -> StorageError {
        StorageError(.notSelectable, "\(name) is only the parent of other mailboxes (\\Noselect)")
    }

    /// RFC 3501 §6.3.3: creates superior levels that do not exist yet, too. Creating the name of
    /// a `\Noselect` mailbox makes it a mailbox again (as Dovecot does): empty, with a new
    /// UIDVALIDITY, since the UIDs it had are gone.
    public func createMailbox(accountID: Int64, name: MailboxName, specialUse: String?) throws -> MailboxRecord {
        try write { db in
            if let existing = try? fetchMailbox(db, accountID: accountID, name: name.value) {
                guard existing.noselect else { throw StorageError(.mailboxExists, "mailbox \(name) already exists") }
                try db.cachedStatement(
                    sql: """
                        UPDATE mailbox SET noselect = 0, uid_validity = ?, uid_next = 1, highest_modseq = 1, first_recent_uid = 1,
                            special_use = ?
                        WHERE id = ?
                        """
                ).execute(arguments: [try Self.nextUIDValidity(db), specialUse, existing.id])
                try db.cachedStatement(sql: "DELETE FROM expunged WHERE mailbox_id = ?").execute(arguments: [existing.id])
                try subscribe(db, accountID: accountID, name: name.value, true)
                return try fetchMailbox(db, accountID: accountID, name: name.value)
            }
            let parents = try missingParents(db, accountID: accountID, name)
            try ensureRoom(db, accountID: accountID, adding: parents.count + 1)
            for parent in parents { try createMailboxRow(db, accountID: accountID, name: parent.value, specialUse: nil) }
            try createMailboxRow(db, accountID: accountID, name: name.value, specialUse: specialUse)
            return try fetchMailbox(db, accountID: accountID, name: name.value)
        }
    }

    /// The levels above `name` that do not exist yet, outermost first.
    func missingParents(_ db: Database, accountID: Int64, _ name: MailboxName) throws -> [MailboxName] {
        try name.parents.filter { parent in
            try Bool.fetchOne(
                try db.cachedStatement(sql: "SELECT 1 FROM mailbox WHERE account_id = ? AND name = ?"),
                arguments: [accountID, parent.value]) == nil
        }
    }

    /// Refuses to make `adding` more mailboxes when the account would have more than
    /// `maxMailboxesPerAccount`; up to that many is fine.
    func ensureRoom(_ db: Database, accountID: Int64, adding: Int) throws {
        guard adding > 0 else { return }
        let count = try Int.fetchOne(
            try db.cachedStatement(sql: "SELECT count(*) FROM mailbox WHERE account_id = ?"), arguments: [accountID])!
        guard count + adding <= Self.maxMailboxesPerAccount else {
            throw StorageError(.tooManyMailboxes, "an account may have at most \(Self.maxMailboxesPerAccount) mailboxes")
        }
    }

    /// A new mailbox, subscribed (its name may have been already).
    func createMailboxRow(_ db: Database, accountID: Int64, name: String, specialUse: String?) throws {
        try db.cachedStatement(sql: "INSERT INTO mailbox (account_id, name, uid_validity, special_use) VALUES (?, ?, ?, ?)").execute(
            arguments: [accountID, name, try Self.nextUIDValidity(db), specialUse])
        try subscribe(db, accountID: accountID, name: name, true)
    }

    /// A UIDVALIDITY never used before in this store (RFC 3501 §2.3.1.1): the clock in seconds,
    /// or one more than the last one handed out, whichever is larger.
    static func nextUIDValidity(_ db: Database) throws -> UInt32 {
        let last = try Int64.fetchOne(try db.cachedStatement(sql: "SELECT value FROM setting WHERE key = 'last_uid_validity'")) ?? 0
        let next = max(Self.now() & 0x7FFF_FFFF, last + 1)
        try db.cachedStatement(
            sql: "INSERT INTO setting (key, value) VALUES ('last_uid_validity', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
        ).execute(arguments: [String(next)])
        return UInt32(truncatingIfNeeded: next)
    }

    /// RFC 3501 §6.3.5: renames the mailbox and everything below it, subscriptions included.
    /// They keep their UIDVALIDITY: no UID is reassigned, so a client's cache stays good (a
    /// new UIDVALIDITY is for UIDs that change, §2.3.1.1). Renaming INBOX moves its messages to
    /// a new mailbox of the new name — new UIDs there, so a new UIDVALIDITY — and leaves INBOX
    /// empty, with its children.
    public func renameMailbox(accountID: Int64, from: MailboxName, to: MailboxName) throws {
        try write { db in
            let source = try fetchMailbox(db, accountID: accountID, name: from.value)
            // INBOX's rename moves messages, not the mailbox, so they may go below INBOX.
            if to.isWithin(from) && !(from.isInbox && to != from) {
                throw StorageError(.invalidRename, "cannot rename \(from) to itself or below itself")
            }
            if try Bool.fetchOne(
                try db.cachedStatement(sql: "SELECT 1 FROM mailbox WHERE account_id = ? AND name = ?"), arguments: [accountID, to.value])
                != nil
            {
                throw StorageError(.mailboxExists, "mailbox \(to) already exists")
            }
            // New parents count against the limit, and so does the mailbox INBOX's messages
            // move to.
            let parents = try missingParents(db, accountID: accountID, to)
            try ensureRoom(db, accountID: accountID, adding: parents.count + (from.isInbox ? 1 : 0))
            for parent in parents { try createMailboxRow(db, accountID: accountID, name: parent.value, specialUse: nil) }
            if from.isInbox {
                try createMailboxRow(db, accountID: accountID, name: to.value, specialUse: nil)
                let target = try fetchMailbox(db, accountID: accountID, name: to.value)
                let uids = try Row.fetchAll(
                    try db.cachedStatement(sql: "SELECT id, uid FROM message WHERE mailbox_id = ? ORDER BY uid"), arguments: [source.id])
                var uid = target.uidNext
                // To INBOX's sessions its messages are expunged (RFC 7162 §3.2.10: a QRESYNC
                // client must see them vanish), at a modseq of their own.
                let expungeModseq = source.highestModseq + 1
                for row in uids {
                    let id: Int64 = row["id"]
                    try db.cachedStatement(sql: "UPDATE message SET mailbox_id = ?, uid = ?, modseq = 1 WHERE id = ?").execute(arguments: [
                        target.id, uid, id,
                    ])
                    try db.cachedStatement(sql: "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)").execute(
                        arguments: [source.id, row["uid"] as Int64, expungeModseq])
                    uid += 1
                }
                try db.cachedStatement(sql: "UPDATE mailbox SET uid_next = ? WHERE id = ?").execute(arguments: [uid, target.id])
                if !uids.isEmpty {
                    try db.cachedStatement(sql: "UPDATE mailbox SET highest_modseq = ? WHERE id = ?").execute(arguments: [
                        expungeModseq, source.id,
                    ])
                }
                return
            }
            let below = Self.descendants(of: from.value)
            let children = try Row.fetchAll(
                try db.cachedStatement(sql: "SELECT id, name FROM mailbox WHERE account_id = ? AND (name = ? OR (name >= ? AND name < ?))"),
                arguments: [accountID, from.value, below.first, below.end])
            for row in children {
                let id: Int64 = row["id"]
                let name: String = row["name"]
                try db.cachedStatement(sql: "UPDATE mailbox SET name = ? WHERE id = ?").execute(arguments: [
                    Self.renamed(name, from: from, to: to), id,
                ])
            }
            // The subscriptions of the tree move with it, those of names without a mailbox too;
            // one the new name had already stays.
            let subscribed = try String.fetchAll(
                try db.cachedStatement(
                    sql: "SELECT name FROM subscription WHERE account_id = ? AND (name = ? OR (name >= ? AND name < ?))"),
                arguments: [accountID, from.value, below.first, below.end])
            for name in subscribed {
                try subscribe(db, accountID: accountID, name: name, false)
                try subscribe(db, accountID: accountID, name: Self.renamed(name, from: from, to: to), true)
            }
        }
    }

    /// `name`, which is `from` or lies below it, with `from` replaced by `to`.
    static func renamed(_ name: String, from: MailboxName, to: MailboxName) -> String {
        to.value + String(decoding: name.utf8.dropFirst(from.value.utf8.count), as: UTF8.self)
    }

    /// The names below `name` in the hierarchy are those from `name/` up to, not including,
    /// `name0` ('0' follows '/'), as SQLite compares text: byte by byte. Mailbox names are
    /// case-sensitive (RFC 3501 §5.1; INBOX has one spelling here), and `LIKE` is not: it took
    /// `Work/a` for a child of `work`.
    static func descendants(of name: String) -> (first: String, end: String) {
        (name + "/", name + "0")
    }

    /// RFC 3501 §6.3.4: deletes a mailbox and its messages. One with children keeps its name as
    /// `\Noselect`; a `\Noselect` one with children is refused, and so is INBOX. The name's
    /// subscription stays (§6.3.6: subscriptions are a list of their own).
    public func deleteMailbox(accountID: Int64, name: MailboxName) throws {
        if name.isInbox { throw StorageError(.mailboxIsInbox, "INBOX cannot be deleted") }
        try writeWithoutTransaction { db in
            var unused: [BodyDigest] = []
            try db.inTransaction {
                let box = try fetchMailbox(db, accountID: accountID, name: name.value)
                let below = Self.descendants(of: name.value)
                let hasChildren =
                    try Bool.fetchOne(
                        try db.cachedStatement(sql: "SELECT 1 FROM mailbox WHERE account_id = ? AND name >= ? AND name < ?"),
                        arguments: [accountID, below.first, below.end]) != nil
                if hasChildren && box.noselect {
                    throw StorageError(.mailboxNotEmpty, "\(name) is only the parent of other mailboxes; delete them first")
                }
                let rows = try Row.fetchAll(
                    try db.cachedStatement(sql: "SELECT blob_id, size FROM message WHERE mailbox_id = ?"), arguments: [box.id])
                let bytes = rows.reduce(Int64(0)) { $0 + ($1["size"] as Int64) }
                if hasChildren {
                    try db.cachedStatement(sql: "DELETE FROM message WHERE mailbox_id = ?").execute(arguments: [box.id])
                    try db.cachedStatement(sql: "DELETE FROM expunged WHERE mailbox_id = ?").execute(arguments: [box.id])
                    try db.cachedStatement(sql: "UPDATE mailbox SET noselect = 1, special_use = NULL WHERE id = ?").execute(arguments: [
                        box.id
                    ])
                } else {
                    try db.cachedStatement(sql: "DELETE FROM mailbox WHERE id = ?").execute(arguments: [box.id])
                }
                try db.cachedStatement(
                    sql: "UPDATE account SET used_bytes = used_bytes - ?, message_count = message_count - ? WHERE id = ?"
                ).execute(arguments: [bytes, rows.count, accountID])
                unused = try release(db, rows.map { $0["blob_id"] })
                return .commit
            }
            files.remove(unused)
        }
    }

    /// RFC 3501 §6.3.6–7: the name need not be a mailbox; doing it twice is no error.
    public func subscribe(accountID: Int64, name: MailboxName, subscribed: Bool) throws {
        try write { db in try subscribe(db, accountID: accountID, name: name.value, subscribed) }
    }

    func subscribe(_ db: Database, accountID: Int64, name: String, _ subscribed: Bool) throws {
        try db.cachedStatement(
            sql: subscribed
                ? "INSERT OR IGNORE INTO subscription (account_id, name) VALUES (?, ?)"
                : "DELETE FROM subscription WHERE account_id = ? AND name = ?"
        ).execute(arguments: [accountID, name])
    }

    public func subscriptions(accountID: Int64) throws -> [String] {
        try read { db in
            try String.fetchAll(
                try db.cachedStatement(sql: "SELECT name FROM subscription WHERE account_id = ? ORDER BY name"), arguments: [accountID])
        }
    }

    public func counts(mailboxID: Int64) throws -> MailboxCounts {
        try read { db in try mailboxCounts(db, mailboxID: mailboxID) }
    }

    func mailboxCounts(_ db: Database, mailboxID: Int64) throws -> MailboxCounts {
        guard
            let row = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT message_count, unseen_count, size_bytes, recent_count FROM mailbox WHERE id = ?"),
                arguments: [mailboxID])
        else {
            throw StorageError(.noSuchMailbox, "the mailbox no longer exists")
        }
        return MailboxCounts(
            messages: row["message_count"], unseen: row["unseen_count"], sizeBytes: row["size_bytes"], recent: row["recent_count"])
    }

    public func deletedCounts(accountID: Int64, mailboxID: Int64?) throws -> [Int64: DeletedCounts] {
        try read { db in
            // The mailbox's rows through the (mailbox_id, uid) index, their flags tested one by
            // one: STATUS DELETED is asked for rarely, so it keeps no counter of its own.
            let rows = try Row.fetchAll(
                try db.cachedStatement(
                    sql: """
                        SELECT m.mailbox_id, count(*), total(m.size) FROM message m
                        WHERE m.mailbox_id IN (SELECT id FROM mailbox WHERE account_id = ? AND (? IS NULL OR id = ?))
                            AND (m.flags & ?) != 0
                        GROUP BY m.mailbox_id
                        """),
                arguments: [accountID, mailboxID, mailboxID, MessageFlags.System.deleted.rawValue])
            var result: [Int64: DeletedCounts] = [:]
            for row in rows {
                result[row[0]] = DeletedCounts(messages: row[1], bytes: Int64(row[2] as Double))
            }
            return result
        }
    }

    public func claimRecent(mailboxID: Int64) throws -> UInt32 {
        try write { db in
            guard
                let first = try UInt32.fetchOne(
                    try db.cachedStatement(sql: "SELECT first_recent_uid FROM mailbox WHERE id = ?"), arguments: [mailboxID])
            else {
                throw StorageError(.noSuchMailbox, "the mailbox no longer exists")
            }
            try db.cachedStatement(sql: "UPDATE mailbox SET first_recent_uid = uid_next, recent_count = 0 WHERE id = ?").execute(
                arguments: [mailboxID])
            return first
        }
    }
}
