import Foundation
public import MailCore

/// Storage: everything that touches SQL or the data directory's files. The back-end sees it
/// only through the protocols below (DESIGN §3, §6), so a second implementation — metadata in
/// PostgreSQL, bodies in an object store — can replace the embedded one, `SQLiteStore`
/// (SQLite through GRDB, which stays internal to it, and body files). `Tests/StorageTests` is
/// the contract every implementation must pass.
///
/// The API is synchronous: callers run it off their event loops. Errors are `StorageError`.
///
/// **One writer.** Implementations may assume they are the only writer of their data: the
/// back-end is one process and the only one that opens the store (DESIGN §1). Several methods
/// read and then write inside one transaction — the next UID and modseq of a mailbox, an
/// account's quota usage, a body's reference count — and rely on no other process changing
/// those between the read and the write; an implementation shared by several back-ends would
/// have to lock or compare-and-set them.
public protocol MailStorage: DirectoryStore, MailboxStore, MessageStore, QueueStore {
    /// A new body, for one upload to write in order.
    func newBody() throws -> any BodyWriter
    /// The body store's inline limit: a body of at most this many bytes is stored with its
    /// rows (in the same transaction), a larger one as a file.
    var inlineBodyLimit: Int { get }
    /// Bytes free for the store's data now (nil when the store cannot tell).
    func availableBytes() -> Int64?
    /// Messages and bodies stored.
    func counts() throws -> (messages: Int64, bodies: Int64)
    /// What `loft status` says of the store, in one read.
    func summary() throws -> StoreSummary
    /// Problems found, empty when the store is consistent. `deep` also checks the database
    /// page by page and re-hashes every body.
    func verify(deep: Bool) throws -> [String]
    /// A consistent copy of the metadata under the data directory's `backups/`; its path.
    func backup(reason: String) throws -> String
    /// A consistent copy of the whole store (metadata, bodies, and `extraFiles` of the data
    /// directory) in the empty directory `target`, taken while the store stays in use
    /// (`SQLiteStore.snapshot`); `SQLiteStore.restore` brings it back.
    func snapshot(to target: String, extraFiles: [String]) throws -> SnapshotManifest
    func close() throws
}

/// The store's size: rows counted, bytes as the accounts are charged (`messageBytes`, one
/// body counted once per copy) and as stored (`bodyBytes`, each body once), and the metadata's
/// own files.
public struct StoreSummary: Sendable, Equatable {
    public var domains: Int64
    public var accounts: Int64
    public var messages: Int64
    public var messageBytes: Int64
    public var bodies: Int64
    public var bodyBytes: Int64
    /// Bodies above the inline limit, kept as files.
    public var fileBodies: Int64
    public var fileBodyBytes: Int64
    /// The metadata database on disk (with its write-ahead log).
    public var databaseBytes: Int64
    public init(
        domains: Int64, accounts: Int64, messages: Int64, messageBytes: Int64, bodies: Int64, bodyBytes: Int64, fileBodies: Int64,
        fileBodyBytes: Int64, databaseBytes: Int64
    ) {
        self.domains = domains
        self.accounts = accounts
        self.messages = messages
        self.messageBytes = messageBytes
        self.bodies = bodies
        self.bodyBytes = bodyBytes
        self.fileBodies = fileBodies
        self.fileBodyBytes = fileBodyBytes
        self.databaseBytes = databaseBytes
    }
}

/// Domains, accounts, aliases, groups and server settings.
public protocol DirectoryStore: Sendable {
    func addDomain(_ name: String) throws -> DomainRecord
    func domains() throws -> [DomainRecord]
    func isLocalDomain(_ name: String) throws -> Bool
    func removeDomain(_ name: String) throws
    func addAccount(_ new: NewAccount) throws -> AccountRecord
    func account(address: String) throws -> AccountRecord?
    func account(id: Int64) throws -> AccountRecord?
    func anyChallengeResponseAccount() throws -> Bool
    func accounts(domain: String?) throws -> [AccountRecord]
    func updateAccount(address: String, _ change: AccountChange) throws -> AccountRecord
    /// Removes the account with its mailboxes and messages; bodies no longer used go too.
    func removeAccount(address: String) throws
    func lookup(_ address: String) throws -> LocalAddress
    func addAlias(address: String, domain: String, targets: [String]) throws -> [String]
    func removeAlias(address: String, target: String?) throws
    func aliases(domain: String?) throws -> [(address: String, targets: [String])]
    func addGroup(address: String, domain: String, name: String?, members: [String]) throws -> GroupRecord
    func changeGroupMembers(address: String, add: [String], remove: [String]) throws -> GroupRecord
    func removeGroup(address: String) throws
    func groups(domain: String?) throws -> [GroupRecord]
    func group(address: String) throws -> GroupRecord?
    func setting(_ key: String) throws -> String?
    func setSetting(_ key: String, _ value: String) throws
    /// The directory's public fields (Protocol/README §16): a page after `after`, in address
    /// order; one entry; the domains in the order they were added.
    func directoryPage(after: String?, limit: Int) throws -> DirectoryPage
    func directoryEntry(address: String) throws -> DirectoryRow?
    func domainsInOrderAdded() throws -> [String]
}

