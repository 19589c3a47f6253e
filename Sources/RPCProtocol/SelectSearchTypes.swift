public import MailCore

// Params and results of the methods IMAP's SELECT, its sequence-number map and SEARCH need
// (Protocol/README.md §4, §14). UID sets are pages of at most `UIDSet.maxRanges` ranges; a
// longer answer sets `nextAfterUid` and the caller asks again from there.

public struct MailboxSelectParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    /// EXAMINE (RFC 3501 §6.3.2): nothing is claimed; `recentUids` are the messages recent now.
    public var readOnly: Bool?
    public init(session: String, mailbox: String, readOnly: Bool? = nil) {
        self.session = session
        self.mailbox = mailbox
        self.readOnly = readOnly
    }
}

/// What SELECT answers (RFC 3501 §6.3.1), read in one transaction so the parts agree.
public struct MailboxSelectResult: Codable, Sendable {
    public var status: MailboxStatus
    /// Keywords set on at least one message of the mailbox (for FLAGS and PERMANENTFLAGS).
    public var keywords: [String]
    /// The UID of the first message without `\Seen`.
    public var firstUnseenUid: UInt32?
    /// RFC 3501 §2.3.2: the messages this selection claimed as `\Recent` (no other session will
    /// see them as recent); for `readOnly`, those recent now. Absent when none.
    public var recentUids: UIDSet?
    /// The mailbox's UIDs, ascending, first page; absent when the mailbox is empty.
    public var uids: UIDSet?
    /// Set when `uids` is not all of them: continue with `message.uids`.
    public var nextAfterUid: UInt32?
    public init(
        status: MailboxStatus, keywords: [String], firstUnseenUid: UInt32?, recentUids: UIDSet?, uids: UIDSet?, nextAfterUid: UInt32?
    ) {
        self.status = status
        self.keywords = keywords
        self.firstUnseenUid = firstUnseenUid
        self.recentUids = recentUids
        self.uids = uids
        self.nextAfterUid = nextAfterUid
    }
}

public struct MessageUidsParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    /// Only UIDs above this.
    public var afterUid: UInt32?
    public init(session: String, mailbox: String, afterUid: UInt32? = nil) {
        self.session = session
        self.mailbox = mailbox
        self.afterUid = afterUid
    }
}

/// RFC 7162 QRESYNC: which UIDs were expunged since a modseq.
public struct MessageVanishedParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    /// UIDs expunged at a modseq above this one.
    public var sinceModseq: Int64
    /// Only these (the client's known UIDs); all when absent.
    public var uids: UIDSet?
    /// Only UIDs above this (the next page).
    public var afterUid: UInt32?
    public init(session: String, mailbox: String, sinceModseq: Int64, uids: UIDSet? = nil, afterUid: UInt32? = nil) {
        self.session = session
        self.mailbox = mailbox
        self.sinceModseq = sinceModseq
        self.uids = uids
        self.afterUid = afterUid
    }
}

public struct MessageUidsResult: Codable, Sendable {
    /// Absent when no message is left above `afterUid`.
    public var uids: UIDSet?
    public var nextAfterUid: UInt32?
    public var uidNext: UInt32
    public var highestModseq: Int64
    public init(uids: UIDSet?, nextAfterUid: UInt32?, uidNext: UInt32, highestModseq: Int64) {
        self.uids = uids
        self.nextAfterUid = nextAfterUid
        self.uidNext = uidNext
        self.highestModseq = highestModseq
    }
}

