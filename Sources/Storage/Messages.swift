import Foundation
import GRDB
public import MailCore

public struct MessageRecord: Sendable, Equatable {
    public var uid: UInt32
    public var blob: String
    public var size: Int64
    public var internalDate: Int64
    public var flags: MessageFlags
    public var modseq: Int64
    public var structure: String?

    init(row: Row, withStructure: Bool) {
        uid = row["uid"]
        blob = row["blob"]
        size = row["size"]
        internalDate = row["internal_date"]
        let keywords: String? = row["keywords"]
        flags = MessageFlags(
            system: MessageFlags.System(rawValue: row["flags"]),
            keywords: keywords.map { $0.split(separator: " ").map(String.init) } ?? [])
        modseq = row["modseq"]
        structure = withStructure ? row["structure"] : nil
    }
}

/// Where a new message goes, and whether the account's quota applies.
public struct Placement: Sendable {
    public var accountID: Int64
    public var mailbox: String
    public var flags: MessageFlags
    public init(accountID: Int64, mailbox: String, flags: MessageFlags = MessageFlags()) {
        self.accountID = accountID
        self.mailbox = mailbox
        self.flags = flags
    }
}

/// One message to store: a finished body, its parsed structure, the mailboxes it goes to and the
/// remote recipients it is queued for.
public struct StoreRequest: Sendable {
    public var blob: FinishedBlob
    public var structure: String?
    public var internalDate: Int64
    public var placements: [Placement]
    public var queueSender: String
    public var queueRecipients: [String]
    /// Leading bytes of the body that queued copies skip (the Return-Path line).
    public var queueBodyOffset: Int64
    /// Makes the store happen at most once for a key (a delivery's idempotency key).
    public var outcome: RecordedOutcome?
    public init(
        blob: FinishedBlob, structure: String?, internalDate: Int64, placements: [Placement], queueSender: String = "",
        queueRecipients: [String] = [], queueBodyOffset: Int64 = 0, outcome: RecordedOutcome? = nil
    ) {
        self.outcome = outcome
        self.queueBodyOffset = queueBodyOffset
        self.blob = blob
        self.structure = structure
        self.internalDate = internalDate
        self.placements = placements
        self.queueSender = queueSender
        self.queueRecipients = queueRecipients
    }
}

public enum PlacementResult: Sendable, Equatable {
    case stored(mailboxID: Int64, uidValidity: UInt32, uid: UInt32, modseq: Int64)
    case failed(StorageError)
}

public struct StoreResult: Sendable, Equatable {
    public var placements: [PlacementResult]
    public var queueID: Int64?
    /// Set when an earlier store with the same key committed: its recorded answer. Nothing
    /// was stored this time (`placements` is empty).
    public var earlierOutcome: String?
}

/// A store that must happen at most once: under `key` the store records the text `render`
/// makes of its result, in the same transaction; a later store with that key stores nothing
/// and hands back the recorded text. Storage does not read the text.
public struct RecordedOutcome: Sendable {
    public var key: String
    public var render: @Sendable (StoreResult) throws -> String
    public init(key: String, render: @escaping @Sendable (StoreResult) throws -> String) {
        self.key = key
        self.render = render
    }
}

/// A change the store made, for the back-end's change events.
public struct StoredChange: Sendable, Equatable {
    public var accountID: Int64
    public var mailbox: String
    public var uids: [UInt32]
    public var modseq: Int64
}

