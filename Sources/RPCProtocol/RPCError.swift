/// An error as the RPC carries it: a stable numeric `code`, a human `message`, and
/// `data.kind`, the machine-readable name gateways map to their protocol's replies.
///
/// A struct around a private code table (STYLE §9): new kinds do not break callers, and tests
/// compare `kind`.
public struct RPCError: Error, Sendable, Codable, Equatable, CustomStringConvertible {
    public var code: Int
    public var message: String
    public var data: ErrorData?

    public struct ErrorData: Sendable, Codable, Equatable {
        public var kind: String
        /// For `auth_throttled`: how long before another attempt is considered.
        public var retryAfterMs: Int?
        /// For `invalid_params`: which field was wrong, when known.
        public var field: String?
        /// Whether trying again later may succeed (a 4xx rather than a 5xx in SMTP terms).
        public var temporary: Bool?

        public init(kind: String, retryAfterMs: Int? = nil, field: String? = nil, temporary: Bool? = nil) {
            self.kind = kind
            self.retryAfterMs = retryAfterMs
            self.field = field
            self.temporary = temporary
        }
    }

    public init(code: Int, message: String, data: ErrorData?) {
        self.code = code
        self.message = message
        self.data = data
    }

    public var kind: String { data?.kind ?? Kind.internalError.name }

    public var description: String { "\(message) [\(kind), \(code)]" }

    /// Every error kind with its stable code. JSON-RPC's own codes are negative; Loft's start at
    /// 1000. Codes and names never change meaning once released.
    public struct Kind: Sendable, Equatable {
        public let code: Int
        public let name: String

        // JSON-RPC 2.0 §5.1
        public static let parseError = Kind(code: -32700, name: "parse_error")
        public static let invalidRequest = Kind(code: -32600, name: "invalid_request")
        public static let methodNotFound = Kind(code: -32601, name: "method_not_found")
        public static let invalidParams = Kind(code: -32602, name: "invalid_params")
        public static let internalError = Kind(code: -32603, name: "internal_error")
        public static let lineTooLong = Kind(code: -32001, name: "line_too_long")
        public static let helloRequired = Kind(code: -32002, name: "hello_required")
        public static let versionMismatch = Kind(code: -32003, name: "version_mismatch")
        public static let permissionDenied = Kind(code: -32004, name: "permission_denied")
        public static let unavailable = Kind(code: -32005, name: "unavailable")
        public static let overloaded = Kind(code: -32006, name: "overloaded")
        public static let timeout = Kind(code: -32007, name: "timeout")

