// The outbound queue's methods (Protocol/README §15): the relay's `queue.lease`, `queue.read`,
// `queue.renew` and `queue.report`, and the administrator's `queue.list`, `queue.show`,
// `queue.retry`, `queue.remove` and `queue.status`.

/// One recipient of a queued message as the administrator sees it.
public struct QueueRecipientInfo: Codable, Sendable, Equatable {
    public var recipient: String
    /// `pending`, `leased`, `deferred`, `delivered` or `failed`.
    public var status: String
    public var attempts: Int
    /// Seconds since 1970.
    public var nextAttemptAt: Int64
    public var lastAttemptAt: Int64?
    /// The remote reply of the last attempt.
    public var lastCode: Int?
    public var lastEnhancedCode: String?
    public var lastReply: String?
    public var remoteMta: String?
    /// RFC 3461 NOTIFY as stored: `NEVER` or a comma list; absent when the sender gave none.
    public var notify: String?
    public var orcpt: String?

    public init(
        recipient: String, status: String, attempts: Int, nextAttemptAt: Int64, lastAttemptAt: Int64? = nil, lastCode: Int? = nil,
        lastEnhancedCode: String? = nil, lastReply: String? = nil, remoteMta: String? = nil, notify: String? = nil,
        orcpt: String? = nil
    ) {
        self.recipient = recipient
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.lastCode = lastCode
        self.lastEnhancedCode = lastEnhancedCode
        self.lastReply = lastReply
        self.remoteMta = remoteMta
        self.notify = notify
        self.orcpt = orcpt
    }
}

/// A queued message (`queue.list`, `queue.show`). `recipients` lists the addresses;
/// `states` has each one's state in the same order.
public struct QueueEntry: Codable, Sendable, Equatable {
    public var id: Int64
    public var sender: String
    public var recipients: [String]
    public var size: Int64
    public var createdAt: Int64
    public var expiresAt: Int64?
    public var origin: String?
    public var bodyType: String?
    public var smtputf8: Bool?
    public var envid: String?
    public var ret: String?
    public var states: [QueueRecipientInfo]?

    public init(
        id: Int64, sender: String, recipients: [String], size: Int64, createdAt: Int64, expiresAt: Int64? = nil, origin: String? = nil,
        bodyType: String? = nil, smtputf8: Bool? = nil, envid: String? = nil, ret: String? = nil, states: [QueueRecipientInfo]? = nil
    ) {
        self.id = id
        self.sender = sender
        self.recipients = recipients
        self.size = size
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.origin = origin
        self.bodyType = bodyType
        self.smtputf8 = smtputf8
        self.envid = envid
        self.ret = ret
        self.states = states
    }
}

/// `queue.list`: a page in id order; `after` is the last id of the page before.
public struct QueueListParams: Codable, Sendable {
    public var limit: Int?
    public var after: Int64?
    public init(limit: Int? = nil, after: Int64? = nil) {
        self.limit = limit
        self.after = after
    }
}

public struct QueueListResult: Codable, Sendable {
    public var entries: [QueueEntry]
    public init(entries: [QueueEntry]) { self.entries = entries }
}

public struct QueueIDParams: Codable, Sendable {
    public var id: Int64
    public init(id: Int64) { self.id = id }
}

/// `queue.retry`: one message's waiting recipients, or every waiting recipient, due now.
public struct QueueRetryParams: Codable, Sendable {
    public var id: Int64?
    public init(id: Int64? = nil) { self.id = id }
}

/// `queue.remove`: the message's recipients that are not final fail now; with `bounce` the
/// sender gets a delivery status notification for them.
public struct QueueRemoveParams: Codable, Sendable {
    public var id: Int64
    public var bounce: Bool?
    public init(id: Int64, bounce: Bool? = nil) {
        self.id = id
        self.bounce = bounce
    }
}

public struct QueueChangeResult: Codable, Sendable, Equatable {
    /// Recipients changed.
    public var changed: Int
    public init(changed: Int) { self.changed = changed }
}

public struct QueueStatusResult: Codable, Sendable, Equatable {
    public var messages: Int64
    /// Recipients not yet delivered or failed, and of those the deferred and the leased.
    public var recipients: Int64
    public var deferred: Int64
    public var leased: Int64
    /// The oldest queued message's arrival, and when the next recipient falls due.
    public var oldestAt: Int64?
    public var nextDueAt: Int64?
    public init(messages: Int64, recipients: Int64, deferred: Int64, leased: Int64, oldestAt: Int64?, nextDueAt: Int64?) {
        self.messages = messages
        self.recipients = recipients
        self.deferred = deferred
        self.leased = leased
        self.oldestAt = oldestAt
        self.nextDueAt = nextDueAt
    }
}

// MARK: The relay's methods

/// `queue.lease`: up to `max` due recipients of one destination domain, held for `leaseMs`.
/// `domains` lists those the worker is busy with, which it does not want now.
public struct QueueLeaseParams: Codable, Sendable {
    public var max: Int?
    public var leaseMs: Int64?
    public var domains: [String]?
    /// When nothing is due, wait up to this long (at most 30 s) for mail to be queued or fall
    /// due before answering: a relay learns of new mail at once without polling.
    public var waitMs: Int64?
    /// A destination's concurrency: a domain with this many leases running (from every relay)
    /// is not leased again until one ends. Absent: no limit.
    public var perDomain: Int?
    /// Messages whose whole body fits come with it (`LeasedMessage.data`), up to this many
    /// body bytes in all (at most 1 MiB), so a small message needs no `queue.read`.
    public var inlineBytes: Int?
    public init(
        max: Int? = nil, leaseMs: Int64? = nil, domains: [String]? = nil, waitMs: Int64? = nil, perDomain: Int? = nil,
        inlineBytes: Int? = nil
    ) {
        self.max = max
        self.leaseMs = leaseMs
        self.domains = domains
        self.waitMs = waitMs
        self.perDomain = perDomain
        self.inlineBytes = inlineBytes
    }
}

