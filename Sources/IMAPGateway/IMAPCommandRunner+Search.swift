import IMAPCodec
import MailCore
import RPCProtocol

/// SEARCH (RFC 3501 §6.4.4): the client's keys become the back-end's query tree, with what
/// only this session knows (sequence numbers, `\Recent`) turned into UID sets here, and the
/// back-end evaluates it over its metadata and bodies; the gateway never reads a message for it.
extension IMAPCommandRunner {
    /// Charsets a search string may be in (§6.4.4: US-ASCII must be supported); strings go to
    /// the back-end as UTF-8.
    static let searchCharsets = ["UTF-8", "US-ASCII"]

    func search(
        charset: String?, key: IMAPSearchKey, uid: Bool, returns: IMAPSearchReturn? = nil, into out: inout ResponseWriter
    ) async throws -> IMAPCompletion {
        let current = try requireSelected()
        // RFC 5182 §2.4: a SEARCH that saves and fails leaves `$` empty.
        if returns?.save == true { selected?.saved = [] }
        if let charset, !Self.searchCharsets.contains(charset.uppercased()) {
            // RFC 3501 §7.1: BADCHARSET lists what is supported.
            throw IMAPCommandError(.no, code: "BADCHARSET (\(Self.searchCharsets.joined(separator: " ")))", "unsupported charset")
        }
        let query = try translate(key, view: current.view)
        let byModseq = Self.mentionsModseq(query)
        if byModseq { await enableCondstore(into: &out) }
        var matched: [UInt32] = []
        var after: UInt32?
        repeat {
            let result = try await client.call(
                Methods.messageSearch, MessageSearchParams(session: token, mailbox: current.name, query: query, afterUid: after))
            matched.append(contentsOf: Self.expand(result.uids))
            after = result.nextAfterUid
        } while after != nil
        // RFC 9051 §6.4.4: once IMAP4rev2 is enabled every SEARCH answers with ESEARCH, RETURN
        // (ALL) when the client named nothing.
        if let returns = returns ?? (rev2 ? IMAPSearchReturn(all: true) : nil) {
            try await writeExtended(matched, returns: returns, uid: uid, byModseq: byModseq, view: current.view, into: &out)
            return IMAPCompletion(.ok, "SEARCH completed")
        }
        // Only messages the client knows of: new arrivals are reported first (EXISTS), then found.
        var numbers: [String] = []
        numbers.reserveCapacity(matched.count)
        for found in matched {
            guard let seq = current.view.sequenceNumber(of: found) else { continue }
            numbers.append(uid ? String(found) : String(seq))
        }
        // RFC 7162 §3.1.6: the highest mod-sequence of the messages found, known before a byte
        // of the answer is written.
        let highest = byModseq && !numbers.isEmpty ? try await highestModseq(of: matched, view: current.view) : nil
        var line = "* SEARCH"
        for number in numbers {
            line += " "
            line += number
            if line.utf8.count > 64 << 10 {
                out.text(line)
                line = ""
                await emit(&out)
            }
        }
        if let highest { line += " (MODSEQ \(highest))" }
        out.line(line)
        return IMAPCompletion(.ok, "SEARCH completed")
    }

    /// RFC 4731 §3.1 `* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n] [ALL set]`, with RFC
    /// 7162 §3.1.10's `MODSEQ n`; and RFC 5182's SAVE, alone (no ESEARCH then, §2.4) or with
    /// the others (MIN and/or MAX alone save only those).
    func writeExtended(
        _ matched: [UInt32], returns: IMAPSearchReturn, uid: Bool, byModseq: Bool, view: IMAPMailboxView,
        into out: inout ResponseWriter
    ) async throws {
        let known = matched.filter { view.sequenceNumber(of: $0) != nil }
        let numbers = uid ? known : known.compactMap { view.sequenceNumber(of: $0).map(UInt32.init) }
        if returns.save {
            if (returns.min || returns.max) && !returns.all && !returns.count {
                selected?.saved = Array(Set([returns.min ? known.first : nil, returns.max ? known.last : nil].compactMap { $0 })).sorted()
            } else {
                selected?.saved = known
            }
            if !returns.min && !returns.max && !returns.all && !returns.count { return }
        }
        // A tag has no quoted-specials (RFC 3501 §9: ASTRING-CHAR), so it needs no escaping.
        var line = "* ESEARCH (TAG \"\(currentTag)\")"
        if uid { line += " UID" }
        if let first = numbers.first, returns.min { line += " MIN \(first)" }
        if let last = numbers.last, returns.max { line += " MAX \(last)" }
        if returns.count { line += " COUNT \(numbers.count)" }
        if returns.all, !numbers.isEmpty { line += " ALL \(Self.uidList(numbers.sorted()))" }
        if byModseq, !known.isEmpty { line += " MODSEQ \(try await highestModseq(of: known, view: view))" }
        out.line(line)
    }