/// Messages: storing, listing, flags, copy, move, expunge.
extension MailStore {
    /// Stores a batch of messages in one transaction — the group commit behind delivery and
    /// APPEND. Bodies are moved into place (durably) first; then every row is committed with one
    /// WAL fsync. A placement that would exceed its account's quota fails alone; the others
    /// succeed. Bodies that end up unused are removed.
    ///
    /// Recorded outcomes (`StoreRequest.outcome`) older than `deliveryOutcomeRetention` seconds
    /// before `now` are pruned in the same transaction, at most `outcomePruneBatch` a batch, so
    /// the work per commit stays bounded however many have piled up.
    public func store(_ requests: [StoreRequest], now: Int64? = nil) throws -> [StoreResult] {
        let now = now ?? Self.now()
        return try pool.writeWithoutTransaction { db in
            try blobs.install(requests.map(\.blob))
            var results: [StoreResult] = []
            try db.inTransaction {
                results = []
                for request in requests {
                    results.append(try store(db, request, now: now))
                }
                // One seek to the oldest row decides; only then are up to a batch of the oldest
                // rows read (rows go in in time order, so those are the expired ones).
                let cutoff = now - Self.deliveryOutcomeRetention
                if let oldest = try Int64.fetchOne(
                    try db.cachedStatement(sql: "SELECT created_at FROM delivery_outcome ORDER BY rowid LIMIT 1")),
                    oldest < cutoff
                {
                    try db.cachedStatement(
                        sql: """
                            DELETE FROM delivery_outcome WHERE rowid IN
                            (SELECT rowid FROM delivery_outcome ORDER BY rowid LIMIT ?) AND created_at < ?
                            """
                    ).execute(arguments: [Self.outcomePruneBatch, cutoff])
                }
                return .commit
            }
            var orphans: [String] = []
            for (request, result) in zip(requests, results) where result.queueID == nil && !result.placements.contains(where: \.isStored) {
                if try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM blob WHERE sha256 = ?"), arguments: [request.blob.sha256])
                    == nil
                {
                    orphans.append(request.blob.sha256)
                }
            }
            blobs.remove(orphans)
            return results
        }
    }

    /// How long a recorded delivery outcome is kept, at least: a day, far longer than any
    /// gateway waits before asking for one.
    public static let deliveryOutcomeRetention: Int64 = 24 * 3600
    /// Expired outcomes deleted per commit batch at most.
    public static let outcomePruneBatch = 256

    /// The outcome recorded under `key`, if a store with that key committed (and was not yet pruned).
    public func recordedOutcome(key: String) throws -> String? {
        try pool.read { db in
            try String.fetchOne(try db.cachedStatement(sql: "SELECT result FROM delivery_outcome WHERE key = ?"), arguments: [key])
        }
    }

    func store(_ db: Database, _ request: StoreRequest, now: Int64) throws -> StoreResult {
        if let key = request.outcome?.key,
            let earlier = try String.fetchOne(
                try db.cachedStatement(sql: "SELECT result FROM delivery_outcome WHERE key = ?"), arguments: [key])
        {
            // Also catches the same key twice in one batch: the first one's row is already here.
            return StoreResult(placements: [], queueID: nil, earlierOutcome: earlier)
        }
        // The body's row comes first (messages and queue entries reference it) with no
        // references yet; it is counted, or dropped again, below.
        try db.cachedStatement(sql: "INSERT INTO blob (sha256, size, refs) VALUES (?, ?, 0) ON CONFLICT(sha256) DO NOTHING").execute(
            arguments: [request.blob.sha256, request.blob.size])
        var placements: [PlacementResult] = []
        var refs = 0
        for placement in request.placements {
            let outcome = try place(db, request, placement)
            if outcome.isStored { refs += 1 }
            placements.append(outcome)
        }
        var queueID: Int64?
        if !request.queueRecipients.isEmpty {
            try db.cachedStatement(sql: "INSERT INTO queue (sender, blob, body_offset, size, created_at) VALUES (?, ?, ?, ?, ?)").execute(
                arguments: [
                    request.queueSender, request.blob.sha256, request.queueBodyOffset, request.blob.size - request.queueBodyOffset,
                    Self.now(),
                ])
            let id = db.lastInsertedRowID
            queueID = id
            refs += 1
            for r in request.queueRecipients {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO queue_recipient (queue_id, recipient, next_attempt_at) VALUES (?, ?, ?)")
                    .execute(arguments: [id, r, Self.now()])
            }
        }
        if refs > 0 {
            try db.cachedStatement(sql: "UPDATE blob SET refs = refs + ? WHERE sha256 = ?").execute(arguments: [refs, request.blob.sha256])
        } else {
            try db.cachedStatement(sql: "DELETE FROM blob WHERE sha256 = ? AND refs = 0").execute(arguments: [request.blob.sha256])
        }
        let result = StoreResult(placements: placements, queueID: queueID)
        if let outcome = request.outcome {
            try db.cachedStatement(sql: "INSERT INTO delivery_outcome (key, result, created_at) VALUES (?, ?, ?)").execute(
                arguments: [outcome.key, try outcome.render(result), now])
        }
        return result
    }