/// A search as a tree (RFC 3501 §6.4.4, with sequence numbers and `RECENT` already turned into
/// UID sets by the gateway). In JSON each node is an object with exactly one member, named
/// after the key: `{"and":[{"flag":"\\Seen"},{"not":{"header":["Subject","report"]}}]}`.
/// Text matches are case-insensitive substring matches on UTF-8 text: header fields after
/// RFC 2047 decoding, bodies after transfer decoding and charset conversion.
public indirect enum SearchQuery: Codable, Sendable, Hashable {
    /// `{"all":true}`.
    case all
    /// `{"uids":"1:5,9"}`.
    case uids(UIDSet)
    /// `{"flag":"\\Seen"}` or a keyword: the message has it.
    case flag(String)
    case not(SearchQuery)
    case and([SearchQuery])
    case or([SearchQuery])
    /// `{"header":["Subject","text"]}`: a field of that name contains the text; an empty text
    /// matches every message that has the field.
    case header(field: String, contains: String)
    /// `{"body":"text"}`: the body (of any text part) contains it.
    case body(String)
    /// `{"text":"text"}`: the header or the body contains it.
    case text(String)
    /// Internal date, by calendar day in UTC: `{"before":"2026-12-01"}`, `on`, `since`.
    case before(String)
    case on(String)
    case since(String)
    /// The `Date:` field's calendar day in its own zone; `sentBefore`, `sentOn`, `sentSince`.
    case sentBefore(String)
    case sentOn(String)
    case sentSince(String)
    /// RFC822.SIZE strictly greater / smaller: `{"larger":1000}`.
    case larger(Int64)
    case smaller(Int64)
    /// RFC 7162: modseq at least this.
    case modseq(Int64)

    /// Deepest nesting the back-end accepts (`invalid_params` beyond).
    public static let maxDepth = 32
    /// Most nodes in one query.
    public static let maxNodes = 1000

    private enum Key: String, CodingKey {
        case all, uids, flag, not, and, or, header, body, text, before, on, since
        case sentBefore, sentOn, sentSince, larger, smaller, modseq
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        guard c.allKeys.count == 1, let key = c.allKeys.first else {
            throw DecodingError.dataCorrupted(.init(codingPath: c.codingPath, debugDescription: "a search node has exactly one member"))
        }
        switch key {
        case .all: self = .all
        case .uids: self = .uids(try c.decode(UIDSet.self, forKey: key))
        case .flag: self = .flag(try c.decode(String.self, forKey: key))
        case .not: self = .not(try c.decode(SearchQuery.self, forKey: key))
        case .and: self = .and(try c.decode([SearchQuery].self, forKey: key))
        case .or: self = .or(try c.decode([SearchQuery].self, forKey: key))
        case .header:
            let pair = try c.decode([String].self, forKey: key)
            guard pair.count == 2 else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "header takes [field, text]")
            }
            self = .header(field: pair[0], contains: pair[1])
        case .body: self = .body(try c.decode(String.self, forKey: key))
        case .text: self = .text(try c.decode(String.self, forKey: key))
        case .before: self = .before(try c.decode(String.self, forKey: key))
        case .on: self = .on(try c.decode(String.self, forKey: key))
        case .since: self = .since(try c.decode(String.self, forKey: key))
        case .sentBefore: self = .sentBefore(try c.decode(String.self, forKey: key))
        case .sentOn: self = .sentOn(try c.decode(String.self, forKey: key))
        case .sentSince: self = .sentSince(try c.decode(String.self, forKey: key))
        case .larger: self = .larger(try c.decode(Int64.self, forKey: key))
        case .smaller: self = .smaller(try c.decode(Int64.self, forKey: key))
        case .modseq: self = .modseq(try c.decode(Int64.self, forKey: key))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .all: try c.encode(true, forKey: .all)
        case .uids(let s): try c.encode(s, forKey: .uids)
        case .flag(let f): try c.encode(f, forKey: .flag)
        case .not(let q): try c.encode(q, forKey: .not)
        case .and(let qs): try c.encode(qs, forKey: .and)
        case .or(let qs): try c.encode(qs, forKey: .or)
        case .header(let field, let text): try c.encode([field, text], forKey: .header)
        case .body(let t): try c.encode(t, forKey: .body)
        case .text(let t): try c.encode(t, forKey: .text)
        case .before(let d): try c.encode(d, forKey: .before)
        case .on(let d): try c.encode(d, forKey: .on)
        case .since(let d): try c.encode(d, forKey: .since)
        case .sentBefore(let d): try c.encode(d, forKey: .sentBefore)
        case .sentOn(let d): try c.encode(d, forKey: .sentOn)
        case .sentSince(let d): try c.encode(d, forKey: .sentSince)
        case .larger(let n): try c.encode(n, forKey: .larger)
        case .smaller(let n): try c.encode(n, forKey: .smaller)
        case .modseq(let n): try c.encode(n, forKey: .modseq)
        }
    }
}

