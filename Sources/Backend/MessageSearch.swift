import Foundation
import MailCore
import MailMessage
import RPCProtocol
import Storage

#if canImport(Glibc)
    import Glibc
#endif

/// `message.search`'s query (RFC 3501 §6.4.4) made into what the store evaluates: a
/// `MessageFilter` whose cheap keys the store decides in SQL, and the tests of the keys that
/// need a message's content — header fields, sent dates, bodies — which this type runs on the
/// candidates the store hands it, reading bodies in bounded pieces.
final class MessageSearch {
    /// What a content leaf of the filter tests (`ContentLeaf.id` indexes `tests`).
    enum Test {
        case header(field: String, contains: Needle)
        case sent(Comparison, day: Int)
        case body(Needle)
        case text(Needle)
    }

    enum Comparison { case before, on, since }

    /// Cost ranks: a header or date test reads the kept header; a body test reads the body.
    static let headerCost = 1
    static let bodyCost = 10
    /// Bytes of a body read and decoded at a time.
    static let pieceBytes = 1 << 20

    let filter: MessageFilter
    private(set) var tests: [Test] = []
    /// The header of the message being decided, parsed once for all its TEXT leaves.
    private var parsedHeader: (uid: UInt32, fields: HeaderFields)?

    /// Validates the query (`invalid_params` with `field: "query"`) and plans it.
    init(_ query: SearchQuery) throws {
        var nodes = 0
        try Self.checkShape(query, depth: 1, nodes: &nodes)
        var tests: [Test] = []
        filter = try Self.filter(query, tests: &tests)
        self.tests = tests
    }

    static func invalid(_ why: String) -> RPCError {
        RPCError(.invalidParams, "invalid search query: \(why)", field: "query")
    }

    static func checkShape(_ query: SearchQuery, depth: Int, nodes: inout Int) throws {
        nodes += 1
        guard nodes <= SearchQuery.maxNodes else { throw invalid("more than \(SearchQuery.maxNodes) nodes") }
        guard depth <= SearchQuery.maxDepth else { throw invalid("nested more than \(SearchQuery.maxDepth) levels deep") }
        switch query {
        case .not(let q): try checkShape(q, depth: depth + 1, nodes: &nodes)
        case .and(let qs), .or(let qs): for q in qs { try checkShape(q, depth: depth + 1, nodes: &nodes) }
        default: break
        }
    }

