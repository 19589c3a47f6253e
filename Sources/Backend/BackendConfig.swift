/// Backend: the one process with state (DESIGN §1). RPC handlers for authentication, accounts,
/// delivery routing, mailboxes, messages, the queue, quotas, locks and change events. Imports
/// Storage, RPCProtocol, RPCTransport, MailMessage and MailCore — never a gateway's codec.

public import MailCore

/// The back-end's settings. Every value has a production default; tests lower the costly ones.
public struct BackendConfig: Sendable {
    public var dataDirectory: String
    /// Where the RPC sockets go (`socket_dir`): the data directory unless set, so that in
    /// production they can live in a runtime directory the gateways reach without any access
    /// to the data.
    public var socketDirectory: String
    /// Refresh the store and queue gauges (`BackendMetrics`) every 15 s: only when metrics are
    /// served, since each refresh reads the store's totals.
    public var refreshesGauges = false
    /// The server's name in the bounces it makes (Reporting-MTA, MAILER-DAEMON@…, Message-ID).
    public var hostname: String
    /// scrypt cost as log2(N) (RFC 7914). 15 (N = 32768, r = 8) costs ≈ 125 ms per login in
    /// release: slow for a guesser, fine for a person.
    public var passwordHashLog2Cost: Int
    /// The shortest password `account.add` and `account.update` accept, in characters
    /// (Unicode scalars, as a person counts them); a password equal to the account's local
    /// part or address is refused too.
    public var minPasswordLength: Int
    /// PBKDF2 rounds for the SCRAM-SHA-256 verifier (RFC 7677 recommends at least 4096).
    public var scramIterations: Int
    public var sessionLifetimeSeconds: Int64
    /// Default largest message in bytes, until `settings.set` changes it.
    public var defaultMaxMessageBytes: Int64
    public var maxRecipientsPerMessage: Int
    public var throttle: LoginThrottle.Policy
    /// POP3 maildrop locks: the longest lease a gateway may ask for.
    public var maxLockLeaseMs: Int
    /// Threads for blocking work (SQLite, file I/O).
    public var workerThreads: Int
    /// Threads for password checks (scrypt), apart from `workerThreads` so that a burst of logins
    /// cannot hold up deliveries and reads.
    public var passwordThreads: Int
    /// Password checks waiting for a thread, at most; beyond it a login is answered `overloaded`
    /// (temporary) at once instead of queueing without bound.
    public var passwordQueueLimit: Int
    /// Successful password checks remembered (`AuthCache`): how long, and how many.
    public var authCacheLifetimeMs: Int64
    public var authCacheEntries: Int
    /// Message bodies of at most this many bytes are stored in the database with their rows
    /// (one fsync per commit batch for all of them); larger ones as files (Tests/bench/STORAGE.md).
    public var inlineBodyLimit: Int
    /// SQLite's page size for a new data directory.
    public var storePageSize: Int
    /// Free space the data directory's file system keeps: below it deliveries and appends are
    /// refused with `storage_full` (temporary), while reads and deletions go on.
    public var minFreeBytes: Int64
    /// RFC 6154: the mailboxes every new account gets besides INBOX (and, by schema v6, every
    /// account that lacked them).
    public var defaultMailboxes: [(name: String, specialUse: String)]
    /// Forwarded mail leaves with an SRS sender (`SRS`), and bounces to such addresses are
    /// routed back to the original sender.
    public var srs: Bool
    /// The outbound queue's retry schedule, lifetime and delay warning (`backend.queue.*`).
    public var queuePolicy: QueueSchedule.Policy
    /// A relay's lease when it asks for none, and the longest it may ask for.
    public var queueLeaseMs: Int64
    public var maxQueueLeaseMs: Int64
    /// How often the back-end looks for queued recipients past their lifetime or due a delay
    /// warning.
    public var queueTickMs: Int64

    public init(dataDirectory: String, socketDirectory: String? = nil) {
        self.dataDirectory = dataDirectory
        self.socketDirectory = socketDirectory ?? dataDirectory
        self.hostname = "localhost"
        self.passwordHashLog2Cost = 15
        self.minPasswordLength = 8
        self.scramIterations = 4096
        self.sessionLifetimeSeconds = 24 * 3600
        self.defaultMaxMessageBytes = 50 << 20
        self.maxRecipientsPerMessage = 1000
        self.throttle = LoginThrottle.Policy()
        self.maxLockLeaseMs = 30_000
        self.workerThreads = 8
        self.passwordThreads = 2
        self.passwordQueueLimit = 64
        self.authCacheLifetimeMs = 15 * 60 * 1000
        self.authCacheEntries = 10_000
        self.inlineBodyLimit = 64 * 1024
        self.storePageSize = 4096
        self.minFreeBytes = 64 << 20
        self.defaultMailboxes = SpecialUse.defaultMailboxes
        self.srs = true
        self.queuePolicy = .standard
        self.queueLeaseMs = 5 * 60 * 1000
        self.maxQueueLeaseMs = 60 * 60 * 1000
        self.queueTickMs = 30_000
    }
}