/// The mailboxes of an account and its subscriptions. INBOX exists from the account's creation
/// and cannot be deleted.
public protocol MailboxStore: Sendable {
    func mailboxes(accountID: Int64) throws -> [MailboxRecord]
    func mailbox(accountID: Int64, name: MailboxName) throws -> MailboxRecord
    /// RFC 3501 §6.3.3: creates missing superior levels too. Creating the name of a `\Noselect`
    /// mailbox makes it a mailbox again, empty, with a new UIDVALIDITY. More than 10000
    /// mailboxes: `tooManyMailboxes`.
    func createMailbox(accountID: Int64, name: MailboxName, specialUse: String?) throws -> MailboxRecord
    /// RFC 3501 §6.3.5: renames the mailbox and those below it, which keep their UIDVALIDITY
    /// and UIDs, and moves the subscriptions of the tree; renaming INBOX moves its messages to a
    /// new mailbox (new UIDVALIDITY, new UIDs) and leaves INBOX empty. To itself or below
    /// itself: `invalidRename`.
    func renameMailbox(accountID: Int64, from: MailboxName, to: MailboxName) throws
    /// RFC 3501 §6.3.4: a mailbox without children goes with its messages; one with children
    /// loses its messages and stays as `\Noselect`; a `\Noselect` one with children is
    /// `mailboxNotEmpty`, INBOX `mailboxIsInbox`. Subscriptions stay.
    func deleteMailbox(accountID: Int64, name: MailboxName) throws
    /// Adds the name to the subscription list or takes it off; it need not be a mailbox.
    func subscribe(accountID: Int64, name: MailboxName, subscribed: Bool) throws
    /// Every subscribed name, sorted.
    func subscriptions(accountID: Int64) throws -> [String]
    /// Kept with every change, so this is one row read however large the mailbox.
    func counts(mailboxID: Int64) throws -> MailboxCounts
    /// RFC 9208 §4.1.4: per mailbox of the account (or only `mailboxID`), the messages flagged
    /// `\Deleted` and the sum of their sizes; mailboxes without any are left out.
    func deletedCounts(accountID: Int64, mailboxID: Int64?) throws -> [Int64: DeletedCounts]
    /// RFC 3501 §2.3.2: makes the mailbox's recent messages this session's and answers the
    /// first UID that is recent to it (UIDs from there up to UIDNEXT−1); later claims see none
    /// of them.
    func claimRecent(mailboxID: Int64) throws -> UInt32
    /// RFC 3501 §6.3.1–2 in one transaction: the mailbox, its counters, the keywords in use, the
    /// first unseen UID, the recent messages — claimed for this session when `claimRecent`
    /// (SELECT; EXAMINE claims nothing) — and the first page of its UIDs.
    func select(accountID: Int64, name: MailboxName, claimRecent: Bool, maxRanges: Int) throws -> MailboxSelection
}

extension MailboxStore {
    public func select(accountID: Int64, name: MailboxName, claimRecent: Bool) throws -> MailboxSelection {
        try select(accountID: accountID, name: name, claimRecent: claimRecent, maxRanges: UIDSet.maxRanges)
    }
}

extension MessageStore {
    public func messages(
        mailboxID: Int64, uids: UIDSet?, changedSince: Int64?, afterUID: UInt32?, limit: Int, withStructure: Bool
    ) throws -> [MessageRecord] {
        try messages(
            mailboxID: mailboxID, uids: uids, changedSince: changedSince, afterUID: afterUID, limit: limit,
            columns: withStructure ? .structure : [], budget: .max
        ).messages
    }

    public func uidPage(accountID: Int64, mailbox: MailboxName, afterUID: UInt32?) throws -> (mailbox: MailboxRecord, uids: UIDPage) {
        try uidPage(accountID: accountID, mailbox: mailbox, afterUID: afterUID, maxRanges: UIDSet.maxRanges)
    }
}