public struct LeasedRecipient: Codable, Sendable, Equatable {
    public var recipient: String
    /// RFC 3461 NOTIFY to pass on (`NEVER` or a comma list), and ORCPT (`rfc822;addr`).
    public var notify: String?
    public var orcpt: String?
    public init(recipient: String, notify: String? = nil, orcpt: String? = nil) {
        self.recipient = recipient
        self.notify = notify
        self.orcpt = orcpt
    }
}

public struct LeasedMessage: Codable, Sendable, Equatable {
    public var id: Int64
    /// The envelope sender; empty for the null reverse-path.
    public var sender: String
    public var size: Int64
    /// `7bit`, `8bitmime` or `binarymime`.
    public var bodyType: String
    public var smtputf8: Bool
    public var envid: String?
    public var ret: String?
    public var recipients: [LeasedRecipient]
    /// The whole message as it is to be sent, when it fit the lease's `inlineBytes`.
    public var data: Base64Data?
    public init(
        id: Int64, sender: String, size: Int64, bodyType: String, smtputf8: Bool, envid: String?, ret: String?,
        recipients: [LeasedRecipient], data: Base64Data? = nil
    ) {
        self.data = data
        self.id = id
        self.sender = sender
        self.size = size
        self.bodyType = bodyType
        self.smtputf8 = smtputf8
        self.envid = envid
        self.ret = ret
        self.recipients = recipients
    }
}

public struct QueueLeaseResult: Codable, Sendable, Equatable {
    /// Absent when nothing is due; then `nextDueAt` (ms since 1970) says when to ask again.
    public var lease: String?
    /// Milliseconds since 1970.
    public var deadline: Int64?
    public var domain: String?
    public var messages: [LeasedMessage]
    public var nextDueAt: Int64?
    public init(lease: String?, deadline: Int64?, domain: String?, messages: [LeasedMessage], nextDueAt: Int64?) {
        self.lease = lease
        self.deadline = deadline
        self.domain = domain
        self.messages = messages
        self.nextDueAt = nextDueAt
    }
}

/// `queue.read`: the message as it is to be sent, in chunks of at most 1 MiB.
public struct QueueReadParams: Codable, Sendable {
    public var lease: String
    public var message: Int64
    public var offset: Int64?
    public var length: Int?
    public init(lease: String, message: Int64, offset: Int64? = nil, length: Int? = nil) {
        self.lease = lease
        self.message = message
        self.offset = offset
        self.length = length
    }
}

public struct QueueReadResult: Codable, Sendable {
    public var data: Base64Data
    public var total: Int64
    public var offset: Int64
    public init(data: Base64Data, total: Int64, offset: Int64) {
        self.data = data
        self.total = total
        self.offset = offset
    }
}

public struct QueueRenewParams: Codable, Sendable {
    public var lease: String
    public var leaseMs: Int64?
    public init(lease: String, leaseMs: Int64? = nil) {
        self.lease = lease
        self.leaseMs = leaseMs
    }
}

/// `queue.unpark`: the `queue.lease` calls this connection has waiting are answered, empty,
/// without leasing (a relay that stops leaves nothing leased to a call it no longer awaits).
public struct QueueUnparkResult: Codable, Sendable, Equatable {
    public var answered: Int
    public init(answered: Int) { self.answered = answered }
}

public struct QueueRenewResult: Codable, Sendable, Equatable {
    public var deadline: Int64
    /// Recipients the lease still holds.
    public var recipients: Int
    public init(deadline: Int64, recipients: Int) {
        self.deadline = deadline
        self.recipients = recipients
    }
}

/// One recipient's outcome: `delivered` (2yz), `deferred` (4yz, or no answer), `failed` (5yz).
public struct QueueOutcome: Codable, Sendable, Equatable {
    public var recipient: String
    public var result: String
    public var code: Int?
    public var enhancedCode: String?
    public var text: String?
    public var remoteMta: String?
    /// For `delivered`: the remote server took the DSN request on (RFC 3461 §4.2); when it did
    /// not, a NOTIFY=SUCCESS gets a "relayed" notification from here.
    public var dsnPassedOn: Bool?
    public init(
        recipient: String, result: String, code: Int? = nil, enhancedCode: String? = nil, text: String? = nil, remoteMta: String? = nil,
        dsnPassedOn: Bool? = nil
    ) {
        self.recipient = recipient
        self.result = result
        self.code = code
        self.enhancedCode = enhancedCode
        self.text = text
        self.remoteMta = remoteMta
        self.dsnPassedOn = dsnPassedOn
    }
}

public struct QueueReportParams: Codable, Sendable {
    public var lease: String
    public var message: Int64
    public var outcomes: [QueueOutcome]
    public init(lease: String, message: Int64, outcomes: [QueueOutcome]) {
        self.lease = lease
        self.message = message
        self.outcomes = outcomes
    }
}

public struct QueueReportResult: Codable, Sendable, Equatable {
    /// Recipients whose outcome was recorded, and those whose report changed nothing (already
    /// final, or leased again since), with why.
    public var applied: [String]
    public var ignored: [IgnoredOutcome]
    public init(applied: [String], ignored: [IgnoredOutcome]) {
        self.applied = applied
        self.ignored = ignored
    }
}

public struct IgnoredOutcome: Codable, Sendable, Equatable {
    public var recipient: String
    public var reason: String
    public init(recipient: String, reason: String) {
        self.recipient = recipient
        self.reason = reason
    }
}
