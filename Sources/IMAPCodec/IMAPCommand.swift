/// A command's tag (RFC 3501 §9 `tag`): any ASTRING-CHAR but `+`.
public typealias IMAPTag = String

/// A mailbox name as the client sent it, still in modified UTF-7 (RFC 3501 §5.1.3); the
/// gateway decodes it with `ModifiedUTF7`. `INBOX` in any case is normalised to `INBOX` by the
/// parser (§5.1).
public struct IMAPMailbox: Hashable, Sendable, CustomStringConvertible {
    public var raw: [UInt8]
    public init(_ raw: [UInt8]) { self.raw = raw }
    public init(_ text: String) { self.raw = Array(text.utf8) }
    public var description: String { String(decoding: raw, as: UTF8.self) }
}

/// One element of a sequence set (RFC 3501 §9 `seq-number` / `seq-range`); `*` is the largest
/// number in use, which the session resolves (§6.4.8: for UIDs, the largest UID, even when the
/// range's other end is above it).
public enum IMAPSequenceNumber: Hashable, Sendable {
    case number(UInt32)
    case star
}

/// RFC 3501 §9 `sequence-set`: message sequence numbers or, in UID commands, UIDs.
public struct IMAPSequenceSet: Hashable, Sendable {
    public struct Range: Hashable, Sendable {
        public var first: IMAPSequenceNumber
        public var last: IMAPSequenceNumber
        public init(_ first: IMAPSequenceNumber, _ last: IMAPSequenceNumber) {
            self.first = first
            self.last = last
        }
    }
    public var ranges: [Range]
    /// RFC 5182 `$`: the result the last SEARCH … RETURN (SAVE) saved (no ranges of its own).
    public var isSaved = false
    public init(_ ranges: [Range]) { self.ranges = ranges }
    public static let saved: IMAPSequenceSet = {
        var set = IMAPSequenceSet([])
        set.isSaved = true
        return set
    }()
}

/// RFC 5256 §3: `["REVERSE" SP] sort-key`.
public struct IMAPSortCriterion: Hashable, Sendable {
    public enum Key: String, Hashable, Sendable {
        case arrival = "ARRIVAL"
        case cc = "CC"
        case date = "DATE"
        case from = "FROM"
        case size = "SIZE"
        case subject = "SUBJECT"
        case to = "TO"
    }
    public var key: Key
    public var reverse: Bool
    public init(_ key: Key, reverse: Bool = false) {
        self.key = key
        self.reverse = reverse
    }
}

/// RFC 4731 §3.1 and RFC 5182 §2: what a SEARCH returns. `RETURN ()` is `all`.
public struct IMAPSearchReturn: Hashable, Sendable {
    public var min = false
    public var max = false
    public var all = false
    public var count = false
    /// RFC 5182: keep the result as `$`.
    public var save = false
    public init(min: Bool = false, max: Bool = false, all: Bool = false, count: Bool = false, save: Bool = false) {
        self.min = min
        self.max = max
        self.all = all
        self.count = count
        self.save = save
    }
}

/// RFC 3501 §9 `date-time` and `date`, as given (no time zone conversion in the codec).
public struct IMAPDateTime: Hashable, Sendable {
    /// Seconds since 1970-01-01T00:00:00Z.
    public var secondsSince1970: Int64
    /// The zone offset as written, in minutes east of UTC.
    public var zoneMinutes: Int
    public init(secondsSince1970: Int64, zoneMinutes: Int) {
        self.secondsSince1970 = secondsSince1970
        self.zoneMinutes = zoneMinutes
    }
}

/// RFC 3501 §9 `date` (SEARCH BEFORE/ON/SINCE and the SENT* keys): a calendar day.
public struct IMAPDate: Hashable, Sendable {
    public var year: Int
    public var month: Int
    public var day: Int
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }
}

/// RFC 3501 §6.3.10 status data items.
public enum IMAPStatusItem: String, Hashable, Sendable, CaseIterable {
    case messages = "MESSAGES"
    case recent = "RECENT"
    case uidNext = "UIDNEXT"
    case uidValidity = "UIDVALIDITY"
    case unseen = "UNSEEN"
    // RFC 7162 §3.1.9 and RFC 8438: parsed now so the extensions issue only has to answer them.
    case highestModseq = "HIGHESTMODSEQ"
    case size = "SIZE"
    // RFC 9208 §4.1.4: what an EXPUNGE would free.
    case deleted = "DELETED"
    case deletedStorage = "DELETED-STORAGE"
}

