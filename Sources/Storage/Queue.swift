import Foundation
import GRDB
public import MailCore

/// What a queued copy of a message carries besides its sender and recipients (schema v8).
public struct QueueOptions: Sendable, Equatable {
    /// `submission`, `forward`, `group` or `bounce`.
    public var origin: String
    /// RFC 3461 §4.4 ENVID and §4.3 RET (`full`, `hdrs`).
    public var envid: String?
    public var ret: String?
    /// `7bit`, `8bitmime` or `binarymime` (RFC 6152, RFC 3030).
    public var bodyType: String
    public var smtputf8: Bool
    /// Seconds from now until its recipients fail if still not delivered.
    public var lifetime: Int64
    /// Per recipient: RFC 3461 NOTIFY (nil absent, empty NEVER) and ORCPT.
    public var recipientDSN: [String: RecipientDSN]

    public struct RecipientDSN: Sendable, Equatable {
        public var notify: Set<QueueSchedule.Notify>?
        public var orcpt: String?
        public init(notify: Set<QueueSchedule.Notify>? = nil, orcpt: String? = nil) {
            self.notify = notify
            self.orcpt = orcpt
        }
    }

    public init(
        origin: String = "submission", envid: String? = nil, ret: String? = nil, bodyType: String = "7bit", smtputf8: Bool = false,
        lifetime: Int64 = QueueSchedule.Policy.standard.lifetime, recipientDSN: [String: RecipientDSN] = [:]
    ) {
        self.origin = origin
        self.envid = envid
        self.ret = ret
        self.bodyType = bodyType
        self.smtputf8 = smtputf8
        self.lifetime = lifetime
        self.recipientDSN = recipientDSN
    }
}

/// One queued message, without its body.
public struct QueuedMessage: Sendable, Equatable {
    public var id: Int64
    public var sender: String
    /// Bytes that will be sent: the body, without the Return-Path local copies carry.
    public var size: Int64
    public var bodyType: String
    public var smtputf8: Bool
    public var envid: String?
    public var ret: String?
    public var origin: String
    public var createdAt: Int64
    public var expiresAt: Int64
}

/// One recipient of a queued message, with its state and its last attempt.
public struct QueuedRecipient: Sendable, Equatable {
    public var queueID: Int64
    public var recipient: String
    public var domain: String
    public var orcpt: String?
    public var state: QueueSchedule.State
    public var lastAttempt: QueueAttempt?
}

/// What one delivery attempt got from the remote side, kept with the recipient.
public struct QueueAttempt: Sendable, Equatable {
    public var at: Int64
    public var code: Int?
    public var enhancedCode: String?
    public var text: String?
    public var remoteMTA: String?
    public init(at: Int64, code: Int? = nil, enhancedCode: String? = nil, text: String? = nil, remoteMTA: String? = nil) {
        self.at = at
        self.code = code
        self.enhancedCode = enhancedCode
        self.text = text
        self.remoteMTA = remoteMTA
    }
}

/// The recipients one lease handed out: all of one destination domain, grouped by message.
public struct QueueLeaseBatch: Sendable, Equatable {
    public var leaseID: String
    public var until: Int64
    public var domain: String
    public var messages: [(message: QueuedMessage, recipients: [QueuedRecipient])]
    /// Whether recipients this caller could lease are still due after this lease (another
    /// worker may be woken for them).
    public var moreDue: Bool

    public static func == (a: Self, b: Self) -> Bool {
        a.leaseID == b.leaseID && a.until == b.until && a.domain == b.domain && a.messages.map(\.message) == b.messages.map(\.message)
            && a.messages.map(\.recipients) == b.messages.map(\.recipients) && a.moreDue == b.moreDue
    }
}

/// Which recipients `updateQueue` considers.
public enum QueueSelection: Sendable, Equatable {
    /// Those of one message; all of them when `recipients` is nil.
    case message(Int64, recipients: [String]?)
    /// Every recipient waiting (pending or deferred).
    case waiting
}

/// A recipient `updateQueue` changed, and the notification its change calls for.
public struct QueueChange: Sendable, Equatable {
    public var recipient: QueuedRecipient
    public var notification: QueueSchedule.Notification?
}

