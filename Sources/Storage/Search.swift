import Foundation
import GRDB
public import MailCore

/// Which messages of a mailbox a search wants (IMAP SEARCH, RFC 3501 §6.4.4), as the store
/// can decide it: flags, keywords, UIDs, sizes, dates and modseqs are decided in SQL; a
/// `content` leaf is decided by the caller from the message itself (its header, its body),
/// which needs parsing the store does not do.
public indirect enum MessageFilter: Sendable, Hashable {
    case all
    case uids(UIDSet)
    /// Every one of these system flags is set.
    case systemFlags(MessageFlags.System)
    /// The keyword is set, compared case-insensitively (keywords are ASCII atoms).
    case keyword(String)
    /// The internal date (seconds) is at least `notBefore` and less than `before`.
    case internalDate(notBefore: Int64?, before: Int64?)
    case sizeGreater(Int64)
    case sizeLess(Int64)
    case modseqAtLeast(Int64)
    case not(MessageFilter)
    case and([MessageFilter])
    case or([MessageFilter])
    /// Decided by the caller's test for this leaf (`MessageStore.search`).
    case content(ContentLeaf)

    /// Whether a `content` leaf is in the tree.
    var needsContent: Bool {
        switch self {
        case .content: true
        case .not(let f): f.needsContent
        case .and(let fs), .or(let fs): fs.contains { $0.needsContent }
        default: false
        }
    }
}

/// A leaf of a `MessageFilter` the caller decides. `cost` orders the leaves of one `and` or
/// `or` (cheapest first, so a header test runs before a body test and the body is read only
/// when the rest did not decide); `hint` lets the store drop messages that cannot match before
/// the caller sees them.
public struct ContentLeaf: Sendable, Hashable {
    public var id: Int
    public var cost: Int
    public var hint: HeaderHint?
    public init(id: Int, cost: Int, hint: HeaderHint? = nil) {
        self.id = id
        self.cost = cost
        self.hint = hint
    }
}

/// What a message's header bytes must hold for a content leaf to match — a necessary condition
/// only, which the store checks cheaply (ASCII case-insensitively) before the caller's exact
/// test: every one of `everywhere` occurs, and every one of `unlessEncoded` occurs unless the
/// header holds an RFC 2047 encoded word (`=?`), whose text is not in the bytes as such.
public struct HeaderHint: Sendable, Hashable {
    public var everywhere: [String]
    public var unlessEncoded: [String]
    public init(everywhere: [String], unlessEncoded: [String]) {
        self.everywhere = everywhere
        self.unlessEncoded = unlessEncoded
    }
}

/// A message a search's content test looks at. Everything is read when asked for, once.
public protocol SearchCandidate {
    var uid: UInt32 { get }
    /// Bytes of the body (the prefix not counted).
    var bodySize: Int64 { get }
    /// The message's header block as clients see it — the prefix (its Return-Path), then the
    /// body's header — of at most `SQLiteStore.maxSearchHeaderBytes` bytes. It may run past
    /// the blank line into the body when the store kept no header of its own: parse it up to
    /// the blank line.
    func header() throws -> [UInt8]
    /// The parsed body (`MailMessage.ParsedMessage` JSON, offsets relative to the body).
    func structure() throws -> String?
    /// `length` bytes (fewer at the end) at `offset` of the body.
    func readBody(offset: Int64, length: Int) throws -> [UInt8]
}

extension SQLiteStore {
    /// At most this many header bytes of a message are searched (the kept header block of a
    /// body is at most `Schema.maxStoredHeaderBytes`).
    public static let maxSearchHeaderBytes = Schema.maxStoredHeaderBytes + 4096

