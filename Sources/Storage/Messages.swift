import Crypto
import Foundation
import GRDB
public import MailCore

/// A stored body as a message row refers to it; opaque: hand it back to the store to read it.
public struct BodyReference: Sendable, Hashable {
    let messageID: Int64
    let blobID: Int64
}

public struct MessageRecord: Sendable, Equatable {
    public var uid: UInt32
    /// The message's size as clients see it: `prefixLength` bytes, then the body.
    public var size: Int64
    public var internalDate: Int64
    public var flags: MessageFlags
    public var modseq: Int64
    /// `MailMessage.ParsedMessage` of the body as JSON, when asked for. Its offsets are relative
    /// to the body: add `prefixLength` (`ParsedMessage.afterPrefix`).
    public var structure: String?
    /// `MailMessage.Envelope` alone as JSON, when asked for (`MessageColumns.envelope`).
    public var envelope: String?
    /// Bytes stored for this copy before the shared body (its Return-Path line).
    public var prefixLength: Int
    public var body: BodyReference

    init(row: Row, withStructure: Bool) {
        self.init(row: row, columns: withStructure ? .structure : [])
    }

    /// A row that starts with `SQLiteStore.summaryColumns`, then `structure` and `envelope`
    /// when `columns` has them, in that order. Read by position: a name costs GRDB a look-up
    /// per column per row, and a listing reads thousands of rows.
    init(row: Row, columns: MessageColumns) {
        body = BodyReference(messageID: row[0], blobID: row[2])
        uid = row[1]
        size = row[3]
        internalDate = row[4]
        let keywords: String? = row[6]
        flags = MessageFlags(
            system: MessageFlags.System(rawValue: row[5]),
            keywords: keywords.map { $0.split(separator: " ").map(String.init) } ?? [])
        modseq = row[7]
        prefixLength = row[8]
        var next = 9
        if columns.contains(.structure) {
            structure = row[next]
            next += 1
        } else {
            structure = nil
        }
        envelope = columns.contains(.envelope) ? row[next] : nil
    }
}

/// The optional parts of a `MessageRecord` a listing reads.
public struct MessageColumns: OptionSet, Sendable, Hashable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    /// The parsed message as JSON (`MessageRecord.structure`).
    public static let structure = MessageColumns(rawValue: 1)
    /// Its envelope alone as JSON (`MessageRecord.envelope`), from `body_envelope`.
    public static let envelope = MessageColumns(rawValue: 2)
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

/// One message to store: a prepared body, its parsed structure, the header lines its mailbox
/// copies carry before the body, the mailboxes it goes to and the remote recipients it is
/// queued for.
public struct StoreRequest: Sendable {
    public var body: PreparedBody
    /// `ParsedMessage` of the body alone, as JSON.
    public var structure: String?
    /// Stored per mailbox copy before the body (the Return-Path line, RFC 5321 §4.4); queued
    /// copies go out without it.
    public var prefix: [UInt8]
    public var internalDate: Int64
    public var placements: [Placement]
    public var queueSender: String
    public var queueRecipients: [String]
    /// What the queued copy carries besides (DSN parameters, body type, lifetime).
    public var queueOptions: QueueOptions
    /// Makes the store happen at most once for a key (a delivery's idempotency key).
    public var outcome: RecordedOutcome?
    /// A second message that this one's result calls for — the bounce for recipients that
    /// failed (RFC 5321 §6.1) — made and stored in the same transaction, so that a crash
    /// neither loses it nor makes it twice. See `MessageStore.store`.
    public var followUp: FollowUp?
    public init(
        body: PreparedBody, structure: String?, prefix: [UInt8] = [], internalDate: Int64, placements: [Placement],
        queueSender: String = "", queueRecipients: [String] = [], queueOptions: QueueOptions = QueueOptions(),
        outcome: RecordedOutcome? = nil, followUp: FollowUp? = nil
    ) {
        self.body = body
        self.structure = structure
        self.prefix = prefix
        self.internalDate = internalDate
        self.placements = placements
        self.queueSender = queueSender
        self.queueRecipients = queueRecipients
        self.queueOptions = queueOptions
        self.outcome = outcome
        self.followUp = followUp
    }

