import MailCore
import MailMessage
import RPCProtocol
import RPCTransport
import Storage

/// message.sort and message.thread (RFC 5256): the search, then the order, in the back-end, so
/// a gateway never reads a header for them. Sort keys are made from a body's header the first
/// time a SORT or THREAD meets it and kept (`body_sort`); deliveries do not pay for them.
extension Backend {
    static let maxSortPage = 50_000
    static let maxThreadPage = 10_000

    func registerSorting() {
        blocking(Methods.messageSort) { _, p in
            guard !p.keys.isEmpty else { throw RPCError(.invalidParams, "at least one sort key", field: "keys") }
            let columns = p.keys.reduce(into: SortColumns()) { columns, key in
                switch key.key {
                case .subject: columns.insert(.subject)
                case .from, .to, .cc: columns.insert(.addresses)
                case .arrival, .date, .size: break
                }
            }
            let (box, threading) = try self.threading(session: p.session, mailbox: p.mailbox, query: p.query, columns: columns)
            let order = threading.sorted(by: p.keys.map { ($0.key, $0.reverse ?? false) })
            let (offset, limit) = try Self.page(p.offset, p.limit, max: Self.maxSortPage)
            let page = offset < order.count ? Array(order[offset..<min(order.count, offset + limit)]) : []
            return MessageSortResult(uids: page, total: order.count, highestModseq: box.highestModseq)
        }
        blocking(Methods.messageThread) { _, p in
            let (box, threading) = try self.threading(
                session: p.session, mailbox: p.mailbox, query: p.query, columns: [.subject, .references])
            let forest = p.algorithm == .references ? threading.references() : threading.orderedSubject()
            let (offset, limit) = try Self.page(p.offset, p.limit, max: Self.maxThreadPage)
            var uids: [UInt32] = []
            var depths: [Int] = []
            let end = min(forest.count, offset + limit)
            if offset < end {
                for thread in forest[offset..<end] {
                    for node in thread {
                        uids.append(node.message.map { threading.messages[$0].uid } ?? 0)
                        depths.append(node.depth)
                    }
                }
            }
            return MessageThreadResult(
                uids: uids, depths: depths, threads: forest.count, nextOffset: end < forest.count ? end : nil,
                highestModseq: box.highestModseq)
        }
    }

    static func page(_ offset: Int?, _ limit: Int?, max: Int) throws -> (Int, Int) {
        let offset = offset ?? 0
        let limit = limit ?? max
        guard offset >= 0 else { throw RPCError(.invalidParams, "offset must not be negative", field: "offset") }
        guard (1...max).contains(limit) else { throw RPCError(.invalidParams, "limit must be 1 to \(max)", field: "limit") }
        return (offset, limit)
    }

    /// The mailbox's messages that match `query`, with their keys; keys made now are kept.
    func threading(
        session: String, mailbox: String, query: SearchQuery?, columns: SortColumns
    ) throws -> (MailboxRecord, Threading) {
        let account = try accountID(session: session)
        let name = try Self.mailboxName(mailbox)
        var matched: Set<UInt32>?
        // ALL (what clients send most) needs no search.
        if let query, query != .all {
            let search = try MessageSearch(query)
            var found = Set<UInt32>()
            var after: UInt32?
            repeat {
                let (_, page) = try store.search(
                    accountID: account, mailbox: name, filter: search.filter, afterUID: after, maxRanges: UIDSet.maxRanges,
                    content: search.test)
                for range in page.ranges { found.formUnion(range) }
                after = page.nextAfterUID
            } while after != nil
            matched = found
        }
        let (box, rows) = try store.sortRows(accountID: account, mailbox: name, columns: columns)
        var made: [(blobID: Int64, keys: SortKeys)] = []
        var messages: [Threading.Message] = []
        messages.reserveCapacity(matched?.count ?? rows.count)
        for (seq, row) in rows.enumerated() {
            let keys: SortKeys
            if let kept = row.keys {
                keys = kept
            } else {
                keys = SortKeys(header: row.header ?? [])
                made.append((row.blobID, keys))
            }
            if let matched, !matched.contains(row.uid) { continue }
            messages.append(Threading.Message(uid: row.uid, seq: seq, internalDate: row.internalDate, size: row.size, keys: keys))
        }
        // Best effort: a failure here only means the keys are made again next time.
        try? store.saveSortKeys(made)
        return (box, Threading(messages: messages))
    }
}