/// RFC 3501 §6.4.5 `section-spec`: part numbers, then what of that part.
public struct IMAPSection: Hashable, Sendable {
    public enum Text: Hashable, Sendable {
        /// `BODY[]` or `BODY[1.2]`: the whole part.
        case full
        case header
        case headerFields([String])
        case headerFieldsNot([String])
        case text
        /// Only after a part number.
        case mime
    }
    /// Empty for the top-level message.
    public var part: [Int]
    public var text: Text
    public init(part: [Int] = [], text: Text = .full) {
        self.part = part
        self.text = text
    }
}

/// RFC 3501 §6.4.5 `<offset.length>` after `BODY[section]`: `length` octets from `offset`
/// (a range would not survive `offset + length` past 2^32, and §9's `nz-number` length is
/// never 0, but the type does not need to know that).
public struct IMAPPartial: Hashable, Sendable {
    public var offset: UInt32
    public var length: UInt32
    public init(offset: UInt32, length: UInt32) {
        self.offset = offset
        self.length = length
    }
}

/// RFC 3501 §6.4.5 FETCH data items; the macros ALL, FAST and FULL are expanded by the parser.
public enum IMAPFetchAttribute: Hashable, Sendable {
    case envelope
    case flags
    case internalDate
    case rfc822
    case rfc822Header
    case rfc822Size
    case rfc822Text
    /// `BODY` (non-extensible BODYSTRUCTURE).
    case body
    case bodyStructure
    case uid
    /// `BODY[section]<partial>` and `BODY.PEEK[...]`.
    case bodySection(IMAPSection, partial: IMAPPartial?, peek: Bool)
    // RFC 7162 §3.1.4.1, parsed for the extensions issue.
    case modseq
    /// RFC 3516 §4.1: `BINARY[part]<partial>` and `BINARY.PEEK[...]`, the part's body decoded
    /// from its Content-Transfer-Encoding; an empty part is the whole message.
    case binary(part: [Int], partial: IMAPPartial?, peek: Bool)
    /// RFC 3516 §4.2: `BINARY.SIZE[part]`, the decoded size.
    case binarySize(part: [Int])
}

/// RFC 3501 §6.4.6 STORE.
public struct IMAPStoreAction: Hashable, Sendable {
    public enum Operation: Hashable, Sendable {
        case replace
        case add
        case remove
    }
    public var operation: Operation
    public var silent: Bool
    /// Flag names as sent (`\Seen`, `$Forwarded`, `Junk`).
    public var flags: [String]
    /// RFC 7162 §3.1.3 UNCHANGEDSINCE.
    public var unchangedSince: Int64?
    public init(operation: Operation, silent: Bool, flags: [String], unchangedSince: Int64? = nil) {
        self.operation = operation
        self.silent = silent
        self.flags = flags
        self.unchangedSince = unchangedSince
    }
}

/// RFC 7162's FETCH modifiers: CHANGEDSINCE (§3.1.4.1) and VANISHED (§3.2.6).
public struct IMAPFetchModifiers: Hashable, Sendable {
    public var changedSince: Int64?
    public var vanished = false
    public init(changedSince: Int64? = nil, vanished: Bool = false) {
        self.changedSince = changedSince
        self.vanished = vanished
    }
}

/// RFC 7162 §3.2.5: SELECT's `QRESYNC (uidvalidity modseq [known-uids [(seq-match)]])`.
public struct IMAPQResyncParameter: Hashable, Sendable {
    public var uidValidity: UInt32
    public var modseq: Int64
    public var knownUIDs: IMAPSequenceSet?
    /// Message sequence numbers and the UIDs the client has for them, pairwise.
    public var sequenceMatch: (sequences: IMAPSequenceSet, uids: IMAPSequenceSet)?