/// Messages, their bodies, and the outbound queue's rows.
public protocol MessageStore: Sendable {
    /// Stores a batch in one transaction (the group commit): each request's body once (or a
    /// reference to the identical body already stored), its mailbox rows and queue rows, with
    /// one durable commit for the batch. A placement that would exceed its account's quota
    /// fails alone. A request's body is taken over whatever happens to it.
    ///
    /// **Follow-ups.** Right after storing a request, in the same transaction, the store calls
    /// its `followUp` (if any) with the result and stores the request it returns, handing back
    /// what that stored as `StoreResult.followUp`: both commit or neither does, so a bounce is
    /// never lost nor made twice. It is not called for a request that stored nothing because
    /// its key had committed before. A follow-up's body must be in memory
    /// (`PreparedBody.inMemory`), never a staged file — files are installed before the
    /// transaction begins — and a follow-up has no follow-up of its own; the store refuses
    /// either (`corrupt`, the batch fails). A follow-up that throws fails the batch.
    func store(_ requests: [StoreRequest], now: Int64?) throws -> [StoreResult]
    /// The outcome recorded under an idempotency key, if a store with it committed.
    func recordedOutcome(key: String) throws -> String?
    /// At most `limit` messages in UID order, stopping before the text of their `columns`
    /// (structure and envelope JSON) passes `budget` bytes; at least one when any matches.
    /// `more`: the page stopped at the limit or the budget, so more may follow.
    func messages(
        mailboxID: Int64, uids: UIDSet?, changedSince: Int64?, afterUID: UInt32?, limit: Int, columns: MessageColumns, budget: Int
    ) throws -> (messages: [MessageRecord], more: Bool)
    /// RFC 5256 SORT and THREAD: every message of the mailbox with its sort keys, or (for a
    /// body without kept keys) its header, for the caller to make them and `saveSortKeys`.
    /// Only the kept keys of `columns` (and the sent date) are read; the others are empty.
    func sortRows(accountID: Int64, mailbox: MailboxName, columns: SortColumns) throws -> (mailbox: MailboxRecord, rows: [SortRow])
    func saveSortKeys(_ keys: [(blobID: Int64, keys: SortKeys)]) throws
    /// RFC 7162 QRESYNC: the UIDs expunged at a modseq above `sinceModseq` (within `within`),
    /// a page of at most `maxRanges` ranges above `afterUID`.
    func vanishedPage(
        accountID: Int64, mailbox: MailboxName, sinceModseq: Int64, within: UIDSet?, afterUID: UInt32?, maxRanges: Int
    ) throws -> (mailbox: MailboxRecord, uids: UIDPage)
    /// The next page of the mailbox's UIDs above `afterUID`, at most `maxRanges` ranges, and the
    /// mailbox as it was when the page was read (its UIDNEXT and HIGHESTMODSEQ).
    func uidPage(
        accountID: Int64, mailbox: MailboxName, afterUID: UInt32?, maxRanges: Int
    ) throws -> (mailbox: MailboxRecord, uids: UIDPage)
    /// IMAP SEARCH: the UIDs above `afterUID` of the messages `filter` matches, a page of at
    /// most `maxRanges` ranges, with the mailbox as it was (its HIGHESTMODSEQ). What SQL can
    /// decide is decided there first; `content` decides each `content` leaf for a message the
    /// rest left undecided, cheapest leaf first, at most once per leaf and message.
    func search(
        accountID: Int64, mailbox: MailboxName, filter: MessageFilter, afterUID: UInt32?, maxRanges: Int,
        content: (ContentLeaf, any SearchCandidate) throws -> Bool
    ) throws -> (mailbox: MailboxRecord, uids: UIDPage)
    func message(accountID: Int64, mailbox: MailboxName, uid: UInt32, withStructure: Bool) throws -> MessageRecord
    /// `length` bytes (fewer at the end) at `offset` of the message as clients see it: its
    /// prefix, then its body.
    func read(_ message: MessageRecord, offset: Int64, length: Int) throws -> [UInt8]
    /// The SHA-256 of the message's body (its prefix not included): what names the bytes for
    /// as long as they exist, where row ids may be used again once a body is gone.
    func bodyDigest(_ message: MessageRecord) throws -> BodyDigest
    /// Several messages of one mailbox read in one snapshot: for each UID in order, its first
    /// `length` bytes, while the bytes handed out stay within `budget`; see `BatchRead`.
    func readBatch(accountID: Int64, mailbox: MailboxName, uids: [UInt32], length: Int, budget: Int) throws -> [BatchRead]
    /// Each changed message gets the mailbox's next modseq (one per call, RFC 7162 §3.1.1);
    /// messages changed after `unchangedSince` are skipped; `unchanged` are those the change
    /// left as they were (RFC 7162 §3.1.3 reports their MODSEQ too).
    func changeFlags(
        mailboxID: Int64, uids: UIDSet, operation: FlagOperation, flags: MessageFlags, unchangedSince: Int64?
    ) throws -> (updated: [MessageRecord], skipped: [UInt32], modseq: Int64, unchanged: [MessageRecord])
    /// Copies (or moves) messages to another mailbox of the same account in UID order; source
    /// and new UIDs pairwise (RFC 4315 COPYUID). A copy counts against the quota; a move
    /// records the source UIDs as expunged.
    func copy(
        accountID: Int64, from source: Int64, uids: UIDSet, to targetName: String, move: Bool
    ) throws -> (target: MailboxRecord, source: [UInt32], created: [UInt32], expungeModseq: Int64?)
    /// Removes the messages flagged `\Deleted` (RFC 3501 §6.4.3), or all those named when
    /// `regardlessOfFlags` (POP3's UPDATE state). All or none.
    func expunge(accountID: Int64, mailboxID: Int64, uids: UIDSet?, regardlessOfFlags: Bool) throws -> (uids: [UInt32], modseq: Int64)
}

public enum FlagOperation: Sendable { case set, add, remove }

/// One UID of `MessageStore.readBatch`.
public enum BatchRead: Sendable, Equatable {
    /// The message's first bytes and its whole size.
    case read(uid: UInt32, bytes: [UInt8], total: Int64)
    /// No such message (expunged, or never there).
    case missing(uid: UInt32)
    /// There, but its bytes would pass the budget: ask again.
    case later(uid: UInt32)
}