    static func filter(_ query: SearchQuery, tests: inout [Test]) throws -> MessageFilter {
        func content(_ test: Test, cost: Int, hint: HeaderHint? = nil) -> MessageFilter {
            tests.append(test)
            return .content(ContentLeaf(id: tests.count - 1, cost: cost, hint: hint))
        }
        switch query {
        case .all: return .all
        case .uids(let set): return .uids(set)
        case .flag(let name):
            guard !name.hasPrefix("\\") || name.lowercased() != "\\recent" else {
                throw invalid("\\Recent is per session: the gateway passes the recent messages as uids")
            }
            guard let flags = MessageFlags(names: [name]) else { throw invalid("\(name.debugDescription) is not a flag or keyword") }
            return flags.system.isEmpty ? .keyword(flags.keywords[0]) : .systemFlags(flags.system)
        case .not(let q): return .not(try filter(q, tests: &tests))
        case .and(let qs): return .and(try qs.map { try filter($0, tests: &tests) })
        case .or(let qs): return .or(try qs.map { try filter($0, tests: &tests) })
        case .header(let field, let text):
            guard !field.isEmpty, field.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                throw invalid("\(field.debugDescription) is not a header field name")
            }
            let token = Needle.hintToken(text)
            return content(
                .header(field: field, contains: Needle(text)), cost: headerCost,
                hint: HeaderHint(everywhere: [field], unlessEncoded: token.map { [$0] } ?? []))
        case .body(let text): return content(.body(Needle(text)), cost: bodyCost)
        case .text(let text): return content(.text(Needle(text)), cost: bodyCost + headerCost)
        case .before(let date):
            return .internalDate(notBefore: nil, before: try day(date) * 86_400)
        case .on(let date):
            let start = try day(date) * 86_400
            return .internalDate(notBefore: start, before: start + 86_400)
        case .since(let date): return .internalDate(notBefore: try day(date) * 86_400, before: nil)
        case .sentBefore(let date): return content(.sent(.before, day: Int(try day(date))), cost: headerCost, hint: dateHint)
        case .sentOn(let date): return content(.sent(.on, day: Int(try day(date))), cost: headerCost, hint: dateHint)
        case .sentSince(let date): return content(.sent(.since, day: Int(try day(date))), cost: headerCost, hint: dateHint)
        case .larger(let n):
            guard n >= 0 else { throw invalid("larger than a negative size") }
            return .sizeGreater(n)
        case .smaller(let n):
            guard n >= 0 else { throw invalid("smaller than a negative size") }
            return .sizeLess(n)
        case .modseq(let n): return .modseqAtLeast(n)
        }
    }

    /// Only a message with a Date field can match a sent-date key.
    static let dateHint = HeaderHint(everywhere: ["Date"], unlessEncoded: [])

    /// `YYYY-MM-DD` as days since 1970-01-01.
    static func day(_ text: String) throws -> Int64 {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
            let number = MessageDate.dayNumber(year: year, month: month, day: day)
        else { throw invalid("\(text.debugDescription) is not a date like 2026-12-01") }
        return Int64(number)
    }

    // MARK: Deciding content leaves

    func test(_ leaf: ContentLeaf, _ message: any SearchCandidate) throws -> Bool {
        switch tests[leaf.id] {
        case .header(let field, let needle):
            for value in HeaderFields.values(named: field, inHeader: try message.header()) {
                if needle.isEmpty || needle.found(in: EncodedWord.decode(value)) { return true }
            }
            return false
        case .sent(let comparison, let day):
            // The envelope's date: the first Date field (MailMessage.Envelope), as written.
            guard let date = HeaderFields.values(named: "Date", inHeader: try message.header()).first,
                let sent = MessageDate.writtenDay(date)
            else { return false }
            switch comparison {
            case .before: return sent < day
            case .on: return sent == day
            case .since: return sent >= day
            }
        case .body(let needle):
            return try bodyContains(needle, message)
        case .text(let needle):
            if needle.isEmpty { return true }
            for field in try fields(message) where needle.found(in: field.name + ": " + EncodedWord.decode(field.value)) {
                return true
            }
            return try bodyContains(needle, message)
        }
    }

    func fields(_ message: any SearchCandidate) throws -> HeaderFields {
        if let parsedHeader, parsedHeader.uid == message.uid { return parsedHeader.fields }
        let fields = HeaderFields(parsing: try message.header())
        parsedHeader = (message.uid, fields)
        return fields
    }

    /// Whether a text part of the body holds `needle`: each `text/*` leaf, also those of
    /// attached messages, transfer-decoded and converted to UTF-8.
    func bodyContains(_ needle: Needle, _ message: any SearchCandidate) throws -> Bool {
        if needle.isEmpty { return true }
        guard let json = try message.structure(), let parts = TextPart.of(parsedMessageJSON: Data(json.utf8)) else {
            // No structure kept (only stores filled by hand): the whole body as plain text.
            return try partContains(needle, message, range: 0..<Int(message.bodySize), encoding: "7bit", charset: nil)
        }
        for part in parts where try partContains(needle, message, range: part.bodyRange, encoding: part.encoding, charset: part.charset) {
            return true
        }
        return false
    }

    /// Reads the part in pieces of `pieceBytes` and looks for the needle in the decoded,
    /// lowercased text, across the pieces too. Base64 is decoded as a stream (a quantum split
    /// between pieces carries over); other pieces are cut after a line feed, where neither a
    /// quoted-printable escape nor a character of an ASCII-compatible charset can be split.
    /// Memory stays at a piece or two however large the part. A charset that cannot be cut
    /// (UTF-16) is searched in its first piece only.
    func partContains(
        _ needle: Needle, _ message: any SearchCandidate, range: Range<Int>, encoding: String, charset: String?
    ) throws
        -> Bool
    {
        let base64 = encoding.trimmingCharacters(in: .whitespaces).lowercased() == "base64"
        var stream = TransferDecoding.Base64Stream()
        let cuttable = PartText.splitsAtLineFeeds(charset: charset)
        var offset = range.lowerBound
        var carry: [UInt8] = []
        var tail: [UInt8] = []
        while offset < range.upperBound || !carry.isEmpty {
            let want = min(Self.pieceBytes, range.upperBound - offset)
            var piece = carry
            if want > 0 { piece += try message.readBody(offset: Int64(offset), length: want) }
            offset += want
            let last = offset >= range.upperBound
            let decoded: [UInt8]
            if base64 {
                carry = []
                decoded = stream.decode(piece) + (last ? stream.finish() : [])
            } else {
                let cut = last || !cuttable ? piece.count : Self.lineCut(piece)
                carry = Array(piece[cut...])
                piece.removeSubrange(cut...)
                decoded = TransferDecoding.decode(piece, encoding: encoding) ?? piece
            }
            let text = tail + Array(PartText.decode(decoded, charset: charset).lowercased().utf8)
            if needle.found(in: text) { return true }
            tail = Array(text.suffix(max(needle.bytes.count - 1, 0)))
            if !cuttable { return false }
        }
        return false
    }

    /// After the last line feed (never inside a quoted-printable escape or soft break, nor a
    /// character of an ASCII-compatible charset); the whole piece if it has none.
    static func lineCut(_ piece: [UInt8]) -> Int {
        piece.lastIndex(of: 0x0A).map { $0 + 1 } ?? piece.count
    }
}