    public init(
        uidValidity: UInt32, modseq: Int64, knownUIDs: IMAPSequenceSet? = nil,
        sequenceMatch: (sequences: IMAPSequenceSet, uids: IMAPSequenceSet)? = nil
    ) {
        self.uidValidity = uidValidity
        self.modseq = modseq
        self.knownUIDs = knownUIDs
        self.sequenceMatch = sequenceMatch
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.uidValidity == b.uidValidity && a.modseq == b.modseq && a.knownUIDs == b.knownUIDs
            && a.sequenceMatch?.sequences == b.sequenceMatch?.sequences && a.sequenceMatch?.uids == b.sequenceMatch?.uids
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(uidValidity)
        hasher.combine(modseq)
        hasher.combine(knownUIDs)
    }

    /// The parameter's value as `IMAPSelectParameter` keeps it:
    ///
    ///     qresync-param   = "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
    ///                       [SP seq-match-data] ")"
    ///     known-uids      = sequence-set
    ///     seq-match-data  = "(" known-sequence-set SP known-uid-set ")"
    public init?(_ value: String, limits: IMAPLimits = IMAPLimits()) {
        var parser = IMAPCommandParser(Array(value.utf8), limits: limits)
        var parsed: IMAPQResyncParameter?
        do throws(IMAPSyntaxError) {
            try parser.expect(IMAPCharacter.openParen, or: .invalidParameter)
            let validity = try parser.nzNumber()
            try parser.space()
            let modseq = try parser.number64()
            guard modseq > 0 else { return nil }
            var result = IMAPQResyncParameter(uidValidity: validity, modseq: modseq)
            if parser.peek == IMAPCharacter.space, parser.byte(at: parser.index + 1) != IMAPCharacter.openParen {
                try parser.space()
                result.knownUIDs = try parser.sequenceSet()
            }
            if parser.peek == IMAPCharacter.space {
                try parser.space()
                try parser.expect(IMAPCharacter.openParen, or: .invalidParameter)
                let sequences = try parser.sequenceSet()
                try parser.space()
                let uids = try parser.sequenceSet()
                try parser.expect(IMAPCharacter.closeParen, or: .invalidParameter)
                result.sequenceMatch = (sequences, uids)
            }
            try parser.expect(IMAPCharacter.closeParen, or: .invalidParameter)
            try parser.end()
            parsed = result
        } catch {
            return nil
        }
        guard let parsed else { return nil }
        self = parsed
    }
}

/// RFC 3501 §6.4.4 search keys, nested as sent. A sequence set stands for itself as a key.
/// String arguments are the client's bytes (in the command's CHARSET).
public indirect enum IMAPSearchKey: Hashable, Sendable {
    case all
    case answered, deleted, draft, flagged, new, old, recent, seen
    case unanswered, undeleted, undraft, unflagged, unseen
    case keyword(String)
    case unkeyword(String)
    case bcc([UInt8]), body([UInt8]), cc([UInt8]), from([UInt8]), subject([UInt8]), text([UInt8]), to([UInt8])
    case header(String, [UInt8])
    case before(IMAPDate), on(IMAPDate), since(IMAPDate)
    case sentBefore(IMAPDate), sentOn(IMAPDate), sentSince(IMAPDate)
    case larger(UInt32), smaller(UInt32)
    case uid(IMAPSequenceSet)
    case sequence(IMAPSequenceSet)
    case not(IMAPSearchKey)
    case or(IMAPSearchKey, IMAPSearchKey)
    /// A parenthesised list or the top-level list: all must match.
    case and([IMAPSearchKey])
    // RFC 7162 §3.1.5 `MODSEQ`, parsed for the extensions issue.
    case modseq(Int64)
}