    /// Given the stored request's result, the request to store next in the same transaction,
    /// or nil for none. Its body must be in memory (`PreparedBody.inMemory`), and it has no
    /// follow-up of its own.
    public typealias FollowUp = @Sendable (StoreResult) throws -> StoreRequest?
}

public enum PlacementResult: Sendable, Equatable {
    case stored(mailboxID: Int64, uidValidity: UInt32, uid: UInt32, modseq: Int64)
    case failed(StorageError)
}

public struct StoreResult: Sendable, Equatable {
    public var placements: [PlacementResult]
    public var queueID: Int64?
    /// Set when an earlier store with the same key committed: its recorded answer. Nothing
    /// was stored this time (`placements` is empty), follow-up included.
    public var earlierOutcome: String?
    /// What the request's follow-up stored, when it made one.
    public var followUp: StoreResult? {
        get { followUps.first }
        set { followUps = newValue.map { [$0] } ?? [] }
    }
    /// Zero or one element: a struct cannot hold an optional of itself.
    private var followUps: [StoreResult] = []

    public init(placements: [PlacementResult], queueID: Int64?, earlierOutcome: String? = nil, followUp: StoreResult? = nil) {
        self.placements = placements
        self.queueID = queueID
        self.earlierOutcome = earlierOutcome
        self.followUp = followUp
    }
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

/// Messages: storing, listing, reading, flags, copy, move, expunge.
extension SQLiteStore {
    /// The group commit behind delivery and APPEND. Large bodies are renamed into place and
    /// their directories fsynced first; inline bodies go into the transaction with their rows;
    /// then everything commits with one WAL fsync. Bodies that end up unused are removed.
    ///
    /// Recorded outcomes (`StoreRequest.outcome`) older than `deliveryOutcomeRetention` seconds
    /// before `now` are pruned in the same transaction, at most `outcomePruneBatch` a batch, so
    /// the work per commit stays bounded however many have piled up.
    public func store(_ requests: [StoreRequest], now: Int64? = nil) throws -> [StoreResult] {
        let now = now ?? Self.now()
        do {
            return try writeWithoutTransaction { db in
                let staged = requests.compactMap { r in r.body.stagedPath.map { (digest: r.body.digest, path: $0) } }
                if !staged.isEmpty { try files.install(staged) }
                var results: [StoreResult] = []
                do {
                    try db.inTransaction {
                        results = []
                        for request in requests {
                            var result = try store(db, request, now: now)
                            if result.earlierOutcome == nil, let followUp = request.followUp, let next = try followUp(result) {
                                result.followUp = try storeFollowUp(db, next, now: now)
                            }
                            results.append(result)
                        }
                        try pruneOutcomes(db, now: now)
                        return .commit
                    }
                } catch {
                    // Nothing committed: the files just installed belong to no row (unless an
                    // identical body already had them).
                    try? dropUnusedFiles(db, requests.filter { $0.body.stagedPath != nil }.map(\.body.digest))
                    throw error
                }
                try dropUnusedFiles(db, requests.filter { $0.body.stagedPath != nil }.map(\.body.digest))
                return results
            }
        } catch {
            // Staged files not yet installed (the install failed part-way).
            for request in requests { request.body.discard() }
            throw error
        }
    }

    /// Removes the files of `digests` that no file row refers to.
    func dropUnusedFiles(_ db: Database, _ digests: [BodyDigest]) throws {
        var unused: [BodyDigest] = []
        for digest in Set(digests)
        where try Bool.fetchOne(
            try db.cachedStatement(sql: "SELECT 1 FROM blob WHERE sha256 = ? AND inline = 0"), arguments: [digest.data]) == nil
        {
            unused.append(digest)
        }
        files.remove(unused)
    }

    func pruneOutcomes(_ db: Database, now: Int64) throws {
        // One seek to the oldest row decides; only then are up to a batch of the oldest rows
        // read (rows go in in time order, so those are the expired ones).
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
    }

    /// How long a recorded delivery outcome is kept, at least: a day, far longer than any
    /// gateway waits before asking for one.
    public static let deliveryOutcomeRetention: Int64 = 24 * 3600
    /// Expired outcomes deleted per commit batch at most.
    public static let outcomePruneBatch = 256

