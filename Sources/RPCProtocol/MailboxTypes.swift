// Params and results of the mailbox methods. Names are UTF-8 with `/` between levels
// (MailCore.MailboxName); every call names its account through `session`.

public struct MailboxParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    public init(session: String, mailbox: String) {
        self.session = session
        self.mailbox = mailbox
    }
}

public struct MailboxStatusParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    /// Count the messages flagged `\Deleted` and their bytes too (RFC 9208 §4.1.4 STATUS DELETED
    /// and DELETED-STORAGE): a scan of the mailbox's rows, so only when asked.
    public var deleted: Bool?
    public init(session: String, mailbox: String, deleted: Bool? = nil) {
        self.session = session
        self.mailbox = mailbox
        self.deleted = deleted
    }
}

public struct MailboxListParams: Codable, Sendable {
    public var session: String
    public var subscribedOnly: Bool?
    /// Each selectable mailbox's counters in `MailboxInfo.status` (IMAP LIST-STATUS, RFC 5819),
    /// read with the list in one transaction.
    public var status: Bool?
    /// With `status`: the `\Deleted` counts too, as `mailbox.status` with `deleted`.
    public var deleted: Bool?
    public init(session: String, subscribedOnly: Bool? = nil, status: Bool? = nil, deleted: Bool? = nil) {
        self.session = session
        self.subscribedOnly = subscribedOnly
        self.status = status
        self.deleted = deleted
    }
}

public struct MailboxCreateParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    /// RFC 6154 special uses, one or more separated by a space, e.g. `\Sent` or `\Drafts \Sent`.
    public var specialUse: String?
    public init(session: String, mailbox: String, specialUse: String? = nil) {
        self.session = session
        self.mailbox = mailbox
        self.specialUse = specialUse
    }
}

public struct MailboxRenameParams: Codable, Sendable {
    public var session: String
    public var from: String
    public var to: String
    public init(session: String, from: String, to: String) {
        self.session = session
        self.from = from
        self.to = to
    }
}

public struct MailboxSubscribeParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    public var subscribed: Bool
    public init(session: String, mailbox: String, subscribed: Bool) {
        self.session = session
        self.mailbox = mailbox
        self.subscribed = subscribed
    }
}

public struct MailboxInfo: Codable, Sendable, Equatable {
    public var name: String
    public var uidValidity: UInt32
    public var subscribed: Bool
    /// RFC 6154 special uses, separated by a space (`\Sent`, `\Drafts \Sent`).
    public var specialUse: String?
    /// RFC 3501 §6.3.4: the mailbox was deleted while it had children, so only its name is
    /// left (IMAP `\Noselect`): it holds no messages and cannot be selected.
    public var noselect: Bool?
    /// `mailbox.status`'s answer, when `mailbox.list` was asked for it and the mailbox is selectable.
    public var status: MailboxStatus?
    public init(
        name: String, uidValidity: UInt32, subscribed: Bool, specialUse: String?, noselect: Bool? = nil, status: MailboxStatus? = nil
    ) {
        self.noselect = noselect
        self.status = status
        self.name = name
        self.uidValidity = uidValidity
        self.subscribed = subscribed
        self.specialUse = specialUse
    }
}

public struct MailboxListResult: Codable, Sendable {
    public var mailboxes: [MailboxInfo]
    public init(mailboxes: [MailboxInfo]) { self.mailboxes = mailboxes }
}

/// RFC 3501 §6.3.10 STATUS, plus the size (RFC 8438) and HIGHESTMODSEQ (RFC 7162).
public struct MailboxStatus: Codable, Sendable, Equatable {
    public var mailbox: String
    public var messages: Int
    public var unseen: Int
    public var uidNext: UInt32
    public var uidValidity: UInt32
    public var sizeBytes: Int64
    public var highestModseq: Int64
    /// RFC 3501 RECENT: messages no session has yet selected the mailbox since they arrived.
    public var recent: Int?
    /// With `deleted` asked for: the messages flagged `\Deleted`, and the sum of their sizes.
    public var deleted: Int?
    public var deletedBytes: Int64?
    public init(
        mailbox: String, messages: Int, unseen: Int, uidNext: UInt32, uidValidity: UInt32, sizeBytes: Int64, highestModseq: Int64,
        recent: Int? = nil
    ) {
        self.recent = recent
        self.mailbox = mailbox
        self.messages = messages
        self.unseen = unseen
        self.uidNext = uidNext
        self.uidValidity = uidValidity
        self.sizeBytes = sizeBytes
        self.highestModseq = highestModseq
    }
}