/// The options of SELECT/EXAMINE (RFC 4466 §2.1 `select-params`), kept for CONDSTORE/QRESYNC.
public struct IMAPSelectParameter: Hashable, Sendable {
    public var name: String
    /// The parameter's value as its raw text, if it had one.
    public var value: String?
    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

/// LIST (RFC 3501 §6.3.8) in its RFC 5258 form: selection options, one or more patterns,
/// return options (RFC 5819 STATUS, RFC 6154 SPECIAL-USE). `reference` and `patterns` are as
/// sent (modified UTF-7, with `%` and `*`).
public struct IMAPListCommand: Hashable, Sendable {
    public enum Selection: String, Hashable, Sendable, CaseIterable {
        case subscribed = "SUBSCRIBED"
        case remote = "REMOTE"
        case recursiveMatch = "RECURSIVEMATCH"
        case specialUse = "SPECIAL-USE"
    }
    /// RFC 5258 §3.2, RFC 5819 §2, RFC 6154 §3.
    public struct Returns: Hashable, Sendable {
        public var subscribed = false
        public var children = false
        public var specialUse = false
        /// `STATUS (items)`: a STATUS response after each selectable mailbox's LIST.
        public var status: [IMAPStatusItem]?
        public init(subscribed: Bool = false, children: Bool = false, specialUse: Bool = false, status: [IMAPStatusItem]? = nil) {
            self.subscribed = subscribed
            self.children = children
            self.specialUse = specialUse
            self.status = status
        }
    }
    public var selection: Set<Selection>
    public var reference: [UInt8]
    public var patterns: [[UInt8]]
    public var returns: Returns
    /// One of RFC 5258's three extensions was used (§3: then `""` is not the request for the
    /// hierarchy delimiter, and the extended response items may be sent).
    public var extended: Bool

    /// The RFC 3501 form.
    public init(reference: [UInt8], pattern: [UInt8]) {
        self.init(selection: [], reference: reference, patterns: [pattern], returns: Returns(), extended: false)
    }

    public init(selection: Set<Selection>, reference: [UInt8], patterns: [[UInt8]], returns: Returns, extended: Bool = true) {
        self.selection = selection
        self.reference = reference
        self.patterns = patterns
        self.returns = returns
        self.extended = extended
    }
}

/// A parsed IMAP command (RFC 3501 §6). APPEND's message is not here: the framer streams it
/// (`IMAPFrame.appendBegin`, `.appendData`, `.appendEnd`).
public enum IMAPCommand: Hashable, Sendable {
    // §6.1: any state.
    case capability
    case noop
    case logout
    // §6.2: not authenticated.
    case startTLS
    /// `AUTHENTICATE mech [initial-response]` (RFC 4959 SASL-IR): the initial response is
    /// decoded from base64; `=` is an empty one.
    case authenticate(mechanism: String, initialResponse: [UInt8]?)
    case login(username: [UInt8], password: [UInt8])
    // §6.3: authenticated.
    case select(IMAPMailbox, parameters: [IMAPSelectParameter])
    case examine(IMAPMailbox, parameters: [IMAPSelectParameter])
    /// `CREATE name [(USE (attrs))]`: `uses` are RFC 6154 §5.3's special-use attributes.
    case create(IMAPMailbox, uses: [String] = [])
    case delete(IMAPMailbox)
    case rename(from: IMAPMailbox, to: IMAPMailbox)
    case subscribe(IMAPMailbox)
    case unsubscribe(IMAPMailbox)
    case list(IMAPListCommand)
    /// `reference` and `pattern` as sent (modified UTF-7, with `%` and `*`).
    case lsub(reference: [UInt8], pattern: [UInt8])
    case status(IMAPMailbox, items: [IMAPStatusItem])
    // §6.4: selected.
    case check
    case close
    case expunge
    /// `SEARCH [CHARSET x] keys`; `uid` for `UID SEARCH`.
    /// `returns`: RFC 4731 ESEARCH's `RETURN (…)`, nil for a plain SEARCH.
    case search(charset: String?, key: IMAPSearchKey, uid: Bool, returns: IMAPSearchReturn? = nil)
    case fetch(IMAPSequenceSet, attributes: [IMAPFetchAttribute], uid: Bool, modifiers: IMAPFetchModifiers = IMAPFetchModifiers())
    case store(IMAPSequenceSet, IMAPStoreAction, uid: Bool)
    case copy(IMAPSequenceSet, to: IMAPMailbox, uid: Bool)
    // Extensions.
    /// RFC 9208 §4.1.1: `GETQUOTA quota-root`, the root as sent.
    case getQuota(root: [UInt8])
    /// RFC 9208 §4.1.2: `GETQUOTAROOT mailbox` (which need not exist).
    case getQuotaRoot(IMAPMailbox)
    /// RFC 5256 `SORT (criteria) charset keys`; `uid` for UID SORT.
    case sort(criteria: [IMAPSortCriterion], charset: String, key: IMAPSearchKey, uid: Bool)
    /// RFC 5256 `THREAD algorithm charset keys` (the algorithm uppercased).
    case thread(algorithm: String, charset: String, key: IMAPSearchKey, uid: Bool)
    /// RFC 4978 `COMPRESS mechanism` (DEFLATE is the only one).
    case compress(mechanism: String)
    /// RFC 3691.
    case unselect
    /// RFC 2342.
    case namespace
    /// RFC 2971: the client's fields (name, value), or nil for `ID NIL`.
    case id([IMAPIDField]?)
    /// RFC 5161: the capability names as sent, uppercased.
    case enable([String])
    /// RFC 2177: the session reads lines until `DONE`.
    case idle
    /// RFC 4315 §2.1 `UID EXPUNGE set`.
    case uidExpunge(IMAPSequenceSet)
    /// RFC 6851 `MOVE` and `UID MOVE`.
    case move(IMAPSequenceSet, to: IMAPMailbox, uid: Bool)