public struct MessageSearchParams: Codable, Sendable {
    public var session: String
    public var mailbox: String
    public var query: SearchQuery
    /// Only UIDs above this (to continue a long answer).
    public var afterUid: UInt32?
    public init(session: String, mailbox: String, query: SearchQuery, afterUid: UInt32? = nil) {
        self.session = session
        self.mailbox = mailbox
        self.query = query
        self.afterUid = afterUid
    }
}

public struct MessageSearchResult: Codable, Sendable {
    /// The matching UIDs; absent when none.
    public var uids: UIDSet?
    public var nextAfterUid: UInt32?
    /// The mailbox's highest modseq when the search ran (RFC 7162 §3.1.5 `(MODSEQ n)`).
    public var highestModseq: Int64
    public init(uids: UIDSet?, nextAfterUid: UInt32?, highestModseq: Int64) {
        self.uids = uids
        self.nextAfterUid = nextAfterUid
        self.highestModseq = highestModseq
    }
}

public struct SubscriptionListResult: Codable, Sendable {
    /// Every subscribed name, whether or not a mailbox has it (RFC 3501 §6.3.6).
    public var names: [String]
    public init(names: [String]) { self.names = names }
}

/// RFC 5256 SORT: the messages matching `query` (all when absent) in the order of `keys`.
public struct MessageSortParams: Codable, Sendable {
    public struct Key: Codable, Sendable, Hashable {
        /// RFC 5256 §3's sort criteria.
        public enum Name: String, Codable, Sendable, CaseIterable {
            case arrival, cc, date, from, size, subject, to
        }
        public var key: Name
        public var reverse: Bool?
        public init(_ key: Name, reverse: Bool = false) {
            self.key = key
            self.reverse = reverse ? true : nil
        }
    }
    public var session: String
    public var mailbox: String
    public var keys: [Key]
    public var query: SearchQuery?
    /// The page: `offset` results skipped, at most `limit` (and 50000) given.
    public var offset: Int?
    public var limit: Int?
    public init(session: String, mailbox: String, keys: [Key], query: SearchQuery? = nil, offset: Int? = nil, limit: Int? = nil) {
        self.session = session
        self.mailbox = mailbox
        self.keys = keys
        self.query = query
        self.offset = offset
        self.limit = limit
    }
}

public struct MessageSortResult: Codable, Sendable {
    public var uids: [UInt32]
    /// How many messages matched, of which this page is `uids`.
    public var total: Int
    public var highestModseq: Int64
    public init(uids: [UInt32], total: Int, highestModseq: Int64) {
        self.uids = uids
        self.total = total
        self.highestModseq = highestModseq
    }
}

/// RFC 5256 THREAD over the messages matching `query` (all when absent).
public struct MessageThreadParams: Codable, Sendable {
    public enum Algorithm: String, Codable, Sendable {
        case orderedSubject = "orderedsubject"
        case references
    }
    public var session: String
    public var mailbox: String
    public var algorithm: Algorithm
    public var query: SearchQuery?
    /// The page, in threads: `offset` threads skipped, at most `limit` (and 10000) given.
    public var offset: Int?
    public var limit: Int?
    public init(
        session: String, mailbox: String, algorithm: Algorithm, query: SearchQuery? = nil, offset: Int? = nil, limit: Int? = nil
    ) {
        self.session = session
        self.mailbox = mailbox
        self.algorithm = algorithm
        self.query = query
        self.offset = offset
        self.limit = limit
    }
}

/// The threads as the tree's nodes in pre-order: `uids[i]` at depth `depths[i]` (0 for a
/// thread's root); uid 0 is a placeholder for a message that is not in the mailbox (RFC 5256
/// §3 step 3 keeps one only as the root of several).
public struct MessageThreadResult: Codable, Sendable {
    public var uids: [UInt32]
    public var depths: [Int]
    /// Threads in all, and where the next page starts.
    public var threads: Int
    public var nextOffset: Int?
    public var highestModseq: Int64
    public init(uids: [UInt32], depths: [Int], threads: Int, nextOffset: Int?, highestModseq: Int64) {
        self.uids = uids
        self.depths = depths
        self.threads = threads
        self.nextOffset = nextOffset
        self.highestModseq = highestModseq
    }
}
