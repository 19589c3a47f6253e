import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failure the caller can act on. The back-end maps each kind to its RPC error in one place.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case noSuchDomain, domainExists, domainNotEmpty
        case noSuchAccount, accountExists, addressInUse
        case noSuchAlias, noSuchGroup
        case noSuchMailbox, mailboxExists, mailboxNotEmpty, permissionDenied
        /// INBOX cannot be deleted (RFC 3501 §6.3.4).
        case mailboxIsInbox
        /// A rename to the mailbox itself or below it.
        case invalidRename
        /// The mailbox is `\Noselect`: it cannot be selected and takes no messages.
        case notSelectable
        /// The account would have more than `SQLiteStore.maxMailboxesPerAccount` mailboxes.
        case tooManyMailboxes
        case noSuchMessage
        /// A relay's lease that holds nothing (it ended, or never was); a queue entry not there.
        case noSuchLease, noSuchQueueEntry
        case quotaExceeded, tooBig, limitExceeded
        /// The data directory's file system is full (ENOSPC, SQLITE_FULL) or over its disk quota
        /// (EDQUOT). Nothing of the operation is visible; retrying once space is freed works.
        case storageFull
        /// Another failure of the file system or the database (EIO, a failed fsync): temporary
        /// for the caller, logged in full by the back-end.
        case ioFailure
        /// The store disagrees with itself (a row naming a missing body).
        case corrupt
        /// A backup's target that is not absolute or not empty, a restore's source that is not a
        /// finished backup, or a restore's target that already holds a store.
        case unusableDirectory
    }
    public let kind: Kind
    public let message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }

    /// A failed system call, from `errno`: full disk and quota are `storageFull`, the rest
    /// `ioFailure`.
    static func fromPOSIX(_ what: String, errno code: Int32 = errno) -> StorageError {
        let text = String(cString: strerror(code))
        if code == ENOSPC || code == EDQUOT { return StorageError(.storageFull, "\(what): \(text)") }
        return StorageError(.ioFailure, "\(what): \(text)")
    }

    static func fromPOSIX(_ what: String, errno code: Int) -> StorageError {
        fromPOSIX(what, errno: Int32(truncatingIfNeeded: code))
    }
}