/// What `updateQueue` did.
public struct QueueUpdate: Sendable {
    /// Per recipient considered: the step taken.
    public var steps: [(queueID: Int64, recipient: String, step: QueueSchedule.Step)]
    /// What the follow-ups stored (notifications), for the caller to announce.
    public var stored: [StoreResult]
    /// Messages whose every recipient is now final: removed from the queue.
    public var finished: [Int64]
}

/// The queue's size, for `queue.status`.
public struct QueueCounts: Sendable, Equatable {
    public var messages: Int64
    public var recipients: Int64
    public var deferred: Int64
    public var leased: Int64
    public var oldestAt: Int64?
    public var nextDueAt: Int64?
}

/// The outbound queue (Protocol/README §15). Every change of a recipient's status goes through
/// `QueueSchedule`, applied inside the transaction that read the row.
public protocol QueueStore: Sendable {
    /// Leases, until `until`, up to `max` due recipients of one destination domain (the one
    /// whose recipient has waited longest, not in `excludingDomains`, and with fewer than
    /// `perDomain` leases running when that is set: the destination's concurrency), grouped by
    /// message; nil when none is due.
    func leaseQueue(
        leaseID: String, now: Int64, until: Int64, max: Int, excludingDomains: Set<String>, perDomain: Int?
    ) throws -> QueueLeaseBatch?
    /// When the next recipient not of `excludingDomains` (nor of a domain with `perDomain`
    /// leases running) falls due: a waiting one's next attempt, or a lease's end.
    func nextQueueDue(excludingDomains: Set<String>, perDomain: Int?, now: Int64) throws -> Int64?
    /// `length` bytes at `offset` of a queued message as it is to be sent, and its size; only
    /// while `lease` holds one of its recipients (`noSuchLease` otherwise).
    func readQueued(queueID: Int64, lease: String, now: Int64, offset: Int64, length: Int) throws -> (bytes: [UInt8], total: Int64)
    /// Extends the lease on every recipient it still holds to `until` at least: how many, and
    /// the deadline they now have.
    func renewQueueLease(_ lease: String, now: Int64, until: Int64) throws -> (recipients: Int, deadline: Int64)
    /// Applies `step` to each recipient of `selection` in one transaction and writes the
    /// attempt it returns with the new state. Then, per message with notifications to send,
    /// calls `notify` with the message, its original header (at most 32 KiB), a function that
    /// reads the whole message (as it is sent, `size` bytes: for RET=FULL, called only by a
    /// notification that returns it) and the changes, and stores what it returns in the same
    /// transaction (a DSN is never lost nor made twice). Messages left with no recipient that
    /// is not final leave the queue.
    func updateQueue(
        _ selection: QueueSelection, now: Int64,
        step: (QueuedRecipient) -> (QueueSchedule.Step, QueueAttempt?),
        notify: (QueuedMessage, [UInt8], _ wholeMessage: () throws -> [UInt8], [QueueChange]) throws -> [StoreRequest]
    ) throws -> QueueUpdate
    /// Messages with a recipient not final that is past its lifetime, or (when `warnAge` > 0)
    /// queued longer than `warnAge` and not yet warned: the scheduler's round.
    func queueIDsAgeing(now: Int64, warnAge: Int64, limit: Int) throws -> [Int64]
    /// A page of the queue in id order, after `after`.
    func queuedMessages(limit: Int, after: Int64?) throws -> [(message: QueuedMessage, recipients: [QueuedRecipient])]
    func queuedMessage(id: Int64) throws -> (message: QueuedMessage, recipients: [QueuedRecipient])?
    func queueCounts() throws -> QueueCounts
}

extension SQLiteStore {
    /// Bytes of the original header handed to `notify` at most (DSN's own cap).
    static let notificationHeaderBytes = 32 * 1024

    static let dueCondition = """
        ((r.status IN ('pending', 'deferred') AND r.next_attempt_at <= :now) OR (r.status = 'leased' AND r.lease_until <= :now))
        """