    /// The command's name as RFC 3501 spells it, for the state table and for logs.
    public var name: IMAPCommandName {
        switch self {
        case .capability: .capability
        case .noop: .noop
        case .logout: .logout
        case .startTLS: .startTLS
        case .authenticate: .authenticate
        case .login: .login
        case .select: .select
        case .examine: .examine
        case .create: .create
        case .delete: .delete
        case .rename: .rename
        case .subscribe: .subscribe
        case .unsubscribe: .unsubscribe
        case .list: .list
        case .lsub: .lsub
        case .status: .status
        case .check: .check
        case .close: .close
        case .expunge: .expunge
        case .search: .search
        case .fetch: .fetch
        case .store: .store
        case .copy: .copy
        case .unselect: .unselect
        case .namespace: .namespace
        case .compress: .compress
        case .sort: .sort
        case .thread: .thread
        case .getQuota: .getQuota
        case .getQuotaRoot: .getQuotaRoot
        case .id: .id
        case .enable: .enable
        case .idle: .idle
        case .uidExpunge: .expunge
        case .move: .move
        }
    }
}

/// One field of RFC 2971 ID: `"name" "value"`, the value possibly NIL.
public struct IMAPIDField: Hashable, Sendable {
    public var name: String
    public var value: String?
    public init(name: String, value: String?) {
        self.name = name
        self.value = value
    }
}

/// Command names (RFC 3501 §6); `APPEND` is here though its frames are streamed.
public enum IMAPCommandName: String, Hashable, Sendable, CaseIterable {
    case capability = "CAPABILITY"
    case noop = "NOOP"
    case logout = "LOGOUT"
    case startTLS = "STARTTLS"
    case authenticate = "AUTHENTICATE"
    case login = "LOGIN"
    case select = "SELECT"
    case examine = "EXAMINE"
    case create = "CREATE"
    case delete = "DELETE"
    case rename = "RENAME"
    case subscribe = "SUBSCRIBE"
    case unsubscribe = "UNSUBSCRIBE"
    case list = "LIST"
    case lsub = "LSUB"
    case status = "STATUS"
    case append = "APPEND"
    case check = "CHECK"
    case close = "CLOSE"
    case expunge = "EXPUNGE"
    case search = "SEARCH"
    case fetch = "FETCH"
    case store = "STORE"
    case copy = "COPY"
    case unselect = "UNSELECT"
    case namespace = "NAMESPACE"
    case compress = "COMPRESS"
    case sort = "SORT"
    case thread = "THREAD"
    case getQuota = "GETQUOTA"
    case getQuotaRoot = "GETQUOTAROOT"
    case id = "ID"
    case enable = "ENABLE"
    case idle = "IDLE"
    case move = "MOVE"
}

/// A command with its tag.
public struct IMAPTaggedCommand: Hashable, Sendable {
    public var tag: IMAPTag
    public var command: IMAPCommand
    public init(tag: IMAPTag, command: IMAPCommand) {
        self.tag = tag
        self.command = command
    }
}