        // Loft
        public static let authFailed = Kind(code: 1001, name: "auth_failed")
        public static let authThrottled = Kind(code: 1002, name: "auth_throttled")
        public static let sessionInvalid = Kind(code: 1003, name: "session_invalid")
        public static let accountDisabled = Kind(code: 1004, name: "account_disabled")
        public static let noSuchDomain = Kind(code: 1010, name: "no_such_domain")
        public static let domainExists = Kind(code: 1011, name: "domain_exists")
        public static let noSuchAccount = Kind(code: 1012, name: "no_such_account")
        public static let accountExists = Kind(code: 1013, name: "account_exists")
        public static let addressInUse = Kind(code: 1014, name: "address_in_use")
        public static let noSuchAlias = Kind(code: 1015, name: "no_such_alias")
        public static let noSuchGroup = Kind(code: 1016, name: "no_such_group")
        public static let notEmpty = Kind(code: 1017, name: "not_empty")
        public static let invalidAddress = Kind(code: 1018, name: "invalid_address")
        public static let noSuchMailbox = Kind(code: 1020, name: "no_such_mailbox")
        public static let mailboxExists = Kind(code: 1021, name: "mailbox_exists")
        public static let invalidMailboxName = Kind(code: 1022, name: "invalid_mailbox_name")
        public static let noSuchMessage = Kind(code: 1023, name: "no_such_message")
        public static let noSuchPart = Kind(code: 1024, name: "no_such_part")
        /// `message.read` `decode`: the part's Content-Transfer-Encoding is none Loft knows
        /// (IMAP `UNKNOWN-CTE`, RFC 3516 §4.3).
        public static let unknownTransferEncoding = Kind(code: 1028, name: "unknown_transfer_encoding")
        public static let mailboxIsInbox = Kind(code: 1025, name: "mailbox_is_inbox")
        public static let invalidRename = Kind(code: 1026, name: "invalid_rename")
        public static let notSelectable = Kind(code: 1027, name: "not_selectable")
        public static let quotaExceeded = Kind(code: 1030, name: "quota_exceeded")
        public static let tooBig = Kind(code: 1031, name: "too_big")
        public static let noSuchUser = Kind(code: 1032, name: "no_such_user")
        public static let relayDenied = Kind(code: 1033, name: "relay_denied")
        public static let loopDetected = Kind(code: 1034, name: "loop_detected")
        public static let tooManyRecipients = Kind(code: 1035, name: "too_many_recipients")
        public static let noSuchUpload = Kind(code: 1040, name: "no_such_upload")
        public static let uploadIncomplete = Kind(code: 1041, name: "upload_incomplete")
        public static let inUse = Kind(code: 1050, name: "in_use")
        public static let noSuchLock = Kind(code: 1051, name: "no_such_lock")
        public static let limitExceeded = Kind(code: 1060, name: "limit_exceeded")
        public static let tooManyMailboxes = Kind(code: 1061, name: "too_many_mailboxes")
        public static let storageFull = Kind(code: 1070, name: "storage_full")
        /// A relay's lease that no longer holds the recipients (it ended or never was).
        public static let noSuchLease = Kind(code: 1080, name: "no_such_lease")
        public static let noSuchQueueEntry = Kind(code: 1081, name: "no_such_queue_entry")

        public static let all: [Kind] = [
            .parseError, .invalidRequest, .methodNotFound, .invalidParams, .internalError,
            .lineTooLong, .helloRequired, .versionMismatch, .permissionDenied, .unavailable,
            .overloaded, .timeout,
            .authFailed, .authThrottled, .sessionInvalid, .accountDisabled,
            .noSuchDomain, .domainExists, .noSuchAccount, .accountExists, .addressInUse,
            .noSuchAlias, .noSuchGroup, .notEmpty, .invalidAddress,
            .noSuchMailbox, .mailboxExists, .invalidMailboxName, .noSuchMessage, .noSuchPart,
            .mailboxIsInbox, .invalidRename, .notSelectable, .unknownTransferEncoding,
            .quotaExceeded, .tooBig, .noSuchUser, .relayDenied, .loopDetected, .tooManyRecipients,
            .noSuchUpload, .uploadIncomplete, .inUse, .noSuchLock, .limitExceeded,
            .tooManyMailboxes, .storageFull, .noSuchLease, .noSuchQueueEntry,
        ]
    }

    public init(
        _ kind: Kind, _ message: String, retryAfterMs: Int? = nil, field: String? = nil, temporary: Bool? = nil
    ) {
        self.init(
            code: kind.code, message: message,
            data: ErrorData(kind: kind.name, retryAfterMs: retryAfterMs, field: field, temporary: temporary))
    }

    public func `is`(_ kind: Kind) -> Bool { self.kind == kind.name }

    /// The kind as a value, for a `switch` over kinds; nil for a kind this build does not know
    /// (Protocol §11: judge those by `temporary`).
    public var knownKind: Kind? { Kind.named(kind) }
}

extension RPCError.Kind {
    private static let byName: [String: RPCError.Kind] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// The kind called `name` (`no_such_user`), or nil when it is not one of `all`.
    public static func named(_ name: String) -> RPCError.Kind? { byName[name] }
}