    /// The highest modseq of the messages of `uids` the session knows, a page of summaries at
    /// a time (a whole mailbox is never held).
    func highestModseq(of uids: [UInt32], view: IMAPMailboxView) async throws -> Int64 {
        guard let name = selected?.name else { return 0 }
        var highest: Int64 = 0
        for set in IMAPMailboxView.uidSets(uids.filter { view.sequenceNumber(of: $0) != nil }) {
            var after: UInt32?
            repeat {
                let page = try await client.call(
                    Methods.messageList,
                    MessageListParams(session: token, mailbox: name, uids: set, limit: configuration.listPageSize, afterUid: after))
                for message in page.messages { highest = max(highest, message.modseq) }
                after = page.nextAfterUid
            } while after != nil
        }
        return highest
    }

    /// Whether the query has a MODSEQ key (RFC 7162 §3.1.5), which makes the session
    /// CONDSTORE-aware and the answer carry `(MODSEQ n)`.
    static func mentionsModseq(_ query: SearchQuery) -> Bool {
        switch query {
        case .modseq: true
        case .not(let inner): mentionsModseq(inner)
        case .and(let all), .or(let all): all.contains(where: mentionsModseq)
        default: false
        }
    }

    /// The query for `key` (depth and size are bounded by the parser, and again by the back-end).
    func translate(_ key: IMAPSearchKey, view: IMAPMailboxView) throws -> SearchQuery {
        func text(_ bytes: [UInt8]) throws -> String {
            guard let string = String(validating: bytes, as: UTF8.self) else {
                throw IMAPCommandError(.no, code: "BADCHARSET (\(Self.searchCharsets.joined(separator: " ")))", "the text is not UTF-8")
            }
            return string
        }
        func flag(_ name: String) -> SearchQuery { .flag(name) }
        func uids(_ list: [UInt32]) -> SearchQuery {
            let sets = IMAPMailboxView.uidSets(list)
            if sets.isEmpty { return .not(.all) }
            return sets.count == 1 ? .uids(sets[0]) : .or(sets.map { .uids($0) })
        }
        func day(_ date: IMAPDate) -> String {
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            return "\(date.year)-\(two(date.month))-\(two(date.day))"
        }
        // Only when asked for: every message of a large mailbox may be recent.
        func recent() -> SearchQuery { uids(view.recent.sorted()) }
        switch key {
        case .all: return .all
        case .answered: return flag("\\Answered")
        case .deleted: return flag("\\Deleted")
        case .draft: return flag("\\Draft")
        case .flagged: return flag("\\Flagged")
        case .seen: return flag("\\Seen")
        case .unanswered: return .not(flag("\\Answered"))
        case .undeleted: return .not(flag("\\Deleted"))
        case .undraft: return .not(flag("\\Draft"))
        case .unflagged: return .not(flag("\\Flagged"))
        case .unseen: return .not(flag("\\Seen"))
        // §6.4.4: NEW is RECENT UNSEEN; OLD is NOT RECENT.
        case .new: return .and([recent(), .not(flag("\\Seen"))])
        case .old: return .not(recent())
        case .recent: return recent()
        case .keyword(let name): return flag(name)
        case .unkeyword(let name): return .not(flag(name))
        case .bcc(let value): return .header(field: "Bcc", contains: try text(value))
        case .cc(let value): return .header(field: "Cc", contains: try text(value))
        case .from(let value): return .header(field: "From", contains: try text(value))
        case .to(let value): return .header(field: "To", contains: try text(value))
        case .subject(let value): return .header(field: "Subject", contains: try text(value))
        case .header(let field, let value): return .header(field: field, contains: try text(value))
        case .body(let value): return .body(try text(value))
        case .text(let value): return .text(try text(value))
        case .before(let date): return .before(day(date))
        case .on(let date): return .on(day(date))
        case .since(let date): return .since(day(date))
        case .sentBefore(let date): return .sentBefore(day(date))
        case .sentOn(let date): return .sentOn(day(date))
        case .sentSince(let date): return .sentSince(day(date))
        case .larger(let n): return .larger(Int64(n))
        case .smaller(let n): return .smaller(Int64(n))
        case .modseq(let n): return .modseq(n)
        case .uid(let set) where set.isSaved, .sequence(let set) where set.isSaved:
            // RFC 5182 §2.1: `$` as a search key, in either form.
            return uids((selected?.saved ?? []).filter { view.sequenceNumber(of: $0) != nil })
        case .uid(let set): return uids(view.uids(ofUIDSet: set))
        case .sequence(let set):
            guard let list = view.uids(ofSequenceSet: set) else {
                // An empty mailbox has no numbers: nothing matches rather than an error.
                if view.count == 0 { return .not(.all) }
                throw IMAPCommandError(.bad, "invalid message sequence number")
            }
            return uids(list)
        case .not(let inner): return .not(try translate(inner, view: view))
        case .or(let a, let b): return .or([try translate(a, view: view), try translate(b, view: view)])
        case .and(let keys): return .and(try keys.map { try translate($0, view: view) })
        }
    }
}
