import Foundation
import GRDB
public import MailCore

/// A message as IMAP SORT and THREAD (RFC 5256) see it.
public struct SortRow: Sendable, Equatable {
    public var uid: UInt32
    public var internalDate: Int64
    public var size: Int64
    public var blobID: Int64
    /// Nil when the body's keys are not kept yet; `header` then holds its header block for
    /// the caller to make them (and `saveSortKeys` to keep them).
    public var keys: SortKeys?
    public var header: [UInt8]?
}

/// The kept sort keys a SORT or THREAD reads beside each message's sent date: a DATE sort of
/// a large mailbox then reads two integers a message, not five strings.
public struct SortColumns: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// The base subject and its reply mark.
    public static let subject = SortColumns(rawValue: 1)
    public static let addresses = SortColumns(rawValue: 2)
    /// Message-ID and References (THREAD=REFERENCES).
    public static let references = SortColumns(rawValue: 4)
    public static let all: SortColumns = [.subject, .addresses, .references]
}

extension SQLiteStore {
    /// Every message of the mailbox in UID order, with its kept sort keys (those of `columns`
    /// and the sent date; the others empty) or its header.
    public func sortRows(
        accountID: Int64, mailbox: MailboxName, columns: SortColumns = .all
    ) throws -> (mailbox: MailboxRecord, rows: [SortRow]) {
        // Only the columns asked for are selected (an integer-only sort reads six a row); the
        // keys not read stay empty.
        var names = ["m.uid", "m.internal_date", "m.size", "m.blob_id", "s.blob_id IS NOT NULL", "s.sent_date"]
        func add(_ wanted: SortColumns, _ selected: [String]) -> Int? {
            guard columns.isSuperset(of: wanted) else { return nil }
            defer { names += selected }
            return names.count
        }
        let subjectAt = add(.subject, ["s.subject", "s.reply"])
        let addressesAt = add(.addresses, ["s.from_key", "s.to_key", "s.cc_key"])
        let referencesAt = add(.references, ["s.message_id", "s.refs"])
        let sql = """
            SELECT \(names.joined(separator: ", "))
            FROM message m LEFT JOIN body_sort s ON s.blob_id = m.blob_id
            WHERE m.mailbox_id = ? ORDER BY m.uid
            """
        return try read { db in
            let box = try fetchSelectableMailbox(db, accountID: accountID, name: mailbox.value)
            let cursor = try Row.fetchCursor(try db.cachedStatement(sql: sql), arguments: [box.id])
            var rows: [SortRow] = []
            rows.reserveCapacity(box.counts.messages)
            var unkept: [Int] = []
            while let row = try cursor.next() {
                var sortRow = SortRow(uid: row[0], internalDate: row[1], size: row[2], blobID: row[3], keys: nil, header: nil)
                if row[4] as Bool {
                    var keys = SortKeys(
                        sentDate: row[5], baseSubject: "", isReplyOrForward: false, from: "", to: "", cc: "", messageID: nil,
                        references: [])
                    if let at = subjectAt {
                        keys.baseSubject = row[at]
                        keys.isReplyOrForward = row[at + 1]
                    }
                    if let at = addressesAt {
                        keys.from = row[at]
                        keys.to = row[at + 1]
                        keys.cc = row[at + 2]
                    }
                    if let at = referencesAt {
                        keys.messageID = row[at]
                        let refs: String = row[at + 1]
                        keys.references = refs.isEmpty ? [] : refs.split(separator: "\n").map(String.init)
                    }
                    sortRow.keys = keys
                } else {
                    unkept.append(rows.count)
                }
                rows.append(sortRow)
            }
            // The first sort of a mailbox: the headers of the bodies without kept keys.
            for index in unkept { rows[index].header = try sortHeader(db, mailboxID: box.id, row: rows[index]) }
            return (box, rows)
        }
    }

    /// The header block a body's sort keys are made from: its kept header row, or (a body stored
    /// as a file before schema v4 keeps none) its first bytes.
    func sortHeader(_ db: Database, mailboxID: Int64, row: SortRow) throws -> [UInt8] {
        if let header = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT data FROM body_header WHERE blob_id = ?"), arguments: [row.blobID])
        {
            return [UInt8](header)
        }
        let prefix =
            try Data.fetchOne(
                db.cachedStatement(sql: "SELECT prefix FROM message WHERE mailbox_id = ? AND uid = ?"), arguments: [mailboxID, row.uid])
            ?? Data()
        let length = Int(min(row.size - Int64(prefix.count), Int64(Schema.maxStoredHeaderBytes)))
        return try readBytes(db, blobID: row.blobID, prefix: [], offset: 0, length: length)
    }

    /// Keeps sort keys made for bodies that had none; a body removed meanwhile is skipped.
    public func saveSortKeys(_ keys: [(blobID: Int64, keys: SortKeys)]) throws {
        guard !keys.isEmpty else { return }
        try write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO body_sort (blob_id, sent_date, subject, reply, from_key, to_key, cc_key, message_id, refs)
                    SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM blob WHERE id = ?)
                    """)
            for (blobID, k) in keys {
                try statement.execute(arguments: [
                    blobID, k.sentDate, k.baseSubject, k.isReplyOrForward, k.from, k.to, k.cc, k.messageID,
                    k.references.joined(separator: "\n"), blobID,
                ])
            }
        }
    }
}