    public func search(
        accountID: Int64, mailbox: MailboxName, filter: MessageFilter, afterUID: UInt32?, maxRanges: Int,
        content test: (ContentLeaf, any SearchCandidate) throws -> Bool
    ) throws -> (mailbox: MailboxRecord, uids: UIDPage) {
        try read { db in
            let box = try fetchSelectableMailbox(db, accountID: accountID, name: mailbox.value)
            let largest = try largestUID(db, mailboxID: box.id)
            var compiler = FilterCompiler(mailboxID: box.id, largest: largest)
            let after = Int64(afterUID ?? 0)
            guard filter.needsContent else {
                // All in SQL: the matching UIDs in order, folded into runs as they come.
                let (clause, args) = compiler.sql(filter)
                let uids = try Int64.fetchCursor(
                    db, sql: "SELECT m.uid FROM message m WHERE m.mailbox_id = ? AND m.uid > ? AND \(clause) ORDER BY m.uid",
                    arguments: StatementArguments([box.id, after] + args))
                var page = UIDPageBuilder(maxRanges: maxRanges)
                while let uid = try uids.next() {
                    if !page.add(UInt32(truncatingIfNeeded: uid)) { break }
                }
                return (box, page.page)
            }
            // Candidates: the rows the cheap part of the filter and the header hints leave, in
            // UID order; each is decided in Swift, SQL-decided subtrees read from columns.
            let (prefilter, prefilterArgs) = compiler.prefilter(filter)
            let plan = compiler.plan(filter)
            let columns = compiler.columns.enumerated().map { "(\($1.sql)) AS c\($0)" }
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT m.uid, m.blob_id, m.prefix, m.size - coalesce(length(m.prefix), 0) AS body_size, h.data AS header
                    \(columns.isEmpty ? "" : ", " + columns.joined(separator: ", "))
                    FROM message m LEFT JOIN body_header h ON h.blob_id = m.blob_id
                    WHERE m.mailbox_id = ? AND m.uid > ? AND \(prefilter)
                    ORDER BY m.uid
                    """,
                arguments: StatementArguments(compiler.columns.flatMap(\.args) + [box.id, after] + prefilterArgs))
            var page = UIDPageBuilder(maxRanges: maxRanges)
            while let row = try rows.next() {
                let candidate = SQLiteSearchCandidate(store: self, db: db, row: row)
                let values = (0..<compiler.columns.count).map { row[SQLiteSearchCandidate.columns + $0] as Bool? ?? false }
                guard try plan.evaluate(values: values, content: { try test($0, candidate) }) else { continue }
                if !page.add(candidate.uid) { break }
            }
            return (box, page.page)
        }
    }
}

/// A candidate row of `SQLiteStore.search`, valid inside its read transaction.
final class SQLiteSearchCandidate: SearchCandidate {
    let store: SQLiteStore
    let db: Database
    let uid: UInt32
    let bodySize: Int64
    let blobID: Int64
    let prefix: [UInt8]
    let storedHeader: [UInt8]?
    private var cachedHeader: [UInt8]?
    private var cachedStructure: String??

    /// The candidate query's first columns, read by position (a name costs a look-up per row).
    static let columns = 5

    init(store: SQLiteStore, db: Database, row: Row) {
        self.store = store
        self.db = db
        uid = row[0]
        blobID = row[1]
        prefix = (row[2] as Data?).map { [UInt8]($0) } ?? []
        bodySize = row[3]
        storedHeader = (row[4] as Data?).map { [UInt8]($0) }
    }

    func header() throws -> [UInt8] {
        if let cachedHeader { return cachedHeader }
        let header: [UInt8]
        if let storedHeader {
            header = prefix + storedHeader
        } else {
            // A body stored before v4 or without a structure: its first bytes, which the
            // caller parses up to the blank line.
            let length = Int(min(bodySize, Int64(Schema.maxStoredHeaderBytes)))
            header = prefix + (try readBody(offset: 0, length: length))
        }
        cachedHeader = header
        return header
    }

    /// The body's bytes when they are inline, read with the structure: a body search needs
    /// both, and one statement is cheaper than two.
    private var inlineBody: Data?

    func structure() throws -> String? {
        if let cachedStructure { return cachedStructure }
        let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT structure, data FROM body WHERE blob_id = ?"), arguments: [blobID])
        let json: String? = row?["structure"]
        inlineBody = row?["data"]
        cachedStructure = .some(json)
        return json
    }

    func readBody(offset: Int64, length: Int) throws -> [UInt8] {
        guard offset < bodySize, length > 0 else { return [] }
        let count = Int(min(Int64(length), bodySize - offset))
        if let inlineBody, inlineBody.count == Int(bodySize) {
            let start = inlineBody.startIndex + Int(offset)
            return [UInt8](inlineBody[start..<start + count])
        }
        return try store.readBytes(db, blobID: blobID, prefix: [], offset: offset, length: count)
    }
}

/// A filter turned into SQL over `message m` (joined with `body_header h`), and a plan for
/// deciding the rest in Swift.
struct FilterCompiler {
    let mailboxID: Int64
    let largest: UInt32
    /// The SQL-decided subtrees a plan reads, as selected columns.
    private(set) var columns: [(sql: String, args: [any DatabaseValueConvertible])] = []

    init(mailboxID: Int64, largest: UInt32) {
        self.mailboxID = mailboxID
        self.largest = largest
    }

    /// The SQL for a filter without content leaves.
    func sql(_ filter: MessageFilter) -> (String, [any DatabaseValueConvertible]) {
        switch filter {
        case .all: return ("1", [])
        case .uids(let set):
            // Its bare `uid` is m.uid: no other table of the query has one.
            return SQLiteStore.uidClause(set, mailboxID: mailboxID, largest: largest)
        case .systemFlags(let flags): return ("(m.flags & \(flags.rawValue)) = \(flags.rawValue)", [])
        case .keyword(let word):
            return ("instr(' ' || lower(coalesce(m.keywords, '')) || ' ', ?) > 0", [" " + word.lowercased() + " "])
        case .internalDate(let notBefore, let before):
            var parts: [String] = []
            var args: [any DatabaseValueConvertible] = []
            if let notBefore {
                parts.append("m.internal_date >= ?")
                args.append(notBefore)
            }
            if let before {
                parts.append("m.internal_date < ?")
                args.append(before)
            }
            return (parts.isEmpty ? "1" : "(" + parts.joined(separator: " AND ") + ")", args)
        case .sizeGreater(let n): return ("m.size > ?", [n])
        case .sizeLess(let n): return ("m.size < ?", [n])
        case .modseqAtLeast(let n): return ("m.modseq >= ?", [n])
        case .not(.systemFlags(let flags)) where flags.rawValue.nonzeroBitCount == 1:
            // Written as the partial index `message_unseen` is, so UNSEEN reads only those.
            return ("(m.flags & \(flags.rawValue)) = 0", [])
        case .not(let f):
            let (clause, args) = sql(f)
            return ("NOT \(clause)", args)
        case .and(let fs): return Self.balanced(fs.map(sql), joiner: "AND", empty: "1")
        case .or(let fs): return Self.balanced(fs.map(sql), joiner: "OR", empty: "0")
        case .content: return ("1", [])
        }
    }

    /// A necessary condition for the filter, in SQL: what the candidate query keeps.
    func prefilter(_ filter: MessageFilter) -> (String, [any DatabaseValueConvertible]) {
        guard filter.needsContent else { return sql(filter) }
        switch filter {
        case .content(let leaf): return leaf.hint.map(Self.hintSQL) ?? ("1", [])
        case .and(let fs): return Self.balanced(fs.map(prefilter), joiner: "AND", empty: "1")
        case .or(let fs): return Self.balanced(fs.map(prefilter), joiner: "OR", empty: "0")
        // NOT of something only Swift decides can exclude nothing in advance.
        default: return ("1", [])
        }
    }

    /// `(h.data IS NULL OR …)`: a body without a kept header is always a candidate.
    static func hintSQL(_ hint: HeaderHint) -> (String, [any DatabaseValueConvertible]) {
        var parts: [String] = []
        var args: [any DatabaseValueConvertible] = []
        func contains(_ text: String) -> String {
            args.append(likePattern(text))
            args.append(likePattern(text))
            // LIKE reads a BLOB as no text at all: the bytes are cast (as UTF-8, unchecked).
            return "(CAST(h.data AS TEXT) LIKE ? ESCAPE '\\' OR CAST(coalesce(m.prefix, x'') AS TEXT) LIKE ? ESCAPE '\\')"
        }
        // The text's word first: it is rarer than a field name, and SQLite stops an AND at the
        // first false term.
        for text in hint.unlessEncoded where !text.isEmpty { parts.append("(instr(h.data, x'3d3f') > 0 OR \(contains(text)))") }
        for text in hint.everywhere where !text.isEmpty { parts.append(contains(text)) }
        guard !parts.isEmpty else { return ("1", []) }
        return ("(h.data IS NULL OR (" + parts.joined(separator: " AND ") + "))", args)
    }

    /// `%text%` with LIKE's own characters escaped.
    static func likePattern(_ text: String) -> String {
        var out = "%"
        for c in text {
            if c == "%" || c == "_" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out + "%"
    }

    /// `a AND b AND c …` nested as a balanced tree, so that a list of 1000 stays far below
    /// SQLite's expression depth limit (SQLITE_MAX_EXPR_DEPTH, 1000).
    static func balanced(
        _ parts: [(String, [any DatabaseValueConvertible])], joiner: String, empty: String
    ) -> (String, [any DatabaseValueConvertible]) {
        switch parts.count {
        case 0: return (empty, [])
        case 1: return ("(\(parts[0].0))", parts[0].1)
        default:
            let left = balanced(Array(parts[..<(parts.count / 2)]), joiner: joiner, empty: empty)
            let right = balanced(Array(parts[(parts.count / 2)...]), joiner: joiner, empty: empty)
            return ("(\(left.0) \(joiner) \(right.0))", left.1 + right.1)
        }
    }

    /// The Swift side: SQL-decided subtrees become columns, the rest a tree over them.
    mutating func plan(_ filter: MessageFilter) -> SearchPlan {
        guard filter.needsContent else {
            columns.append(sql(filter))
            return .column(columns.count - 1)
        }
        switch filter {
        case .content(let leaf): return .content(leaf)
        case .not(let f): return .not(plan(f))
        case .and(let fs): return .and(fs.map { plan($0) }.sorted { $0.cost < $1.cost })
        case .or(let fs): return .or(fs.map { plan($0) }.sorted { $0.cost < $1.cost })
        default: return .column(-1)  // unreachable: every other case needs no content
        }
    }
}

/// How a candidate is decided: columns the query computed, content leaves the caller tests,
/// cheapest first in each `and` and `or`, which stop as soon as they know.
indirect enum SearchPlan {
    case column(Int)
    case content(ContentLeaf)
    case not(SearchPlan)
    case and([SearchPlan])
    case or([SearchPlan])

    var cost: Int {
        switch self {
        case .column: 0
        case .content(let leaf): leaf.cost
        case .not(let p): p.cost
        case .and(let ps), .or(let ps): ps.map(\.cost).max() ?? 0
        }
    }

    func evaluate(values: [Bool], content: (ContentLeaf) throws -> Bool) throws -> Bool {
        switch self {
        case .column(let i): return i >= 0 && values[i]
        case .content(let leaf): return try content(leaf)
        case .not(let p): return !(try p.evaluate(values: values, content: content))
        case .and(let ps):
            for p in ps where !(try p.evaluate(values: values, content: content)) { return false }
            return true
        case .or(let ps):
            for p in ps where try p.evaluate(values: values, content: content) { return true }
            return false
        }
    }
}
