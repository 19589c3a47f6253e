import Foundation
import GRDB
public import MailCore

/// UIDs of a mailbox as ascending ranges of consecutive numbers, a page of at most
/// `UIDSet.maxRanges` of them: the compact form IMAP's sequence-number map is built from.
public struct UIDPage: Sendable, Equatable {
    public var ranges: [ClosedRange<UInt32>]
    /// Set when more UIDs follow the page: the last UID in it, to continue after.
    public var nextAfterUID: UInt32?

    public init(ranges: [ClosedRange<UInt32>], nextAfterUID: UInt32?) {
        self.ranges = ranges
        self.nextAfterUID = nextAfterUID
    }

    /// The page as a UID set; nil when it is empty.
    public var set: UIDSet? { ranges.isEmpty ? nil : UIDSet(closedRanges: ranges) }

    /// The UIDs, one by one (for tests and small pages).
    public var uids: [UInt32] { ranges.flatMap { Array($0) } }
}

/// Builds a `UIDPage` from ascending UIDs, at most `maxRanges` ranges: `add` answers false once
/// the page is full and `uid` starts a range it has no room for.
struct UIDPageBuilder {
    let maxRanges: Int
    private(set) var ranges: [ClosedRange<UInt32>] = []
    private(set) var full = false

    init(maxRanges: Int) { self.maxRanges = max(1, maxRanges) }

    mutating func add(_ uid: UInt32) -> Bool {
        if let last = ranges.last, last.upperBound &+ 1 == uid, last.upperBound != .max {
            ranges[ranges.count - 1] = last.lowerBound...uid
            return true
        }
        guard ranges.count < maxRanges else {
            full = true
            return false
        }
        ranges.append(uid...uid)
        return true
    }

    var page: UIDPage { UIDPage(ranges: ranges, nextAfterUID: full ? ranges.last?.upperBound : nil) }
}

/// What SELECT and EXAMINE answer (RFC 3501 §6.3.1–2), read in one transaction.
public struct MailboxSelection: Sendable, Equatable {
    public var mailbox: MailboxRecord
    /// The counters before the claim: `recent` is how many messages the claim took.
    public var counts: MailboxCounts
    /// Keywords set on at least one message, sorted.
    public var keywords: [String]
    public var firstUnseenUID: UInt32?
    /// The recent messages (RFC 3501 §2.3.2): those this selection claimed, or for a selection
    /// that claims nothing, those recent now. More than `UIDSet.maxRanges` ranges of them
    /// (only after many expunges among new mail) are given as the one range covering them all,
    /// which then names some UIDs that no longer exist.
    public var recent: [ClosedRange<UInt32>]
    /// The first page of the mailbox's UIDs.
    public var uids: UIDPage
}

extension SQLiteStore {
    /// The mailbox's UIDs above `afterUID` as ranges, at most `maxRanges` of them: one scan of
    /// the (mailbox_id, uid) index, each UID an integer from GRDB's fast cursor (no row
    /// object), folded into runs as it comes. (A window function marking where runs start and
    /// end returns fewer rows but costs SQLite several times more: 0.5 s for 100,000 rows.)
    func uidRanges(_ db: Database, mailboxID: Int64, afterUID: UInt32, maxRanges: Int) throws -> UIDPage {
        let uids = try Int64.fetchCursor(
            try db.cachedStatement(sql: "SELECT uid FROM message WHERE mailbox_id = ? AND uid > ? ORDER BY uid"),
            arguments: [mailboxID, Int64(afterUID)])
        var page = UIDPageBuilder(maxRanges: maxRanges)
        while let uid = try uids.next() {
            if !page.add(UInt32(truncatingIfNeeded: uid)) { break }
        }
        return page.page
    }