    public func leaseQueue(
        leaseID: String, now: Int64, until: Int64, max: Int, excludingDomains: Set<String>, perDomain: Int?
    ) throws -> QueueLeaseBatch? {
        try combinedWrite { db -> QueueLeaseBatch? in
            var excluded = excludingDomains
            if let perDomain {
                excluded.formUnion(try domainsAtLimit(db, now: now, limit: perDomain))
            }
            guard
                let domain = try String.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT r.domain FROM queue_recipient r WHERE \(Self.dueCondition)
                            AND r.domain NOT IN (SELECT value FROM json_each(:excluded))
                            ORDER BY r.next_attempt_at LIMIT 1
                            """), arguments: ["now": now, "excluded": try Self.json(excluded)])
            else { return nil }
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT r.*, q.sender, q.size AS q_size, q.body_offset, q.body_type, q.smtputf8, q.envid, q.ret, q.origin,
                            q.created_at AS q_created_at, q.expires_at AS q_expires_at
                        FROM queue_recipient r JOIN queue q ON q.id = r.queue_id
                        WHERE r.domain = :domain AND \(Self.dueCondition)
                        ORDER BY r.queue_id, r.recipient LIMIT :max
                        """), arguments: ["domain": domain, "now": now, "max": Swift.max(1, max)])
            var messages: [(message: QueuedMessage, recipients: [QueuedRecipient])] = []
            for row in rows {
                var recipient = Self.queuedRecipient(row)
                guard case .changed(let next, _) = QueueSchedule.lease(recipient.state, id: leaseID, until: until, now: now) else {
                    continue
                }
                try writeState(db, recipient, next, attempt: nil)
                recipient.state = next
                let message = Self.queuedMessage(row)
                if messages.last?.message.id == message.id {
                    messages[messages.count - 1].recipients.append(recipient)
                } else {
                    messages.append((message, [recipient]))
                }
            }
            guard !messages.isEmpty else { return nil }
            if let perDomain, try leasesRunning(db, domain: domain, now: now) >= perDomain { excluded.insert(domain) }
            let more =
                try Bool.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT 1 FROM queue_recipient r WHERE \(Self.dueCondition)
                            AND r.domain NOT IN (SELECT value FROM json_each(:excluded)) LIMIT 1
                            """), arguments: ["now": now, "excluded": try Self.json(excluded)]) ?? false
            return QueueLeaseBatch(leaseID: leaseID, until: until, domain: domain, messages: messages, moreDue: more)
        }
    }

    /// Destination domains with `limit` leases or more running.
    func domainsAtLimit(_ db: Database, now: Int64, limit: Int) throws -> [String] {
        try String.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT domain FROM queue_recipient WHERE status = 'leased' AND lease_until > ?
                    GROUP BY domain HAVING count(DISTINCT lease_id) >= ?
                    """), arguments: [now, limit])
    }

    func leasesRunning(_ db: Database, domain: String, now: Int64) throws -> Int {
        try Int.fetchOne(
            db.cachedStatement(
                sql: "SELECT count(DISTINCT lease_id) FROM queue_recipient WHERE domain = ? AND status = 'leased' AND lease_until > ?"),
            arguments: [domain, now]) ?? 0
    }

    static func json(_ domains: Set<String>) throws -> String {
        domains.isEmpty ? "[]" : String(decoding: try JSONEncoder().encode(domains.sorted()), as: UTF8.self)
    }

    public func nextQueueDue(excludingDomains: Set<String>, perDomain: Int?, now: Int64) throws -> Int64? {
        try read { db in
            var excluded = excludingDomains
            if let perDomain { excluded.formUnion(try domainsAtLimit(db, now: now, limit: perDomain)) }
            return try nextQueueDueIn(db, excluding: excluded)
        }
    }

    public func readQueued(queueID: Int64, lease: String, now: Int64, offset: Int64, length: Int) throws -> (bytes: [UInt8], total: Int64) {
        try read { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT q.blob_id, q.size, q.body_offset FROM queue q WHERE q.id = ? AND EXISTS (
                                SELECT 1 FROM queue_recipient r WHERE r.queue_id = q.id AND r.lease_id = ? AND r.status = 'leased'
                                AND r.lease_until > ?)
                            """), arguments: [queueID, lease, now])
            else {
                throw StorageError(.noSuchLease, "lease \(lease) holds no recipient of queued message \(queueID)")
            }
            let skip: Int64 = row["body_offset"]
            let total = (row["size"] as Int64) - skip
            let start = Swift.max(0, Swift.min(offset, total))
            let take = Int(Swift.min(Int64(Swift.max(0, length)), total - start))
            let bytes = try readBytes(db, blobID: row["blob_id"], prefix: [], offset: skip + start, length: take)
            return (bytes, total)
        }
    }

    public func renewQueueLease(_ lease: String, now: Int64, until: Int64) throws -> (recipients: Int, deadline: Int64) {
        try combinedWrite { db in
            try db.execute(
                sql:
                    "UPDATE queue_recipient SET lease_until = max(lease_until, ?) WHERE lease_id = ? AND status = 'leased' AND lease_until > ?",
                arguments: [until, lease, now])
            let count = db.changesCount
            let deadline =
                try Int64.fetchOne(
                    db, sql: "SELECT min(lease_until) FROM queue_recipient WHERE lease_id = ? AND status = 'leased'", arguments: [lease])
                ?? until
            return (count, deadline)
        }
    }

    public func updateQueue(
        _ selection: QueueSelection, now: Int64,
        step: (QueuedRecipient) -> (QueueSchedule.Step, QueueAttempt?),
        notify: (QueuedMessage, [UInt8], _ wholeMessage: () throws -> [UInt8], [QueueChange]) throws -> [StoreRequest]
    ) throws -> QueueUpdate {
        let files = self.files
        let update = try combinedWrite(
            { db -> (QueueUpdate, [BodyDigest]) in
                var unusedFiles: [BodyDigest] = []
                let select = """
                    SELECT r.*, q.sender, q.size AS q_size, q.body_offset, q.body_type, q.smtputf8, q.envid, q.ret, q.origin,
                        q.created_at AS q_created_at, q.expires_at AS q_expires_at, q.blob_id AS q_blob_id
                    FROM queue_recipient r JOIN queue q ON q.id = r.queue_id
                    """
                let rows: [Row]
                switch selection {
                case .message(let id, let recipients):
                    let all = try Row.fetchAll(
                        db.cachedStatement(sql: select + " WHERE r.queue_id = ? ORDER BY r.recipient"), arguments: [id])
                    if let recipients {
                        let wanted = Set(recipients)
                        rows = all.filter { wanted.contains($0["recipient"]) }
                    } else {
                        rows = all
                    }
                case .waiting:
                    rows = try Row.fetchAll(
                        db, sql: select + " WHERE r.status IN ('pending', 'deferred') ORDER BY r.queue_id, r.recipient")
                }
                var steps: [(queueID: Int64, recipient: String, step: QueueSchedule.Step)] = []
                var changes: [(message: QueuedMessage, blobID: Int64, changes: [QueueChange])] = []
                var touched: [Int64] = []
                for row in rows {
                    let recipient = Self.queuedRecipient(row)
                    let (next, attempt) = step(recipient)
                    steps.append((recipient.queueID, recipient.recipient, next))
                    guard case .changed(let state, let notification) = next else { continue }
                    try writeState(db, recipient, state, attempt: attempt)
                    var changed = recipient
                    changed.state = state
                    if let attempt { changed.lastAttempt = attempt }
                    if touched.last != recipient.queueID { touched.append(recipient.queueID) }
                    guard let notification else { continue }
                    let change = QueueChange(recipient: changed, notification: notification)
                    if changes.last?.message.id == recipient.queueID {
                        changes[changes.count - 1].changes.append(change)
                    } else {
                        changes.append((Self.queuedMessage(row), row["q_blob_id"], [change]))
                    }
                }
                var stored: [StoreResult] = []
                for entry in changes {
                    let header = try originalHeader(db, blobID: entry.blobID)
                    for request in try notify(entry.message, header, { try queuedBody(db, queueID: entry.message.id) }, entry.changes) {
                        stored.append(try storeFollowUp(db, request, now: now))
                    }
                }
                var finished: [Int64] = []
                for id in touched
                where try Bool.fetchOne(
                    db.cachedStatement(
                        sql: "SELECT 1 FROM queue_recipient WHERE queue_id = ? AND status NOT IN ('delivered', 'failed') LIMIT 1"),
                    arguments: [id]) == nil
                {
                    guard
                        let blobID = try Int64.fetchOne(db.cachedStatement(sql: "SELECT blob_id FROM queue WHERE id = ?"), arguments: [id])
                    else { continue }
                    try db.cachedStatement(sql: "DELETE FROM queue WHERE id = ?").execute(arguments: [id])
                    unusedFiles += try release(db, [blobID])
                    finished.append(id)
                }
                return (QueueUpdate(steps: steps, stored: stored, finished: finished), unusedFiles)
            }, afterCommit: { files.remove($0.1) })
        return update.0
    }

    /// The header of a queued body, for a notification: kept apart for SEARCH when the body was
    /// stored (v4), else read from the body and cut at its blank line.
    func originalHeader(_ db: Database, blobID: Int64) throws -> [UInt8] {
        if let data = try Data.fetchOne(
            db, sql: "SELECT substr(data, 1, ?) FROM body_header WHERE blob_id = ?", arguments: [Self.notificationHeaderBytes, blobID])
        {
            return [UInt8](data)
        }
        let bytes = try readBytes(db, blobID: blobID, prefix: [], offset: 0, length: Self.notificationHeaderBytes)
        var i = 0
        while i + 1 < bytes.count {
            if bytes[i] == 0x0A && (bytes[i + 1] == 0x0A || (bytes[i + 1] == 0x0D && i + 2 < bytes.count && bytes[i + 2] == 0x0A)) {
                return Array(bytes[...i])
            }
            i += 1
        }
        return bytes
    }

    /// A queued message as it is sent (from `body_offset`), whole: what a RET=FULL bounce
    /// returns, read only for one.
    func queuedBody(_ db: Database, queueID: Int64) throws -> [UInt8] {
        guard let row = try Row.fetchOne(db, sql: "SELECT blob_id, size, body_offset FROM queue WHERE id = ?", arguments: [queueID])
        else { return [] }
        let skip: Int64 = row["body_offset"]
        let length = Int((row["size"] as Int64) - skip)
        return try readBytes(db, blobID: row["blob_id"], prefix: [], offset: skip, length: length)
    }

    func writeState(_ db: Database, _ recipient: QueuedRecipient, _ state: QueueSchedule.State, attempt: QueueAttempt?) throws {
        try db.cachedStatement(
            sql: """
                UPDATE queue_recipient SET status = ?, attempts = ?, next_attempt_at = ?, lease_id = ?, lease_until = ?, warned = ?
                WHERE queue_id = ? AND recipient = ?
                """
        ).execute(
            arguments: [
                state.status.rawValue, state.attempts, state.nextAttemptAt, state.leaseID, state.leaseUntil, state.warned,
                recipient.queueID, recipient.recipient,
            ])
        if let attempt {
            try db.cachedStatement(
                sql: """
                    UPDATE queue_recipient SET last_attempt_at = ?, last_code = ?, last_enhanced = ?, last_error = ?, remote_mta = ?
                    WHERE queue_id = ? AND recipient = ?
                    """
            ).execute(
                arguments: [
                    attempt.at, attempt.code, attempt.enhancedCode, attempt.text.map { String($0.prefix(Self.maxReplyText)) },
                    attempt.remoteMTA, recipient.queueID, recipient.recipient,
                ])
        }
    }

    /// A remote reply's text is kept to this many characters.
    static let maxReplyText = 1000

    static func queuedMessage(_ row: Row) -> QueuedMessage {
        let skip: Int64 = row["body_offset"]
        return QueuedMessage(
            id: row["queue_id"], sender: row["sender"], size: (row["q_size"] as Int64) - skip, bodyType: row["body_type"],
            smtputf8: row["smtputf8"], envid: row["envid"], ret: row["ret"], origin: row["origin"], createdAt: row["q_created_at"],
            expiresAt: row["q_expires_at"])
    }

    static func queuedRecipient(_ row: Row) -> QueuedRecipient {
        let notify: Set<QueueSchedule.Notify>? = (row["notify"] as String?).map { text in
            text.isEmpty ? [] : Set(text.split(separator: ",").compactMap { QueueSchedule.Notify(rawValue: String($0)) })
        }
        let state = QueueSchedule.State(
            status: QueueSchedule.Status(rawValue: row["status"]) ?? .deferred, attempts: row["attempts"],
            nextAttemptAt: row["next_attempt_at"], leaseID: row["lease_id"], leaseUntil: row["lease_until"],
            queuedAt: row["q_created_at"], expiresAt: row["q_expires_at"], warned: row["warned"], notify: notify)
        var attempt: QueueAttempt?
        if let at = row["last_attempt_at"] as Int64? {
            attempt = QueueAttempt(
                at: at, code: row["last_code"], enhancedCode: row["last_enhanced"], text: row["last_error"], remoteMTA: row["remote_mta"])
        }
        return QueuedRecipient(
            queueID: row["queue_id"], recipient: row["recipient"], domain: row["domain"], orcpt: row["orcpt"], state: state,
            lastAttempt: attempt)
    }

    /// How a recipient's NOTIFY is stored: NULL absent, '' NEVER, else a comma list.
    static func storedNotify(_ notify: Set<QueueSchedule.Notify>?) -> String? {
        notify.map { set in QueueSchedule.Notify.allCases.filter(set.contains).map(\.rawValue).joined(separator: ",") }
    }

    public func queueIDsAgeing(now: Int64, warnAge: Int64, limit: Int) throws -> [Int64] {
        try read { db in
            var ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM queue WHERE expires_at <= ? ORDER BY id LIMIT ?", arguments: [now, limit])
            if warnAge > 0 {
                ids += try Int64.fetchAll(
                    db,
                    sql: """
                        SELECT DISTINCT q.id FROM queue q JOIN queue_recipient r ON r.queue_id = q.id
                        WHERE q.created_at <= ? AND q.expires_at > ? AND r.warned = 0
                        AND r.status IN ('pending', 'leased', 'deferred') ORDER BY q.id LIMIT ?
                        """, arguments: [now - warnAge, now, limit])
            }
            return ids
        }
    }

    public func queuedMessages(limit: Int, after: Int64?) throws -> [(message: QueuedMessage, recipients: [QueuedRecipient])] {
        try read { db in
            let ids = try Int64.fetchAll(
                db, sql: "SELECT id FROM queue WHERE id > ? ORDER BY id LIMIT ?", arguments: [after ?? 0, Swift.max(1, limit)])
            return try ids.compactMap { try queuedMessage(db, id: $0) }
        }
    }

    public func queuedMessage(id: Int64) throws -> (message: QueuedMessage, recipients: [QueuedRecipient])? {
        try read { db in try queuedMessage(db, id: id) }
    }

    func queuedMessage(_ db: Database, id: Int64) throws -> (message: QueuedMessage, recipients: [QueuedRecipient])? {
        let rows = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT r.*, q.id AS queue_id, q.sender, q.size AS q_size, q.body_offset, q.body_type, q.smtputf8, q.envid, q.ret,
                        q.origin, q.created_at AS q_created_at, q.expires_at AS q_expires_at
                    FROM queue q LEFT JOIN queue_recipient r ON r.queue_id = q.id WHERE q.id = ? ORDER BY r.recipient
                    """), arguments: [id])
        guard let first = rows.first else { return nil }
        let recipients = rows.filter { ($0["recipient"] as String?) != nil }.map(Self.queuedRecipient)
        return (Self.queuedMessage(first), recipients)
    }

    public func queueCounts() throws -> QueueCounts {
        try read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT count(*) FROM queue) AS messages, (SELECT min(created_at) FROM queue) AS oldest,
                        count(*) AS recipients, coalesce(sum(status = 'deferred'), 0) AS deferred,
                        coalesce(sum(status = 'leased'), 0) AS leased
                    FROM queue_recipient WHERE status NOT IN ('delivered', 'failed')
                    """)!
            return QueueCounts(
                messages: row["messages"], recipients: row["recipients"], deferred: row["deferred"], leased: row["leased"],
                oldestAt: row["oldest"], nextDueAt: try nextQueueDueIn(db))
        }
    }

    func nextQueueDueIn(_ db: Database, excluding: Set<String> = []) throws -> Int64? {
        try Int64.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT min(t) FROM (
                        SELECT min(next_attempt_at) AS t FROM queue_recipient WHERE status IN ('pending', 'deferred')
                            AND domain NOT IN (SELECT value FROM json_each(:excluded))
                        UNION ALL SELECT min(lease_until) FROM queue_recipient WHERE status = 'leased'
                            AND domain NOT IN (SELECT value FROM json_each(:excluded)))
                    """), arguments: ["excluded": try Self.json(excluding)])
    }
}

/// A queued message in brief: what a listing shows.
public struct QueueEntry: Sendable, Equatable {
    public var id: Int64
    public var sender: String
    public var recipients: [String]
    public var size: Int64
    public var createdAt: Int64
}

extension QueueStore {
    /// The first `limit` queued messages in brief.
    public func queueEntries(limit: Int) throws -> [QueueEntry] {
        try queuedMessages(limit: limit, after: nil).map { entry in
            QueueEntry(
                id: entry.message.id, sender: entry.message.sender, recipients: entry.recipients.map(\.recipient), size: entry.message.size,
                createdAt: entry.message.createdAt)
        }
    }
}