/// The text a search looks for, lowercased as UTF-8 bytes; matched by bytes against lowercased
/// text, which for valid UTF-8 on both sides only matches at character boundaries.
struct Needle {
    let bytes: [UInt8]
    init(_ text: String) { bytes = Array(text.lowercased().utf8) }
    var isEmpty: Bool { bytes.isEmpty }

    func found(in text: String) -> Bool { found(in: Array(text.lowercased().utf8)) }

    func found(in haystack: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return true }
        guard haystack.count >= bytes.count else { return false }
        return haystack.withUnsafeBufferPointer { h in
            bytes.withUnsafeBufferPointer { n in Self.search(h, n) }
        }
    }

    /// The first byte found with memchr, then the rest compared: linear in practice.
    static func search(_ h: UnsafeBufferPointer<UInt8>, _ n: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let hBase = h.baseAddress, let nBase = n.baseAddress else { return false }
        let first = Int32(n[0])
        let lastStart = h.count - n.count
        var i = 0
        while i <= lastStart {
            guard let found = memchr(hBase + i, first, lastStart - i + 1) else { return false }
            let at = UnsafePointer<UInt8>(found.assumingMemoryBound(to: UInt8.self)) - hBase
            if memcmp(hBase + at, nBase, n.count) == 0 { return true }
            i = at + 1
        }
        return false
    }

    /// The longest piece of `text` that must occur in a header's raw bytes, ASCII
    /// case-insensitively, for a decoded field to contain `text` — unless the field holds an
    /// encoded word: its longest run of printable ASCII without white space (folding puts line
    /// breaks only before white space), split also at the letters whose non-ASCII relatives
    /// lowercase to them (the Kelvin sign to `k`, `İ` to `i` and a dot), which the store's
    /// ASCII comparison would not see. Nil when no such piece exists.
    static func hintToken(_ text: String) -> String? {
        var best = ""
        var run = ""
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v > 0x20 && v < 0x7F && "iIkK".unicodeScalars.contains(scalar) == false {
                run.unicodeScalars.append(scalar)
            } else {
                if run.count > best.count { best = run }
                run = ""
            }
        }
        if run.count > best.count { best = run }
        return best.isEmpty ? nil : best
    }
}