    /// RFC 7162 §3.2.5 and §3.2.6: the UIDs expunged from the mailbox at a modseq above
    /// `sinceModseq`, within `within` when given, a page of ranges above `afterUID`. The
    /// `expunged` table keeps every expunge the mailbox has had since its UIDVALIDITY began.
    public func vanishedPage(
        accountID: Int64, mailbox: MailboxName, sinceModseq: Int64, within: UIDSet?, afterUID: UInt32?, maxRanges: Int
    ) throws -> (mailbox: MailboxRecord, uids: UIDPage) {
        try read { db in
            let box = try fetchSelectableMailbox(db, accountID: accountID, name: mailbox.value)
            let uids = try Int64.fetchCursor(
                try db.cachedStatement(sql: "SELECT uid FROM expunged WHERE mailbox_id = ? AND uid > ? AND modseq > ? ORDER BY uid"),
                arguments: [box.id, Int64(afterUID ?? 0), sinceModseq])
            var page = UIDPageBuilder(maxRanges: maxRanges)
            let largest = box.uidNext &- 1
            while let uid = try uids.next().map({ UInt32(truncatingIfNeeded: $0) }) {
                if let within, !within.contains(uid, largest: largest) { continue }
                if !page.add(uid) { break }
            }
            return (box, page.page)
        }
    }

    /// A page of a mailbox's UIDs with the mailbox as it was when the page was read.
    public func uidPage(
        accountID: Int64, mailbox: MailboxName, afterUID: UInt32?, maxRanges: Int
    ) throws -> (mailbox: MailboxRecord, uids: UIDPage) {
        try read { db in
            let box = try fetchSelectableMailbox(db, accountID: accountID, name: mailbox.value)
            return (box, try uidRanges(db, mailboxID: box.id, afterUID: afterUID ?? 0, maxRanges: maxRanges))
        }
    }

    public func select(
        accountID: Int64, name: MailboxName, claimRecent: Bool, maxRanges: Int
    ) throws -> MailboxSelection {
        func selection(_ db: Database, claimRecent: Bool) throws -> MailboxSelection {
            let box = try fetchSelectableMailbox(db, accountID: accountID, name: name.value)
            let counts = try mailboxCounts(db, mailboxID: box.id)
            var keywords = Set<String>()
            for text in try String.fetchAll(
                try db.cachedStatement(sql: "SELECT DISTINCT keywords FROM message WHERE mailbox_id = ? AND keywords IS NOT NULL"),
                arguments: [box.id])
            {
                for word in text.split(separator: " ") { keywords.insert(String(word)) }
            }
            let firstUnseen = try UInt32.fetchOne(
                try db.cachedStatement(sql: "SELECT min(uid) FROM message WHERE mailbox_id = ? AND (flags & 1) = 0"),
                arguments: [box.id])
            let firstRecent =
                try UInt32.fetchOne(
                    try db.cachedStatement(sql: "SELECT first_recent_uid FROM mailbox WHERE id = ?"), arguments: [box.id]) ?? box.uidNext
            var recent: [ClosedRange<UInt32>] = []
            if counts.recent > 0 {
                let page = try uidRanges(db, mailboxID: box.id, afterUID: firstRecent &- 1, maxRanges: maxRanges)
                if page.nextAfterUID == nil {
                    recent = page.ranges
                } else if let first = page.ranges.first {
                    recent = [first.lowerBound...(box.uidNext &- 1)]
                }
            }
            if claimRecent {
                try db.cachedStatement(sql: "UPDATE mailbox SET first_recent_uid = uid_next, recent_count = 0 WHERE id = ?").execute(
                    arguments: [box.id])
            }
            return MailboxSelection(
                mailbox: box, counts: counts, keywords: keywords.sorted(), firstUnseenUID: firstUnseen, recent: recent,
                uids: try uidRanges(db, mailboxID: box.id, afterUID: 0, maxRanges: maxRanges))
        }
        // A claim writes, so the whole selection is read in the writer's transaction: no
        // delivery can come between the counters, the claim and the UIDs. Only when there is
        // something to claim, though: a commit costs a WAL fsync and waits for the writer, and
        // most SELECTs find nothing new (a message that arrives after this read is reported to
        // the session later, as one that arrives after the claim would be).
        let seen = try read { try selection($0, claimRecent: false) }
        guard claimRecent, seen.counts.recent > 0 else { return seen }
        return try write { try selection($0, claimRecent: true) }
    }
}
