public import MailCore

// Params and results of the message methods. UID sets use IMAP syntax (`1:5,9,20:*`).

public struct MessageListParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    /// Which messages; all when absent.
    public var uids: UIDSet?
    /// Include the cached ENVELOPE and BODYSTRUCTURE (JSON from MailMessage); off by default.
    /// The same as `fields: ["structure"]`.
    public var withStructure: Bool?
    /// Optional members wanted in each summary: `"envelope"` (the ENVELOPE alone, small) and
    /// `"structure"` (the whole parsed message). The other members are always there.
    public var fields: [String]?
    /// Stop the page before its encoded summaries pass this many bytes (at least one is
    /// returned; default and most 1 MiB): `nextAfterUid` continues.
    public var maxBytes: Int?
    /// Only messages whose modseq is greater (RFC 7162 CHANGEDSINCE).
    public var changedSince: Int64?
    /// Page size; at most 5000 (the default). `nextAfterUid` in the result continues.
    public var limit: Int?
    public var afterUid: UInt32?
    public init(
        session: String, mailbox: String, uids: UIDSet? = nil, withStructure: Bool? = nil, changedSince: Int64? = nil, limit: Int? = nil,
        afterUid: UInt32? = nil, fields: [String]? = nil, maxBytes: Int? = nil
    ) {
        self.session = session
        self.mailbox = mailbox
        self.uids = uids
        self.withStructure = withStructure
        self.fields = fields
        self.maxBytes = maxBytes
        self.changedSince = changedSince
        self.limit = limit
        self.afterUid = afterUid
    }
}

public struct MessageSummary: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var flags: MessageFlags
    /// Seconds since 1970 (UTC).
    public var internalDate: Int64
    public var size: Int64
    public var modseq: Int64
    /// The parsed message (MailMessage.ParsedMessage), when asked for: a JSON object in the answer.
    public var structure: JSONText?
    /// Its envelope alone (MailMessage.Envelope), when asked for: a JSON object in the answer.
    public var envelope: JSONText?
    public init(
        uid: UInt32, flags: MessageFlags, internalDate: Int64, size: Int64, modseq: Int64, structure: JSONText? = nil,
        envelope: JSONText? = nil
    ) {
        self.envelope = envelope
        self.uid = uid
        self.flags = flags
        self.internalDate = internalDate
        self.size = size
        self.modseq = modseq
        self.structure = structure
    }
}

public struct MessageListResult: Codable, Sendable {
    public var uidValidity: UInt32
    public var uidNext: UInt32
    public var highestModseq: Int64
    public var messages: [MessageSummary]
    /// Set when the page was full: pass as `afterUid` for the next page.
    public var nextAfterUid: UInt32?
    public init(uidValidity: UInt32, uidNext: UInt32, highestModseq: Int64, messages: [MessageSummary], nextAfterUid: UInt32?) {
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.highestModseq = highestModseq
        self.messages = messages
        self.nextAfterUid = nextAfterUid
    }
}

public struct MessageReadParams: Codable, Sendable {
    public enum Section: String, Codable, Sendable {
        /// The part's whole bytes (for the top level: the whole message).
        case full
        /// Its header block (RFC 3501 HEADER; for a part: the header of a message/rfc822 part).
        case header
        /// Its body without the header (RFC 3501 TEXT).
        case text
        /// The MIME header of a part (RFC 3501 MIME).
        case mime
    }
    public var session: String
    public var mailbox: String
    public var uid: UInt32
    /// IMAP section numbers, `"1.2"`; the whole message when absent.
    public var part: String?
    public var section: Section?
    public var offset: Int64?
    /// At most `RPCLimits.maxChunkBytes`; that when absent. 0 reads nothing: only `total`.
    public var length: Int?
    /// IMAP BINARY (RFC 3516): the part's body (`section` full) decoded from its
    /// Content-Transfer-Encoding; `offset`, `length` and `total` count decoded bytes. Without a
    /// part, the whole message as stored.
    public var decode: Bool?
    public init(
        session: String, mailbox: String, uid: UInt32, part: String? = nil, section: Section? = nil, offset: Int64? = nil,
        length: Int? = nil, decode: Bool? = nil
    ) {
        self.session = session
        self.mailbox = mailbox
        self.uid = uid
        self.part = part
        self.section = section
        self.offset = offset
        self.length = length
        self.decode = decode
    }
}

public struct MessageReadResult: Codable, Sendable {
    /// The bytes read.
    public var data: Base64Data
    /// Total size of the selected section, so the caller knows when it has all of it.
    public var total: Int64
    public var offset: Int64
    public init(data: Base64Data, total: Int64, offset: Int64) {
        self.data = data
        self.total = total
        self.offset = offset
    }
}

/// The first bytes of several messages in one call: a client reading a mailbox in order (POP3
/// RETR after RETR, IMAP FETCH BODY[] of a range) gets what comes next without a call each.
public struct MessageReadBatchParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    /// At most `maxBatchMessages`, in the order wanted.
    public var uids: [UInt32]
    /// Bytes wanted of each message from its start, clamped to 0…maxChunkBytes.
    public var length: Int
    public static let maxBatchMessages = 64
    public init(session: String, mailbox: String, uids: [UInt32], length: Int) {
        self.session = session
        self.mailbox = mailbox
        self.uids = uids
        self.length = length
    }
}

