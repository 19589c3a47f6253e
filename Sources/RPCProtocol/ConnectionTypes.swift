// Params and results of the connection, session, event, quota and lock methods.

public struct HelloParams: Codable, Sendable {
    /// The protocol version the caller speaks.
    public var version: Int
    /// What the caller is, for logs: `smtp`, `imap`, `cli`, …
    public var software: String?
    public init(version: Int = RPCVersion.current, software: String? = nil) {
        self.version = version
        self.software = software
    }
}

public struct HelloResult: Codable, Sendable {
    public var version: Int
    public var server: String
    public var role: RPCRole
    public var maxLineBytes: Int
    public var maxChunkBytes: Int
    public var capabilities: [String]
    public init(version: Int, server: String, role: RPCRole, maxLineBytes: Int, maxChunkBytes: Int, capabilities: [String]) {
        self.version = version
        self.server = server
        self.role = role
        self.maxLineBytes = maxLineBytes
        self.maxChunkBytes = maxChunkBytes
        self.capabilities = capabilities
    }
}

public struct SessionParams: Codable, Sendable {
    public var session: String
    public init(session: String) { self.session = session }
}

/// A login's result: the session token a gateway passes with every later call for that user.
/// Tokens are signed by the back-end and survive a restart of any process; they expire.
public struct SessionResult: Codable, Sendable {
    public var session: String
    public var account: String
    public var expiresAt: Int64
    public var apopEnabled: Bool
    public var mayManageMailboxes: Bool
    public var maxMessageBytes: Int64
    public init(session: String, account: String, expiresAt: Int64, apopEnabled: Bool, mayManageMailboxes: Bool, maxMessageBytes: Int64) {
        self.session = session
        self.account = account
        self.expiresAt = expiresAt
        self.apopEnabled = apopEnabled
        self.mayManageMailboxes = mayManageMailboxes
        self.maxMessageBytes = maxMessageBytes
    }
}

public struct EventsSubscribeParams: Codable, Sendable {
    public var session: String
    /// Only events of this mailbox (its `mailbox`, or `oldMailbox` for a rename); every event
    /// of the account when absent.
    public var mailbox: String?
    public init(session: String, mailbox: String? = nil) {
        self.session = session
        self.mailbox = mailbox
    }
}

public struct SubscriptionResult: Codable, Sendable {
    public var subscription: Int64
    public init(subscription: Int64) { self.subscription = subscription }
}

public struct UnsubscribeParams: Codable, Sendable {
    public var subscription: Int64
    public init(subscription: Int64) { self.subscription = subscription }
}

/// A change to an account's mail, pushed as the `event` notification to every subscriber of
/// that account.
public struct MailEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case messageAdded = "message.added"
        case flagsChanged = "message.flags"
        case messageExpunged = "message.expunged"
        case mailboxCreated = "mailbox.created"
        case mailboxDeleted = "mailbox.deleted"
        case mailboxRenamed = "mailbox.renamed"
        /// Events for this subscription may have been lost (its connection was not reading):
        /// re-read the state. `mailbox` is empty.
        case resync
    }
    public var subscription: Int64
    public var account: String
    public var kind: Kind
    public var mailbox: String
    /// For renames: the old name.
    public var oldMailbox: String?
    /// At most `RPCLimits.maxEventUIDs`: a larger change comes as several events.
    public var uids: [UInt32]?
    public var modseq: Int64?
    public init(
        subscription: Int64, account: String, kind: Kind, mailbox: String, oldMailbox: String? = nil, uids: [UInt32]? = nil,
        modseq: Int64? = nil
    ) {
        self.subscription = subscription
        self.account = account
        self.kind = kind
        self.mailbox = mailbox
        self.oldMailbox = oldMailbox
        self.uids = uids
        self.modseq = modseq
    }
}

public struct QuotaInfo: Codable, Sendable, Equatable {
    public var account: String
    public var usedBytes: Int64
    /// 0 means no limit.
    public var limitBytes: Int64
    public var messages: Int64
    public init(account: String, usedBytes: Int64, limitBytes: Int64, messages: Int64) {
        self.account = account
        self.usedBytes = usedBytes
        self.limitBytes = limitBytes
        self.messages = messages
    }
}

public struct LockAcquireParams: Codable, Sendable {
    public var session: String
    /// What is locked within the account, e.g. `pop3` for the RFC 1939 §8 maildrop lock.
    public var name: String
    /// How long the lock lives unless renewed; capped by the server (see `LockInfo.leaseMs`).
    public var leaseMs: Int?
    public init(session: String, name: String, leaseMs: Int? = nil) {
        self.session = session
        self.name = name
        self.leaseMs = leaseMs
    }
}

public struct LockParams: Codable, Sendable {
    public var lock: String
    public init(lock: String) { self.lock = lock }
}

public struct LockInfo: Codable, Sendable {
    public var lock: String
    public var leaseMs: Int
    public init(lock: String, leaseMs: Int) {
        self.lock = lock
        self.leaseMs = leaseMs
    }
}