    public func recordedOutcome(key: String) throws -> String? {
        try read { db in
            try String.fetchOne(try db.cachedStatement(sql: "SELECT result FROM delivery_outcome WHERE key = ?"), arguments: [key])
        }
    }

    /// A follow-up's body was made in memory inside this transaction: a staged file would have
    /// had to be installed (and fsynced) before it began.
    func storeFollowUp(_ db: Database, _ request: StoreRequest, now: Int64) throws -> StoreResult {
        guard request.body.stagedPath == nil, request.followUp == nil else {
            request.body.discard()
            throw StorageError(.corrupt, "a follow-up must have its body in memory and no follow-up of its own")
        }
        return try store(db, request, now: now)
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
        // references yet; it is counted, or dropped again, below. An identical body stored
        // before, inline or as a file, is used as it is.
        let body = request.body
        let blobID: Int64
        if let existing = try Int64.fetchOne(
            try db.cachedStatement(sql: "SELECT id FROM blob WHERE sha256 = ?"), arguments: [body.digest.data])
        {
            blobID = existing
        } else {
            let inline: [UInt8]?
            if case .memory(let bytes) = body.content { inline = bytes } else { inline = nil }
            try db.cachedStatement(sql: "INSERT INTO blob (sha256, size, refs, inline) VALUES (?, ?, 0, ?)").execute(
                arguments: [body.digest.data, body.size, inline != nil])
            blobID = db.lastInsertedRowID
            try db.cachedStatement(sql: "INSERT INTO body (blob_id, structure, data) VALUES (?, ?, ?)").execute(
                arguments: [blobID, request.structure, inline.map { Data($0) }])
            try storeHeader(db, blobID: blobID, body: body, structure: request.structure)
            try db.cachedStatement(
                sql: """
                    INSERT INTO body_envelope (blob_id, envelope) SELECT ?1, json_extract(?2, '$.envelope')
                    WHERE json_valid(?2) AND json_type(?2, '$.envelope') = 'object'
                    """
            ).execute(arguments: [blobID, request.structure])
        }
        let prefix: Data? = request.prefix.isEmpty ? nil : Data(request.prefix)
        let size = Int64(request.prefix.count) + body.size
        var placements: [PlacementResult] = []
        var refs = 0
        for placement in request.placements {
            let outcome = try place(db, blobID: blobID, prefix: prefix, size: size, internalDate: request.internalDate, placement)
            if outcome.isStored { refs += 1 }
            placements.append(outcome)
        }
        var queueID: Int64?
        if !request.queueRecipients.isEmpty {
            let options = request.queueOptions
            try db.cachedStatement(
                sql: """
                    INSERT INTO queue (sender, blob_id, body_offset, size, created_at, envid, ret, body_type, smtputf8, origin, expires_at)
                    VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    request.queueSender, blobID, body.size, now, options.envid, options.ret, options.bodyType, options.smtputf8,
                    options.origin, now + max(1, options.lifetime),
                ])
            let id = db.lastInsertedRowID
            queueID = id
            refs += 1
            for r in request.queueRecipients {
                let dsn = options.recipientDSN[r]
                let domain = r.lastIndex(of: "@").map { String(r[r.index(after: $0)...]).lowercased() } ?? ""
                try db.cachedStatement(
                    sql: """
                        INSERT OR IGNORE INTO queue_recipient (queue_id, recipient, next_attempt_at, domain, notify, orcpt)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [id, r, now, domain, Self.storedNotify(dsn?.notify), dsn?.orcpt])
            }
        }
        if refs > 0 {
            try db.cachedStatement(sql: "UPDATE blob SET refs = refs + ? WHERE id = ?").execute(arguments: [refs, blobID])
        } else {
            // The body row cascades with it.
            try db.cachedStatement(sql: "DELETE FROM blob WHERE id = ? AND refs = 0").execute(arguments: [blobID])
        }
        let result = StoreResult(placements: placements, queueID: queueID)
        if let outcome = request.outcome {
            try db.cachedStatement(sql: "INSERT INTO delivery_outcome (key, result, created_at) VALUES (?, ?, ?)").execute(
                arguments: [outcome.key, try outcome.render(result), now])
        }
        return result
    }

