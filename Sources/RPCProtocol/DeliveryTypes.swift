// Params and results of delivery and uploads. Content travels base64-encoded in chunks of at
// most RPCLimits.maxChunkBytes: begin → append … → commit (DESIGN §2).

public struct DeliveryCheckParams: Codable, Sendable {
    /// Envelope sender; empty for the null reverse-path `<>`.
    public var sender: String
    public var recipient: String
    /// The size the client announced (RFC 1870 SIZE=), if any.
    public var size: Int64?
    public var clientAddress: String?
    /// The session of the authenticated submitter, if any: that lets remote recipients through.
    public var session: String?
    /// The client connects from a network the operator trusts to relay.
    public var trustedRelay: Bool?
    public init(
        sender: String, recipient: String, size: Int64? = nil, clientAddress: String? = nil, session: String? = nil,
        trustedRelay: Bool? = nil
    ) {
        self.sender = sender
        self.recipient = recipient
        self.size = size
        self.clientAddress = clientAddress
        self.session = session
        self.trustedRelay = trustedRelay
    }
}

/// One recipient's fate. `status` is final after `upload.commit`; from `delivery.check` it says
/// whether the recipient would be accepted now.
public struct RecipientOutcome: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        /// From delivery.check: would be accepted.
        case accepted
        /// Stored in at least one local mailbox.
        case delivered
        /// Put on the outbound queue (remote, or forwarded to a remote address).
        case queued
        /// Refused; `kind` and `temporary` say why and whether to try later.
        case failed
    }
    public var recipient: String
    public var status: Status
    /// For `failed`: the error kind's name (`errorKind` gives it as a value).
    public var kind: String?
    public var message: String?
    public var temporary: Bool?
    /// For `delivered`: true when copies for remote targets (forwarding that keeps a copy, a
    /// group's outside members) went to the outbound queue as well.
    public var alsoQueued: Bool?
    public init(
        recipient: String, status: Status, kind: String? = nil, message: String? = nil, temporary: Bool? = nil, alsoQueued: Bool? = nil
    ) {
        self.recipient = recipient
        self.status = status
        self.kind = kind
        self.message = message
        self.temporary = temporary
        self.alsoQueued = alsoQueued
    }
}

public struct DeliveryBeginParams: Codable, Sendable {
    public var sender: String
    public var recipients: [String]
    public var clientAddress: String?
    public var session: String?
    public var trustedRelay: Bool?
    /// The size the client announced, checked against limits before any byte is sent.
    public var size: Int64?
    /// Names this delivery so that it is stored at most once: a later commit with the same key
    /// returns the first one's result, and `delivery.outcome` tells whether it committed.
    /// 1 to `IdempotencyKey.maxLength` printable ASCII characters.
    public var idempotencyKey: String?
    /// RFC 3461 parameters the client gave, if any.
    public var dsn: DeliveryDSN?
    public init(
        sender: String, recipients: [String], clientAddress: String? = nil, session: String? = nil, trustedRelay: Bool? = nil,
        size: Int64? = nil, idempotencyKey: String? = nil, dsn: DeliveryDSN? = nil
    ) {
        self.sender = sender
        self.recipients = recipients
        self.clientAddress = clientAddress
        self.session = session
        self.trustedRelay = trustedRelay
        self.size = size
        self.idempotencyKey = idempotencyKey
        self.dsn = dsn
    }
}

/// RFC 3461's parameters of one delivery: RET and ENVID of MAIL FROM, NOTIFY and ORCPT of each
/// RCPT TO (`recipients` in the order of the delivery's recipients; absent: none given).
public struct DeliveryDSN: Codable, Sendable, Equatable {
    /// `FULL` or `HDRS` (§4.3).
    public var ret: String?
    /// §4.4, xtext-decoded.
    public var envid: String?
    public var recipients: [RecipientDSN]?
    public init(ret: String? = nil, envid: String? = nil, recipients: [RecipientDSN]? = nil) {
        self.ret = ret
        self.envid = envid
        self.recipients = recipients
    }

    public var isEmpty: Bool { ret == nil && envid == nil && (recipients ?? []).allSatisfy(\.isEmpty) }
}