public struct MessageReadBatchResult: Codable, Sendable {
    /// In the order asked, as many as fit in maxChunkBytes of data in all (at least one): the
    /// caller asks again for the rest. A message that does not exist is in `missing` instead.
    public var messages: [MessageChunk]
    public var missing: [UInt32]
    public init(messages: [MessageChunk], missing: [UInt32]) {
        self.messages = messages
        self.missing = missing
    }
}

public struct MessageChunk: Codable, Sendable {
    public var uid: UInt32
    /// The message's first bytes, at most the `length` asked.
    public var data: Base64Data
    /// The message's size.
    public var total: Int64
    public init(uid: UInt32, data: Base64Data, total: Int64) {
        self.uid = uid
        self.data = data
        self.total = total
    }
}

public struct MessageFlagsParams: Codable, Sendable {
    public enum Operation: String, Codable, Sendable { case set, add, remove }
    public var session: String
    public var mailbox: String
    public var uids: UIDSet
    public var operation: Operation
    public var flags: MessageFlags
    /// RFC 7162 UNCHANGEDSINCE: messages modified after this modseq are left alone and listed
    /// in `skipped`.
    public var unchangedSince: Int64?
    /// Leave `updated` empty (IMAP `STORE …FLAGS.SILENT`, or a caller that does not need the
    /// new flags): a change to 100000 messages then answers in a few bytes.
    public var silent: Bool?
    public init(
        session: String, mailbox: String, uids: UIDSet, operation: Operation, flags: MessageFlags, unchangedSince: Int64? = nil,
        silent: Bool? = nil
    ) {
        self.silent = silent
        self.session = session
        self.mailbox = mailbox
        self.uids = uids
        self.operation = operation
        self.flags = flags
        self.unchangedSince = unchangedSince
    }
}

public struct FlagUpdate: Codable, Sendable, Equatable {
    public var uid: UInt32
    public var flags: MessageFlags
    public var modseq: Int64
    public init(uid: UInt32, flags: MessageFlags, modseq: Int64) {
        self.uid = uid
        self.flags = flags
        self.modseq = modseq
    }
}

public struct MessageFlagsResult: Codable, Sendable {
    public var updated: [FlagUpdate]
    public var skipped: [UInt32]
    /// The mod-sequence the changed messages got (with `silent` too, so a session can tell its
    /// own change's event from another's); absent when nothing changed.
    public var modseq: Int64?
    /// With `unchangedSince`: the messages that passed the test but that the operation left as
    /// they were, with their flags and modseq (RFC 7162 §3.1.3 reports them too).
    public var unchanged: [FlagUpdate]?
    public init(updated: [FlagUpdate], skipped: [UInt32], modseq: Int64? = nil, unchanged: [FlagUpdate]? = nil) {
        self.updated = updated
        self.skipped = skipped
        self.modseq = modseq
        self.unchanged = unchanged
    }
}

public struct MessageCopyParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    public var uids: UIDSet
    public var to: String
    public init(session: String, mailbox: String, uids: UIDSet, to: String) {
        self.session = session
        self.mailbox = mailbox
        self.uids = uids
        self.to = to
    }
}

/// RFC 4315 COPYUID data: source UIDs and the UIDs they got in the target, pairwise.
public struct MessageCopyResult: Codable, Sendable {
    public var uidValidity: UInt32
    public var sourceUids: [UInt32]
    public var targetUids: [UInt32]
    /// For `message.move`: the source mailbox's mod-sequence the move took (RFC 6851 §4.4
    /// with QRESYNC reports it); absent when nothing moved.
    public var sourceModseq: Int64?
    public init(uidValidity: UInt32, sourceUids: [UInt32], targetUids: [UInt32], sourceModseq: Int64? = nil) {
        self.uidValidity = uidValidity
        self.sourceUids = sourceUids
        self.targetUids = targetUids
        self.sourceModseq = sourceModseq
    }
}

public struct MessageExpungeParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    /// Limit to these UIDs (RFC 4315 UID EXPUNGE); all when absent.
    public var uids: UIDSet?
    /// Remove the messages whether or not they carry `\Deleted` (what POP3's UPDATE state
    /// needs). Default false: only `\Deleted` messages go.
    public var regardlessOfFlags: Bool?
    public init(session: String, mailbox: String, uids: UIDSet? = nil, regardlessOfFlags: Bool? = nil) {
        self.session = session
        self.mailbox = mailbox
        self.uids = uids
        self.regardlessOfFlags = regardlessOfFlags
    }
}

public struct MessageExpungeResult: Codable, Sendable {
    public var expunged: [UInt32]
    public var modseq: Int64
    public init(expunged: [UInt32], modseq: Int64) {
        self.expunged = expunged
        self.modseq = modseq
    }
}

public struct MessageAppendParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    public var flags: MessageFlags?
    /// Seconds since 1970; now when absent.
    public var internalDate: Int64?
    /// The size the caller announces (an IMAP literal's length), checked against quota and
    /// limits before any byte is sent.
    public var size: Int64?
    public init(session: String, mailbox: String, flags: MessageFlags? = nil, internalDate: Int64? = nil, size: Int64? = nil) {
        self.session = session
        self.mailbox = mailbox
        self.flags = flags
        self.internalDate = internalDate
        self.size = size
    }
}