    /// Keeps the body's header block (as the structure locates it) apart for SEARCH: at most
    /// `Schema.maxStoredHeaderBytes`, from memory or from the file installed for this batch.
    func storeHeader(_ db: Database, blobID: Int64, body: PreparedBody, structure: String?) throws {
        guard let structure,
            let length = try Int.fetchOne(
                try db.cachedStatement(sql: "SELECT json_extract(?, '$.body.bodyStart') WHERE json_valid(?)"),
                arguments: [structure, structure]), length > 0
        else { return }
        let count = Int(min(Int64(min(length, Schema.maxStoredHeaderBytes)), body.size))
        let header: [UInt8]
        switch body.content {
        case .memory(let bytes): header = Array(bytes.prefix(count))
        case .file: header = try files.read(body.digest, offset: 0, length: count)
        }
        try db.cachedStatement(sql: "INSERT INTO body_header (blob_id, data) VALUES (?, ?)").execute(arguments: [blobID, Data(header)])
    }

    func place(
        _ db: Database, blobID: Int64, prefix: Data?, size: Int64, internalDate: Int64, _ placement: Placement
    ) throws -> PlacementResult {
        guard
            let account = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT quota_bytes, used_bytes FROM account WHERE id = ?"), arguments: [placement.accountID])
        else {
            return .failed(StorageError(.noSuchAccount, "the account no longer exists"))
        }
        let quota: Int64 = account["quota_bytes"]
        let used: Int64 = account["used_bytes"]
        if quota > 0 && used + size > quota {
            return .failed(StorageError(.quotaExceeded, "mailbox full: \(used) of \(quota) bytes used"))
        }
        let box: MailboxRecord
        do {
            box = try fetchSelectableMailbox(db, accountID: placement.accountID, name: placement.mailbox)
        } catch let error as StorageError {
            return .failed(error)
        }
        let uid = box.uidNext
        let modseq = box.highestModseq + 1
        try db.cachedStatement(
            sql: """
                INSERT INTO message (mailbox_id, uid, blob_id, prefix, size, internal_date, flags, keywords, modseq)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            box.id, uid, blobID, prefix, size, internalDate, placement.flags.system.rawValue, Self.keywordText(placement.flags), modseq,
        ])
        try db.cachedStatement(sql: "UPDATE mailbox SET uid_next = ?, highest_modseq = ? WHERE id = ?").execute(arguments: [
            uid + 1, modseq, box.id,
        ])
        try db.cachedStatement(sql: "UPDATE account SET used_bytes = used_bytes + ?, message_count = message_count + 1 WHERE id = ?")
            .execute(arguments: [size, placement.accountID])
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

    /// The mailbox's highest modseq. The caller looked the mailbox up by name before, and
    /// another session may have deleted it since: that is `noSuchMailbox`.
    func highestModseq(_ db: Database, mailboxID: Int64) throws -> Int64 {
        guard
            let modseq = try Int64.fetchOne(
                try db.cachedStatement(sql: "SELECT highest_modseq FROM mailbox WHERE id = ?"), arguments: [mailboxID])
        else {
            throw StorageError(.noSuchMailbox, "the mailbox no longer exists")
        }
        return modseq
    }

    func largestUID(_ db: Database, mailboxID: Int64) throws -> UInt32 {
        try UInt32.fetchOne(try db.cachedStatement(sql: "SELECT max(uid) FROM message WHERE mailbox_id = ?"), arguments: [mailboxID]) ?? 0
    }

    public func messages(
        mailboxID: Int64, uids: UIDSet?, changedSince: Int64?, afterUID: UInt32?, limit: Int, columns: MessageColumns, budget: Int
    ) throws -> (messages: [MessageRecord], more: Bool) {
        try read { db in
            let largest = try largestUID(db, mailboxID: mailboxID)
            let (clause, clauseArgs) = Self.uidClause(uids, mailboxID: mailboxID, largest: largest)
            var args: [any DatabaseValueConvertible] = [mailboxID]
            args += clauseArgs
            args += [changedSince ?? 0, Int64(afterUID ?? 0), limit]
            var select = Self.summaryColumns
            if columns.contains(.structure) { select += ", s.structure" }
            var join = ""
            if columns.contains(.structure) { join += " LEFT JOIN body s ON s.blob_id = m.blob_id" }
            if columns.contains(.envelope) {
                select += ", e.envelope"
                join += " LEFT JOIN body_envelope e ON e.blob_id = m.blob_id"
            }
            let sql = """
                SELECT \(select) FROM message m \(join)
                WHERE m.mailbox_id = ? AND \(clause) AND m.modseq > ? AND m.uid > ? ORDER BY m.uid LIMIT ?
                """
            let rows = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
            var out: [MessageRecord] = []
            var used = 0
            while let row = try rows.next() {
                let record = MessageRecord(row: row, columns: columns)
                used += (record.structure?.utf8.count ?? 0) + (record.envelope?.utf8.count ?? 0)
                if used > budget && !out.isEmpty { return (out, true) }
                out.append(record)
            }
            return (out, out.count == limit)
        }
    }

    /// A message row's columns for `MessageRecord`, the message table named `m`; it reads
    /// them by position, so their order is fixed.
    static let summaryColumns =
        "m.id, m.uid, m.blob_id, m.size, m.internal_date, m.flags, m.keywords, m.modseq, coalesce(length(m.prefix), 0) AS prefix_length"

    /// One message found by its mailbox's name and its UID in one statement outside a
    /// transaction (a single SELECT sees one snapshot): the read path of every RETR and FETCH,
    /// where the mailbox look-up and the two read transactions of `mailbox` + `message` cost
    /// more than the read itself.
    public func message(accountID: Int64, mailbox: MailboxName, uid: UInt32, withStructure: Bool) throws -> MessageRecord {
        do {
            return try pool.unsafeRead { db in
                let sql =
                    withStructure
                    ? """
                    SELECT \(Self.summaryColumns), s.structure FROM message m JOIN mailbox b ON b.id = m.mailbox_id
                    LEFT JOIN body s ON s.blob_id = m.blob_id
                    WHERE b.account_id = ? AND b.name = ? AND m.uid = ?
                    """
                    : """
                    SELECT \(Self.summaryColumns) FROM message m JOIN mailbox b ON b.id = m.mailbox_id
                    WHERE b.account_id = ? AND b.name = ? AND m.uid = ?
                    """
                if let row = try Row.fetchOne(try db.cachedStatement(sql: sql), arguments: [accountID, mailbox.value, uid]) {
                    return MessageRecord(row: row, withStructure: withStructure)
                }
                _ = try fetchMailbox(db, accountID: accountID, name: mailbox.value)  // throws noSuchMailbox
                throw StorageError(.noSuchMessage, "no message with UID \(uid)")
            }
        } catch let error as DatabaseError {
            throw Self.storageError(error, "read")
        }
    }

    public func read(_ message: MessageRecord, offset: Int64, length: Int) throws -> [UInt8] {
        try read { db in
            guard
                let row = try Row.fetchOne(
                    try db.cachedStatement(sql: "SELECT prefix FROM message WHERE id = ? AND blob_id = ?"),
                    arguments: [message.body.messageID, message.body.blobID])
            else {
                throw StorageError(.noSuchMessage, "the message was expunged")
            }
            let prefix = (row["prefix"] as Data?).map { [UInt8]($0) } ?? []
            return try readBytes(db, blobID: message.body.blobID, prefix: prefix, offset: offset, length: length)
        }
    }

    public func bodyDigest(_ message: MessageRecord) throws -> BodyDigest {
        try read { db in
            guard
                let data = try Data.fetchOne(
                    try db.cachedStatement(
                        sql: "SELECT b.sha256 FROM message m JOIN blob b ON b.id = m.blob_id WHERE m.id = ? AND m.blob_id = ?"),
                    arguments: [message.body.messageID, message.body.blobID])
            else {
                throw StorageError(.noSuchMessage, "the message was expunged")
            }
            return BodyDigest(data)
        }
    }

    /// `length` bytes at `offset` of `prefix` followed by the body of `blobID`. A body that
    /// holds fewer bytes there than its row says is `corrupt`: a caller sizes its answer (an
    /// IMAP literal, a POP3 listing) from the row.
    func readBytes(_ db: Database, blobID: Int64, prefix: [UInt8], offset: Int64, length: Int) throws -> [UInt8] {
        guard length > 0 else { return [] }
        var out: [UInt8] = []
        var offset = offset
        var length = length
        if offset < Int64(prefix.count) {
            let take = min(length, prefix.count - Int(offset))
            out += prefix[Int(offset)..<Int(offset) + take]
            length -= take
            offset = Int64(prefix.count)
        }
        guard length > 0 else { return out }
        let bodyOffset = offset - Int64(prefix.count)
        guard
            let row = try Row.fetchOne(
                try db.cachedStatement(
                    sql: """
                        SELECT b.sha256, b.size, b.inline, substr(d.data, ? + 1, ?) AS part
                        FROM blob b LEFT JOIN body d ON d.blob_id = b.id WHERE b.id = ?
                        """), arguments: [bodyOffset, length, blobID])
        else {
            throw StorageError(.noSuchMessage, "the message was expunged")
        }
        let digest = BodyDigest(row["sha256"] as Data)
        let part: [UInt8]
        if row["inline"] as Bool {
            part = (row["part"] as Data?).map { [UInt8]($0) } ?? []
        } else {
            part = try files.read(digest, offset: bodyOffset, length: length)
        }
        let size: Int64 = row["size"]
        guard part.count == Int(max(0, min(Int64(length), size - bodyOffset))) else {
            throw Self.shortBody(digest, size: size)
        }
        return out.isEmpty ? part : out + part
    }

    static func shortBody(_ digest: BodyDigest, size: Int64) -> StorageError {
        StorageError(.corrupt, "message body \(digest) holds fewer than its \(size) bytes")
    }

    public func readBatch(accountID: Int64, mailbox: MailboxName, uids: [UInt32], length: Int, budget: Int) throws -> [BatchRead] {
        try read { db in
            let box = try fetchMailbox(db, accountID: accountID, name: mailbox.value)
            let statement = try db.cachedStatement(
                sql: """
                    SELECT m.size, m.prefix, m.blob_id, b.sha256, b.size AS body_size, b.inline, substr(d.data, 1, ?) AS head
                    FROM message m JOIN blob b ON b.id = m.blob_id LEFT JOIN body d ON d.blob_id = m.blob_id
                    WHERE m.mailbox_id = ? AND m.uid = ?
                    """)
            var budget = budget
            var full = false
            return try uids.map { uid -> BatchRead in
                guard let row = try Row.fetchOne(statement, arguments: [length, box.id, uid]) else { return .missing(uid: uid) }
                let size: Int64 = row["size"]
                let count = Int(min(Int64(length), size))
                // Once one does not fit, later ones wait too, so the answer is a prefix of the
                // UIDs asked for (plus every missing one).
                if full || count > budget {
                    full = true
                    return .later(uid: uid)
                }
                budget -= count
                let prefix = (row["prefix"] as Data?).map { [UInt8]($0) } ?? []
                if row["inline"] as Bool {
                    var bytes = [UInt8](prefix.prefix(count))
                    if bytes.count < count, let head = row["head"] as Data? { bytes += head.prefix(count - bytes.count) }
                    guard bytes.count == count else { throw Self.shortBody(BodyDigest(row["sha256"] as Data), size: row["body_size"]) }
                    return .read(uid: uid, bytes: bytes, total: size)
                }
                return .read(
                    uid: uid, bytes: try readBytes(db, blobID: row["blob_id"], prefix: prefix, offset: 0, length: count), total: size)
            }
        }
    }

    public func changeFlags(
        mailboxID: Int64, uids: UIDSet, operation: FlagOperation, flags: MessageFlags, unchangedSince: Int64?
    ) throws -> (updated: [MessageRecord], skipped: [UInt32], modseq: Int64, unchanged: [MessageRecord]) {
        try write { db in
            let largest = try largestUID(db, mailboxID: mailboxID)
            let (clause, clauseArgs) = Self.uidClause(uids, mailboxID: mailboxID, largest: largest)
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT \(Self.summaryColumns) FROM message m WHERE m.mailbox_id = ? AND \(clause) ORDER BY m.uid",
                arguments: StatementArguments([mailboxID] + clauseArgs)
            ).map { MessageRecord(row: $0, withStructure: false) }
            let modseq = try highestModseq(db, mailboxID: mailboxID) + 1
            var updated: [MessageRecord] = []
            var skipped: [UInt32] = []
            var unchanged: [MessageRecord] = []
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
                if new == message.flags {
                    unchanged.append(message)
                    continue
                }
                try db.cachedStatement(sql: "UPDATE message SET flags = ?, keywords = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?")
                    .execute(arguments: [new.system.rawValue, Self.keywordText(new), modseq, mailboxID, message.uid])
                message.flags = new
                message.modseq = modseq
                updated.append(message)
            }
            if !updated.isEmpty {
                try db.cachedStatement(sql: "UPDATE mailbox SET highest_modseq = ? WHERE id = ?").execute(arguments: [modseq, mailboxID])
            }
            return (updated, skipped, modseq, unchanged)
        }
    }

    public func copy(
        accountID: Int64, from source: Int64, uids: UIDSet, to targetName: String, move: Bool
    ) throws -> (target: MailboxRecord, source: [UInt32], created: [UInt32], expungeModseq: Int64?) {
        try write { db in
            let target = try fetchSelectableMailbox(db, accountID: accountID, name: targetName)
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
                            INSERT INTO message (mailbox_id, uid, blob_id, prefix, size, internal_date, flags, keywords, modseq)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """
                    ).execute(arguments: [
                        target.id, uid, row["blob_id"] as Int64, row["prefix"] as Data?, row["size"] as Int64,
                        row["internal_date"] as Int64, row["flags"] as Int, row["keywords"] as String?, modseq,
                    ])
                    try db.cachedStatement(sql: "UPDATE blob SET refs = refs + 1 WHERE id = ?").execute(arguments: [
                        row["blob_id"] as Int64
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

    public func expunge(
        accountID: Int64, mailboxID: Int64, uids: UIDSet?, regardlessOfFlags: Bool
    ) throws -> (uids: [UInt32], modseq: Int64) {
        try writeWithoutTransaction { db in
            var unused: [BodyDigest] = []
            var result: ([UInt32], Int64) = ([], 0)
            try db.inTransaction {
                let largest = try largestUID(db, mailboxID: mailboxID)
                let (clause, clauseArgs) = Self.uidClause(uids, mailboxID: mailboxID, largest: largest)
                let flagClause = regardlessOfFlags ? "1" : "(flags & \(MessageFlags.System.deleted.rawValue)) != 0"
                let rows = try Row.fetchAll(
                    db, sql: "SELECT id, uid, blob_id, size FROM message WHERE mailbox_id = ? AND \(clause) AND \(flagClause) ORDER BY uid",
                    arguments: StatementArguments([mailboxID] + clauseArgs))
                var modseq = try highestModseq(db, mailboxID: mailboxID)
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
                unused = try release(db, rows.map { $0["blob_id"] })
                result = (rows.map { $0["uid"] }, modseq)
                return .commit
            }
            files.remove(unused)
            return result
        }
    }

    // MARK: Queue

    public func counts() throws -> (messages: Int64, bodies: Int64) {
        try read { db in
            (
                try Int64.fetchOne(try db.cachedStatement(sql: "SELECT count(*) FROM message"))!,
                try Int64.fetchOne(try db.cachedStatement(sql: "SELECT count(*) FROM blob"))!
            )
        }
    }

    public func summary() throws -> StoreSummary {
        let row = try read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM domain), (SELECT count(*) FROM account), (SELECT count(*) FROM message),
                        (SELECT total(used_bytes) FROM account), count(*), total(size), total(CASE WHEN inline = 0 THEN 1 END),
                        total(CASE WHEN inline = 0 THEN size END)
                    FROM blob
                    """)!
        }
        let onDisk = ["", "-wal", "-shm"].reduce(Int64(0)) { sum, suffix in
            var st = stat()
            return sum + (stat(directory + "/" + Self.databaseName + suffix, &st) == 0 ? Int64(st.st_size) : 0)
        }
        return StoreSummary(
            domains: row[0], accounts: row[1], messages: row[2], messageBytes: Int64(row[3] as Double), bodies: row[4],
            bodyBytes: Int64(row[5] as Double), fileBodies: Int64(row[6] as Double), fileBodyBytes: Int64(row[7] as Double),
            databaseBytes: onDisk)
    }

    /// For tests and `loft check`: every body is where its row says and of its size, reference
    /// counts match the rows that use each body, no body file lacks a row, and the account and
    /// mailbox counters agree with the messages. `deep` adds SQLite's own page-by-page check
    /// and re-hashes every body, inline and file.
    public func verify(deep: Bool) throws -> [String] {
        try read { db in
            var problems: [String] = []
            if deep {
                for line in try String.fetchAll(db, sql: "PRAGMA integrity_check") where line != "ok" {
                    problems.append("database: \(line)")
                }
                for row in try Row.fetchAll(db, sql: "PRAGMA foreign_key_check") {
                    problems.append("database: a row of \(row[0] as String? ?? "?") refers to a missing row of \(row[2] as String? ?? "?")")
                }
            }
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT b.id, b.sha256, b.size, b.refs, b.inline, d.blob_id IS NOT NULL AS has_row, length(d.data) AS stored,
                        (SELECT count(*) FROM message m WHERE m.blob_id = b.id) + (SELECT count(*) FROM queue q WHERE q.blob_id = b.id) AS used
                    FROM blob b LEFT JOIN body d ON d.blob_id = b.id
                    """)
            var fileBodies = Set<BodyDigest>()
            for row in rows {
                let digest = BodyDigest(row["sha256"] as Data)
                let size: Int64 = row["size"]
                if row["refs"] as Int != row["used"] as Int {
                    problems.append("body \(digest): refs \(row["refs"] as Int) but used \(row["used"] as Int) times")
                }
                if !(row["has_row"] as Bool) { problems.append("body \(digest): no body row") }
                if row["inline"] as Bool {
                    if row["stored"] as Int64? != size { problems.append("body \(digest): inline bytes missing or of the wrong size") }
                    if deep,
                        let data = try Data.fetchOne(
                            try db.cachedStatement(sql: "SELECT data FROM body WHERE blob_id = ?"), arguments: [row["id"] as Int64]),
                        BodyDigest(SHA256.hash(data: data)) != digest
                    {
                        problems.append("body \(digest): inline bytes do not hash to their name")
                    }
                } else {
                    fileBodies.insert(digest)
                    if deep {
                        if let (hash, length) = files.rehash(digest) {
                            if length != size { problems.append("body \(digest): file of the wrong size") }
                            if hash != digest { problems.append("body \(digest): file does not hash to its name") }
                        } else {
                            problems.append("body \(digest): file missing")
                        }
                    } else {
                        var st = stat()
                        if stat(files.path(for: digest), &st) != 0 || Int64(st.st_size) != size {
                            problems.append("body \(digest): file missing or of the wrong size")
                        }
                    }
                }
            }
            for digest in files.allFiles() where !fileBodies.contains(digest) {
                problems.append("body file \(digest) has no row")
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
            let boxes = try Row.fetchAll(
                db,
                sql: """
                    SELECT b.id, b.name, b.message_count, b.unseen_count, b.size_bytes, b.recent_count,
                        (SELECT count(*) FROM message m WHERE m.mailbox_id = b.id) AS n,
                        (SELECT count(*) FROM message m WHERE m.mailbox_id = b.id AND (m.flags & 1) = 0) AS unseen,
                        (SELECT coalesce(sum(m.size), 0) FROM message m WHERE m.mailbox_id = b.id) AS bytes,
                        (SELECT count(*) FROM message m WHERE m.mailbox_id = b.id AND m.uid >= b.first_recent_uid) AS recent
                    FROM mailbox b
                    """)
            for b in boxes
            where b["message_count"] as Int64 != b["n"] as Int64 || b["unseen_count"] as Int64 != b["unseen"] as Int64
                || b["size_bytes"] as Int64 != b["bytes"] as Int64 || b["recent_count"] as Int64 != b["recent"] as Int64
            {
                problems.append("mailbox \(b["name"] as String) (\(b["id"] as Int64)): counters disagree with its messages")
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