public struct RecipientDSN: Codable, Sendable, Equatable {
    /// §4.1: `NEVER`, or a comma list of `SUCCESS`, `FAILURE`, `DELAY`.
    public var notify: String?
    /// §4.2: `addr-type;address`, the address xtext-decoded.
    public var orcpt: String?
    public init(notify: String? = nil, orcpt: String? = nil) {
        self.notify = notify
        self.orcpt = orcpt
    }
    public var isEmpty: Bool { notify == nil && orcpt == nil }
}

/// A whole message of at most RPCLimits.maxChunkBytes in one call: `delivery.begin`,
/// `upload.append` and `upload.commit` at once, for the common small message.
public struct DeliverySubmitParams: Codable, Sendable {
    public var sender: String
    public var recipients: [String]
    public var clientAddress: String?
    public var session: String?
    public var trustedRelay: Bool?
    /// The whole message.
    public var data: Base64Data
    /// As for `delivery.begin`.
    public var idempotencyKey: String?
    public var dsn: DeliveryDSN?
    public init(
        sender: String, recipients: [String], data: Base64Data, clientAddress: String? = nil, session: String? = nil,
        trustedRelay: Bool? = nil, idempotencyKey: String? = nil, dsn: DeliveryDSN? = nil
    ) {
        self.sender = sender
        self.recipients = recipients
        self.data = data
        self.clientAddress = clientAddress
        self.session = session
        self.trustedRelay = trustedRelay
        self.idempotencyKey = idempotencyKey
        self.dsn = dsn
    }
}

public struct UploadStarted: Codable, Sendable {
    public var upload: String
    /// The largest message this upload may hold.
    public var maxBytes: Int64
    public init(upload: String, maxBytes: Int64) {
        self.upload = upload
        self.maxBytes = maxBytes
    }
}

public struct UploadAppendParams: Codable, Sendable {
    public var upload: String
    /// At most RPCLimits.maxChunkBytes bytes.
    public var data: Base64Data
    public init(upload: String, data: Base64Data) {
        self.upload = upload
        self.data = data
    }
}

public struct UploadParams: Codable, Sendable {
    public var upload: String
    public init(upload: String) { self.upload = upload }
}

public struct UploadProgress: Codable, Sendable {
    public var received: Int64
    public init(received: Int64) { self.received = received }
}

/// The answer to `upload.commit`, sent only after everything it reports is durable on disk.
public struct UploadCommitResult: Codable, Sendable, Equatable {
    /// Size and SHA-256 of the body as stored: for a delivery that includes the Return-Path line
    /// the back-end writes first, so it matches what `message.list` reports.
    public var size: Int64
    public var sha256: String
    /// For deliveries: one outcome per recipient, in the order given to `delivery.begin`.
    public var recipients: [RecipientOutcome]?
    /// For appends: where the message went (RFC 4315 APPENDUID).
    public var uidValidity: UInt32?
    public var uid: UInt32?
    public init(size: Int64, sha256: String, recipients: [RecipientOutcome]? = nil, uidValidity: UInt32? = nil, uid: UInt32? = nil) {
        self.size = size
        self.sha256 = sha256
        self.recipients = recipients
        self.uidValidity = uidValidity
        self.uid = uid
    }
}

extension RecipientOutcome {
    /// `kind` as a value; nil when absent or unknown to this build.
    public var errorKind: RPCError.Kind? { kind.flatMap(RPCError.Kind.named) }
}

/// What a delivery's idempotency key may be: 1 to 128 printable ASCII characters (0x20-0x7E),
/// so that it can be logged and stored as it is.
public enum IdempotencyKey {
    public static let maxLength = 128

    public static func isValid(_ key: String) -> Bool {
        let bytes = key.utf8
        return !bytes.isEmpty && bytes.count <= maxLength && bytes.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
    }
}

public struct DeliveryOutcomeParams: Codable, Sendable {
    public var idempotencyKey: String
    public init(idempotencyKey: String) { self.idempotencyKey = idempotencyKey }
}

/// Whether the delivery with a key committed, and what its commit answered. `committed: false`
/// from a back-end that has restarted since the delivery began means it never will.
public struct DeliveryOutcomeResult: Codable, Sendable, Equatable {
    public var committed: Bool
    /// The commit's answer, exactly as `upload.commit` or `delivery.submit` gave it.
    public var result: UploadCommitResult?
    public init(committed: Bool, result: UploadCommitResult? = nil) {
        self.committed = committed
        self.result = result
    }
}