    func place(_ db: Database, _ request: StoreRequest, _ placement: Placement) throws -> PlacementResult {
        guard
            let account = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT quota_bytes, used_bytes FROM account WHERE id = ?"), arguments: [placement.accountID])
        else {
            return .failed(StorageError(.noSuchAccount, "the account no longer exists"))
        }
        let quota: Int64 = account["quota_bytes"]
        let used: Int64 = account["used_bytes"]
        if quota > 0 && used + request.blob.size > quota {
            return .failed(StorageError(.quotaExceeded, "mailbox full: \(used) of \(quota) bytes used"))
        }
        let box: MailboxRecord
        do {
            box = try fetchMailbox(db, accountID: placement.accountID, name: placement.mailbox)
        } catch let error as StorageError {
            return .failed(error)
        }
        let uid = box.uidNext
        let modseq = box.highestModseq + 1
        try db.cachedStatement(
            sql: """
                INSERT INTO message (mailbox_id, uid, blob, size, internal_date, flags, keywords, modseq, structure)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            box.id, uid, request.blob.sha256, request.blob.size, request.internalDate, placement.flags.system.rawValue,
            Self.keywordText(placement.flags), modseq, request.structure,
        ])
        try db.cachedStatement(sql: "UPDATE mailbox SET uid_next = ?, highest_modseq = ? WHERE id = ?").execute(arguments: [
            uid + 1, modseq, box.id,
        ])
        try db.cachedStatement(sql: "UPDATE account SET used_bytes = used_bytes + ?, message_count = message_count + 1 WHERE id = ?")
            .execute(arguments: [request.blob.size, placement.accountID])
        return .stored(mailboxID: box.id, uidValidity: box.uidValidity, uid: uid, modseq: modseq)
    }

    static func keywordText(_ flags: MessageFlags) -> String? {
        flags.keywords.isEmpty ? nil : flags.keywords.joined(separator: " ")
    }

    /// Sets of at most this many ranges become `uid BETWEEN ? AND ?` terms joined by `OR`, which
    /// SQLite answers from the (mailbox_id, uid) index; the common case is one range.
    static let inlineUIDRanges = 8

    /// SQL for "uid in these ranges" in the given mailbox, with its arguments. A longer set is one
    /// JSON parameter of `[lo, hi]` pairs, joined against the (mailbox_id, uid) index: an `OR` per
    /// range would pass SQLite's limit of 1,000 terms in an expression (SQLITE_MAX_EXPR_DEPTH)
    /// long before the 10,000 ranges a UID set may hold, and the join costs one index seek per
    /// range where a correlated `EXISTS` over the pairs would read every pair for every message.
    static func uidClause(_ set: UIDSet?, mailboxID: Int64, largest: UInt32) -> (String, [any DatabaseValueConvertible]) {
        guard let set else { return ("1", []) }
        let ranges = set.ranges(largest: largest)
        if ranges.isEmpty { return ("0", []) }
        if ranges.count <= inlineUIDRanges {
            var parts: [String] = []
            var args: [any DatabaseValueConvertible] = []
            for r in ranges {
                parts.append("uid BETWEEN ? AND ?")
                args.append(Int64(r.lowerBound))
                args.append(Int64(r.upperBound))
            }
            return ("(" + parts.joined(separator: " OR ") + ")", args)
        }
        let pairs = "[" + ranges.map { "[\($0.lowerBound),\($0.upperBound)]" }.joined(separator: ",") + "]"
        // CROSS JOIN keeps the pairs as the outer loop, so each is one range seek in the index.
        let clause = """
            uid IN (SELECT m.uid FROM json_each(?) AS r CROSS JOIN message AS m \
            ON m.mailbox_id = ? AND m.uid BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]'))
            """
        return (clause, [pairs, mailboxID])
    }

    func largestUID(_ db: Database, mailboxID: Int64) throws -> UInt32 {
        try UInt32.fetchOne(try db.cachedStatement(sql: "SELECT max(uid) FROM message WHERE mailbox_id = ?"), arguments: [mailboxID]) ?? 0
    }

    public func messages(
        mailboxID: Int64, uids: UIDSet?, changedSince: Int64?, afterUID: UInt32?, limit: Int, withStructure: Bool
    ) throws -> [MessageRecord] {
        try pool.read { db in
            let largest = try largestUID(db, mailboxID: mailboxID)
            let (clause, clauseArgs) = Self.uidClause(uids, mailboxID: mailboxID, largest: largest)
            var args: [any DatabaseValueConvertible] = [mailboxID]
            args += clauseArgs
            args += [changedSince ?? 0, Int64(afterUID ?? 0), limit]
            let columns = withStructure ? "*" : Self.summaryColumns
            return try Row.fetchAll(
                db,
                sql: "SELECT \(columns) FROM message WHERE mailbox_id = ? AND \(clause) AND modseq > ? AND uid > ? ORDER BY uid LIMIT ?",
                arguments: StatementArguments(args)
            ).map { MessageRecord(row: $0, withStructure: withStructure) }
        }
    }

    /// A message row's columns without the cached structure, which only FETCH of parts needs.
    static let summaryColumns = summaryColumns("")
    static func summaryColumns(_ table: String) -> String {
        ["uid", "blob", "size", "internal_date", "flags", "keywords", "modseq"].map { table + $0 }.joined(separator: ", ")
    }

    /// One message found by its mailbox's name and its UID in one statement outside a
    /// transaction (a single SELECT sees one snapshot): the read path of every RETR and FETCH,
    /// where the mailbox look-up and the two read transactions of `mailbox` + `message` cost
    /// more than the read itself.
    public func message(accountID: Int64, mailbox: MailboxName, uid: UInt32, withStructure: Bool) throws -> MessageRecord {
        try pool.unsafeRead { db in
            let columns = withStructure ? "m.*" : Self.summaryColumns("m.")
            let sql = """
                SELECT \(columns) FROM message m JOIN mailbox b ON b.id = m.mailbox_id
                WHERE b.account_id = ? AND b.name = ? AND m.uid = ?
                """
            if let row = try Row.fetchOne(try db.cachedStatement(sql: sql), arguments: [accountID, mailbox.value, uid]) {
                return MessageRecord(row: row, withStructure: withStructure)
            }
            _ = try fetchMailbox(db, accountID: accountID, name: mailbox.value)  // throws noSuchMailbox
            throw StorageError(.noSuchMessage, "no message with UID \(uid)")
        }
    }

    /// Several messages of one mailbox by UID, in the order given, nil where there is none;
    /// one read transaction (so one snapshot) for all.
    public func messages(accountID: Int64, mailbox: MailboxName, uids: [UInt32]) throws -> [MessageRecord?] {
        try pool.read { db in
            let box = try fetchMailbox(db, accountID: accountID, name: mailbox.value)
            let statement = try db.cachedStatement(
                sql: "SELECT \(Self.summaryColumns) FROM message WHERE mailbox_id = ? AND uid = ?")
            return try uids.map { uid in
                try Row.fetchOne(statement, arguments: [box.id, uid]).map { MessageRecord(row: $0, withStructure: false) }
            }
        }
    }

    public enum FlagOperation: Sendable { case set, add, remove }

    /// Changes flags; each changed message gets the mailbox's next modseq (one per call, RFC 7162
    /// §3.1.1 allows it). Messages changed after `unchangedSince` are skipped.
    public func changeFlags(
        mailboxID: Int64, uids: UIDSet, operation: FlagOperation, flags: MessageFlags, unchangedSince: Int64?
    ) throws -> (updated: [MessageRecord], skipped: [UInt32], modseq: Int64) {
        try pool.write { db in
            let largest = try largestUID(db, mailboxID: mailboxID)
            let (clause, clauseArgs) = Self.uidClause(uids, mailboxID: mailboxID, largest: largest)
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT uid, blob, size, internal_date, flags, keywords, modseq FROM message WHERE mailbox_id = ? AND \(clause) ORDER BY uid",
                arguments: StatementArguments([mailboxID] + clauseArgs)
            ).map { MessageRecord(row: $0, withStructure: false) }
            let modseq =
                try Int64.fetchOne(try db.cachedStatement(sql: "SELECT highest_modseq FROM mailbox WHERE id = ?"), arguments: [mailboxID])!
                + 1
            var updated: [MessageRecord] = []
            var skipped: [UInt32] = []
            for var message in rows {
                if let since = unchangedSince, message.modseq > since {
                    skipped.append(message.uid)
                    continue
                }
                let new: MessageFlags
                switch operation {
                case .set: new = flags
                case .add: new = message.flags.union(flags)
                case .remove: new = message.flags.subtracting(flags)
                }
                if new == message.flags { continue }
                try db.cachedStatement(sql: "UPDATE message SET flags = ?, keywords = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?")
                    .execute(arguments: [new.system.rawValue, Self.keywordText(new), modseq, mailboxID, message.uid])
                message.flags = new
                message.modseq = modseq
                updated.append(message)
            }
            if !updated.isEmpty {
                try db.cachedStatement(sql: "UPDATE mailbox SET highest_modseq = ? WHERE id = ?").execute(arguments: [modseq, mailboxID])
            }
            return (updated, skipped, modseq)
        }
    }

    /// Copies (or moves) messages to another mailbox of the same account, in UID order; returns
    /// source and new UIDs pairwise (RFC 4315 COPYUID). A copy counts against the quota.
    public func copy(
        accountID: Int64, from source: Int64, uids: UIDSet, to targetName: String, move: Bool
    ) throws -> (target: MailboxRecord, source: [UInt32], created: [UInt32], expungeModseq: Int64?) {
        try pool.write { db in
            let target = try fetchMailbox(db, accountID: accountID, name: targetName)
            let largest = try largestUID(db, mailboxID: source)
            let (clause, clauseArgs) = Self.uidClause(uids, mailboxID: source, largest: largest)
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM message WHERE mailbox_id = ? AND \(clause) ORDER BY uid",
                arguments: StatementArguments([source] + clauseArgs))
            let bytes = rows.reduce(Int64(0)) { $0 + ($1["size"] as Int64) }
            if !move {
                let account = try Row.fetchOne(
                    try db.cachedStatement(sql: "SELECT quota_bytes, used_bytes FROM account WHERE id = ?"), arguments: [accountID])!
                let quota: Int64 = account["quota_bytes"]
                let used: Int64 = account["used_bytes"]
                if quota > 0 && used + bytes > quota {
                    throw StorageError(.quotaExceeded, "copying \(bytes) bytes would exceed the quota (\(used) of \(quota) used)")
                }
            }
            var uid = target.uidNext
            let modseq = target.highestModseq + 1
            var sourceUIDs: [UInt32] = []
            var created: [UInt32] = []
            for row in rows {
                let sourceUID: UInt32 = row["uid"]
                if move {
                    try db.cachedStatement(sql: "UPDATE message SET mailbox_id = ?, uid = ?, modseq = ? WHERE id = ?").execute(arguments: [
                        target.id, uid, modseq, row["id"] as Int64,
                    ])
                } else {
                    try db.cachedStatement(
                        sql: """
                            INSERT INTO message (mailbox_id, uid, blob, size, internal_date, flags, keywords, modseq, structure)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """
                    ).execute(arguments: [
                        target.id, uid, row["blob"] as String, row["size"] as Int64, row["internal_date"] as Int64,
                        row["flags"] as Int, row["keywords"] as String?, modseq, row["structure"] as String?,
                    ])
                    try db.cachedStatement(sql: "UPDATE blob SET refs = refs + 1 WHERE sha256 = ?").execute(arguments: [
                        row["blob"] as String
                    ])
                }
                sourceUIDs.append(sourceUID)
                created.append(uid)
                uid += 1
            }
            var expungeModseq: Int64?
            if !rows.isEmpty {
                try db.cachedStatement(sql: "UPDATE mailbox SET uid_next = ?, highest_modseq = ? WHERE id = ?").execute(arguments: [
                    uid, modseq, target.id,
                ])
                if move {
                    let sourceModseq =
                        try Int64.fetchOne(
                            try db.cachedStatement(sql: "SELECT highest_modseq FROM mailbox WHERE id = ?"), arguments: [source])! + 1
                    for u in sourceUIDs {
                        try db.cachedStatement(sql: "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)").execute(
                            arguments: [source, u, sourceModseq])
                    }
                    try db.cachedStatement(sql: "UPDATE mailbox SET highest_modseq = ? WHERE id = ?").execute(arguments: [
                        sourceModseq, source,
                    ])
                    expungeModseq = sourceModseq
                } else {
                    try db.cachedStatement(
                        sql: "UPDATE account SET used_bytes = used_bytes + ?, message_count = message_count + ? WHERE id = ?"
                    ).execute(arguments: [bytes, rows.count, accountID])
                }
            }
            return (try fetchMailbox(db, accountID: accountID, name: targetName), sourceUIDs, created, expungeModseq)
        }
    }

    /// Removes messages: those flagged `\Deleted` (RFC 3501 §6.4.3), or all those named when
    /// `regardlessOfFlags` (POP3's UPDATE state). Atomic: all or none.
    public func expunge(
        accountID: Int64, mailboxID: Int64, uids: UIDSet?, regardlessOfFlags: Bool
    ) throws -> (uids: [UInt32], modseq: Int64) {
        try pool.writeWithoutTransaction { db in
            var unused: [String] = []
            var result: ([UInt32], Int64) = ([], 0)
            try db.inTransaction {
                let largest = try largestUID(db, mailboxID: mailboxID)
                let (clause, clauseArgs) = Self.uidClause(uids, mailboxID: mailboxID, largest: largest)
                let flagClause = regardlessOfFlags ? "1" : "(flags & \(MessageFlags.System.deleted.rawValue)) != 0"
                let rows = try Row.fetchAll(
                    db, sql: "SELECT id, uid, blob, size FROM message WHERE mailbox_id = ? AND \(clause) AND \(flagClause) ORDER BY uid",
                    arguments: StatementArguments([mailboxID] + clauseArgs))
                var modseq = try Int64.fetchOne(
                    try db.cachedStatement(sql: "SELECT highest_modseq FROM mailbox WHERE id = ?"), arguments: [mailboxID])!
                guard !rows.isEmpty else {
                    result = ([], modseq)
                    return .commit
                }
                modseq += 1
                var bytes: Int64 = 0
                for row in rows {
                    try db.cachedStatement(sql: "DELETE FROM message WHERE id = ?").execute(arguments: [row["id"] as Int64])
                    try db.cachedStatement(sql: "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)").execute(
                        arguments: [mailboxID, row["uid"] as Int64, modseq])
                    bytes += row["size"] as Int64
                }
                try db.cachedStatement(sql: "UPDATE mailbox SET highest_modseq = ? WHERE id = ?").execute(arguments: [modseq, mailboxID])
                try db.cachedStatement(
                    sql: "UPDATE account SET used_bytes = used_bytes - ?, message_count = message_count - ? WHERE id = ?"
                ).execute(arguments: [bytes, rows.count, accountID])
                unused = try release(db, rows.map { $0["blob"] })
                result = (rows.map { $0["uid"] }, modseq)
                return .commit
            }
            blobs.remove(unused)
            return result
        }
    }

    // MARK: Queue

    public func queueEntries(limit: Int) throws -> [(id: Int64, sender: String, recipients: [String], size: Int64, createdAt: Int64)] {
        try pool.read { db in
            try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM queue ORDER BY id LIMIT ?"), arguments: [limit]).map { row in
                let id: Int64 = row["id"]
                let recipients = try String.fetchAll(
                    try db.cachedStatement(sql: "SELECT recipient FROM queue_recipient WHERE queue_id = ? ORDER BY recipient"),
                    arguments: [id])
                return (id, row["sender"], recipients, row["size"], row["created_at"])
            }
        }
    }

    public func counts() throws -> (messages: Int64, bodies: Int64) {
        try pool.read { db in
            (
                try Int64.fetchOne(try db.cachedStatement(sql: "SELECT count(*) FROM message"))!,
                try Int64.fetchOne(try db.cachedStatement(sql: "SELECT count(*) FROM blob"))!
            )
        }
    }

    /// Consistency check for tests and `loft check`: every row's body file exists and has its
    /// size, refs match the rows that use each body, and no body file lacks a row.
    public func verifyIntegrity() throws -> [String] {
        try pool.read { db in
            var problems: [String] = []
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT b.sha256, b.size, b.refs,
                        (SELECT count(*) FROM message m WHERE m.blob = b.sha256) + (SELECT count(*) FROM queue q WHERE q.blob = b.sha256) AS used
                    FROM blob b
                    """)
            var known = Set<String>()
            for row in rows {
                let sha: String = row["sha256"]
                known.insert(sha)
                let size: Int64 = row["size"]
                if row["refs"] as Int != row["used"] as Int {
                    problems.append("body \(sha): refs \(row["refs"] as Int) but used \(row["used"] as Int) times")
                }
                let attrs = try? FileManager.default.attributesOfItem(atPath: blobs.path(for: sha))
                if (attrs?[.size] as? NSNumber)?.int64Value != size { problems.append("body \(sha): file missing or of the wrong size") }
            }
            for sha in try String.fetchAll(
                try db.cachedStatement(sql: "SELECT DISTINCT blob FROM message WHERE blob NOT IN (SELECT sha256 FROM blob)"))
            {
                problems.append("message refers to unknown body \(sha)")
            }
            let fm = FileManager.default
            for shard in (try? fm.contentsOfDirectory(atPath: blobs.root)) ?? [] where shard.count == 2 {
                for name in (try? fm.contentsOfDirectory(atPath: "\(blobs.root)/\(shard)")) ?? [] where !known.contains(name) {
                    problems.append("body file \(name) has no row")
                }
            }
            let accounts = try Row.fetchAll(
                db,
                sql: """
                    SELECT a.address, a.used_bytes, a.message_count,
                        coalesce((SELECT sum(m.size) FROM message m JOIN mailbox b ON b.id = m.mailbox_id WHERE b.account_id = a.id), 0) AS bytes,
                        (SELECT count(*) FROM message m JOIN mailbox b ON b.id = m.mailbox_id WHERE b.account_id = a.id) AS n
                    FROM account a
                    """)
            for a in accounts where a["used_bytes"] as Int64 != a["bytes"] as Int64 || a["message_count"] as Int64 != a["n"] as Int64 {
                problems.append("account \(a["address"] as String): usage counters disagree with its messages")
            }
            return problems
        }
    }
}

extension PlacementResult {
    public var isStored: Bool {
        if case .stored = self { return true }
        return false
    }
}
