import Foundation
import JSONCodec
import MailCore
import MailMessage
import RPCProtocol
import RPCTransport
import Storage

/// message.*: listing, reading (whole, ranged, by IMAP section), flags, copy, move, expunge
/// and append.
extension Backend {
    static let maxListPage = 5000
    /// `message.list`'s byte budget (`MessageListParams.maxBytes`): default and most. A page of
    /// it stays far below the line limit of 4 MiB.
    static let maxListBytes = 1 << 20

    func registerMessages() {
        blocking(Methods.messageList) { connection, p in
            // Version 1 carried the JSON as strings.
            let form: (JSONText?) -> JSONText? = connection.version >= 2 ? { $0 } : { $0.map(JSONText.init(quoting:)) }
            let account = try self.accountID(session: p.session)
            let box = try self.selectableMailbox(account, p.mailbox)
            let limit = min(max(p.limit ?? Self.maxListPage, 1), Self.maxListPage)
            let budget = min(max(p.maxBytes ?? Self.maxListBytes, 1), Self.maxListBytes)
            var columns: MessageColumns = []
            if p.withStructure == true || p.fields?.contains("structure") == true { columns.insert(.structure) }
            if p.fields?.contains("envelope") == true { columns.insert(.envelope) }
            let (rows, more) = try self.store.messages(
                mailboxID: box.id, uids: p.uids, changedSince: p.changedSince, afterUID: p.afterUid, limit: limit, columns: columns,
                budget: budget)
            // The store stopped near the budget by the raw text; the bound is on the encoded
            // size, escapes included, so the page may lose a few more messages here.
            var summaries: [MessageSummary] = []
            var used = 0
            for row in rows {
                let summary = MessageSummary(
                    uid: row.uid, flags: row.flags, internalDate: row.internalDate, size: row.size, modseq: row.modseq,
                    structure: form(try Self.clientStructure(row)), envelope: form(row.envelope.flatMap { JSONText(validating: $0) }))
                used += Self.encodedSizeBound(summary)
                if used > budget && !summaries.isEmpty { break }
                summaries.append(summary)
            }
            return MessageListResult(
                uidValidity: box.uidValidity, uidNext: box.uidNext, highestModseq: box.highestModseq, messages: summaries,
                nextAfterUid: more || summaries.count < rows.count ? summaries.last?.uid : nil)
        }
        blocking(Methods.messageUids) { _, p in
            let account = try self.accountID(session: p.session)
            let (box, page) = try self.store.uidPage(accountID: account, mailbox: try Self.mailboxName(p.mailbox), afterUID: p.afterUid)
            return MessageUidsResult(
                uids: page.set, nextAfterUid: page.nextAfterUID, uidNext: box.uidNext, highestModseq: box.highestModseq)
        }
        blocking(Methods.messageVanished) { _, p in
            let account = try self.accountID(session: p.session)
            guard p.sinceModseq >= 0 else { throw RPCError(.invalidParams, "sinceModseq must not be negative", field: "sinceModseq") }
            let (box, page) = try self.store.vanishedPage(
                accountID: account, mailbox: try Self.mailboxName(p.mailbox), sinceModseq: p.sinceModseq, within: p.uids,
                afterUID: p.afterUid, maxRanges: UIDSet.maxRanges)
            return MessageUidsResult(
                uids: page.set, nextAfterUid: page.nextAfterUID, uidNext: box.uidNext, highestModseq: box.highestModseq)
        }
        blocking(Methods.messageSearch) { _, p in
            let account = try self.accountID(session: p.session)
            let search = try MessageSearch(p.query)
            let (box, page) = try self.store.search(
                accountID: account, mailbox: try Self.mailboxName(p.mailbox), filter: search.filter, afterUID: p.afterUid,
                maxRanges: UIDSet.maxRanges, content: search.test)
            return MessageSearchResult(uids: page.set, nextAfterUid: page.nextAfterUID, highestModseq: box.highestModseq)
        }
        blocking(Methods.messageRead) { _, p in
            let account = try self.accountID(session: p.session)
            if p.decode == true, let part = p.part { return try self.readDecoded(account: account, p, part: part) }
            let wholeMessage = p.part == nil && (p.section ?? .full) == .full
            let message = try self.store.message(
                accountID: account, mailbox: try Self.mailboxName(p.mailbox), uid: p.uid, withStructure: !wholeMessage)
            let range = try Self.sectionRange(message, part: p.part, section: p.section ?? .full)
            return try self.read(message, range, p)
        }
        blocking(Methods.messageReadBatch) { _, p in
            let account = try self.accountID(session: p.session)
            guard p.uids.count <= MessageReadBatchParams.maxBatchMessages else {
                throw RPCError(.invalidParams, "at most \(MessageReadBatchParams.maxBatchMessages) UIDs per call", field: "uids")
            }
            let length = min(max(p.length, 0), RPCLimits.maxChunkBytes)
            // Once the answer is full, later messages are left for the next call; `missing` is
            // still complete. (One message always fits: `length` ≤ the budget.)
            let reads = try self.store.readBatch(
                accountID: account, mailbox: try Self.mailboxName(p.mailbox), uids: p.uids, length: length,
                budget: RPCLimits.maxChunkBytes)
            var chunks: [MessageChunk] = []
            var missing: [UInt32] = []
            for read in reads {
                switch read {
                case .read(let uid, let bytes, let total): chunks.append(MessageChunk(uid: uid, data: Base64Data(bytes), total: total))
                case .missing(let uid): missing.append(uid)
                case .later: break
                }
            }
            return MessageReadBatchResult(messages: chunks, missing: missing)
        }
        blocking(Methods.messageFlags) { _, p in
            let account = try self.account(session: p.session)
            let box = try self.store.mailbox(accountID: account.id, name: try Self.mailboxName(p.mailbox))
            let op: FlagOperation =
                switch p.operation {
                case .set: .set
                case .add: .add
                case .remove: .remove
                }
            let result = try self.store.changeFlags(
                mailboxID: box.id, uids: p.uids, operation: op, flags: p.flags, unchangedSince: p.unchangedSince)
            if !result.updated.isEmpty {
                self.publish(account, .flagsChanged, mailbox: box.name, uids: result.updated.map(\.uid), modseq: result.modseq)
            }
            // STORE …FLAGS.SILENT: the change and its event as always, only the answer is short.
            let updated = p.silent == true ? [] : result.updated.map { FlagUpdate(uid: $0.uid, flags: $0.flags, modseq: $0.modseq) }
            let unchanged =
                p.unchangedSince == nil || p.silent == true
                ? nil : result.unchanged.map { FlagUpdate(uid: $0.uid, flags: $0.flags, modseq: $0.modseq) }
            return MessageFlagsResult(
                updated: updated, skipped: result.skipped, modseq: result.updated.isEmpty ? nil : result.modseq, unchanged: unchanged)
        }
        blocking(Methods.messageCopy) { _, p in try self.copy(p, move: false) }
        blocking(Methods.messageMove) { _, p in try self.copy(p, move: true) }
        blocking(Methods.messageExpunge) { _, p in
            let account = try self.account(session: p.session)
            let box = try self.store.mailbox(accountID: account.id, name: try Self.mailboxName(p.mailbox))
            let result = try self.store.expunge(
                accountID: account.id, mailboxID: box.id, uids: p.uids, regardlessOfFlags: p.regardlessOfFlags ?? false)
            if !result.uids.isEmpty {
                self.publish(account, .messageExpunged, mailbox: box.name, uids: result.uids, modseq: result.modseq)
            }
            return MessageExpungeResult(expunged: result.uids, modseq: result.modseq)
        }
        blocking(Methods.messageAppend) { connection, p in
            let account = try self.account(session: p.session)
            let name = try Self.mailboxName(p.mailbox)
            _ = try self.selectableMailbox(account.id, p.mailbox)
            let max = try self.effectiveMaxMessage(account)
            try self.checkFreeSpace(for: p.size ?? 0)
            if let size = p.size {
                if size > max { throw RPCError(.tooBig, "message of \(size) bytes exceeds the limit of \(max) bytes") }
                if account.quotaBytes > 0 && account.usedBytes + size > account.quotaBytes {
                    throw RPCError(
                        .quotaExceeded, "mailbox full: \(account.usedBytes) of \(account.quotaBytes) bytes used", temporary: true)
                }
            }
            return try self.beginUpload(
                purpose: .append(
                    accountID: account.id, mailbox: name.value, flags: p.flags ?? MessageFlags(), internalDate: p.internalDate),
                maxBytes: max, prefix: [], announcedSize: p.size, connection: connection)
        }
    }

    func copy(_ p: MessageCopyParams, move: Bool) throws -> MessageCopyResult {
        let account = try account(session: p.session)
        let source = try store.mailbox(accountID: account.id, name: try Self.mailboxName(p.mailbox))
        let target = try Self.mailboxName(p.to, field: "to")
        let result = try store.copy(accountID: account.id, from: source.id, uids: p.uids, to: target.value, move: move)
        if !result.created.isEmpty {
            publish(account, .messageAdded, mailbox: result.target.name, uids: result.created, modseq: result.target.highestModseq)
        }
        if let modseq = result.expungeModseq {
            publish(account, .messageExpunged, mailbox: source.name, uids: result.source, modseq: modseq)
        }
        return MessageCopyResult(
            uidValidity: result.target.uidValidity, sourceUids: result.source, targetUids: result.created,
            sourceModseq: result.expungeModseq)
    }

    /// At least the bytes `summary` takes in the answer's JSON (with its comma): the fixed
    /// members at their longest, and each string as JSON escapes it at worst.
    static func encodedSizeBound(_ summary: MessageSummary) -> Int {
        // {"uid":4294967295,"flags":[],"internalDate":…,"size":…,"modseq":…} with 20-digit numbers.
        var size = 128
        for name in summary.flags.names { size += jsonStringBound(name) + 1 }
        if let structure = summary.structure { size += 16 + structure.bytes.count }
        if let envelope = summary.envelope { size += 16 + envelope.bytes.count }
        return size
    }

    /// The length of `text` as a JSON string, quotes included, when every character that may be
    /// escaped is: `"`, `\` and `/` take two bytes, other control characters six.
    static func jsonStringBound(_ text: String) -> Int {
        var text = text
        return text.withUTF8 { buffer in
            var size = 2 + buffer.count
            for byte in buffer {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): size += 1
                case 0..<0x20: size += 5
                default: break
                }
            }
            return size
        }
    }

    /// The message's structure as clients see it, offsets from the start of the message: the
    /// store keeps the body's (shared by copies with different prefixes). Nil if not asked for.
    static func clientStructure(_ message: MessageRecord) throws -> JSONText? {
        guard let json = message.structure else { return nil }
        if message.prefixLength == 0 { return JSONText(validating: json) }
        var reader = JSONReader(try parsedStructure(message).jsonBytes)
        return try JSONText(json: &reader)
    }

    /// `message.read` with `decode` (IMAP BINARY, RFC 3516 §4.1): the body of part `part`,
    /// decoded from its Content-Transfer-Encoding; offsets and the total count decoded bytes.
    func readDecoded(account: Int64, _ p: MessageReadParams, part: String) throws -> MessageReadResult {
        guard (p.section ?? .full) == .full else {
            throw RPCError(.invalidParams, "decode reads a part's whole body: no section", field: "section")
        }
        let message = try store.message(accountID: account, mailbox: try Self.mailboxName(p.mailbox), uid: p.uid, withStructure: true)
        let node = try Self.partNode(try Self.parsedStructure(message), part: part)
        // RFC 9051 §6.4.5: BINARY is for leaf parts only.
        let type = node.type.lowercased()
        guard type != "multipart", !(type == "message" && node.embeddedBody != nil) else {
            throw RPCError(
                .invalidParams, "part \(part) is a multipart or an encapsulated message: decode is for leaf parts", field: "part")
        }
        let range = node.bodyRange
        // 7bit, 8bit, binary: the bytes are the decoded bytes.
        if Self.isIdentity(node.encoding) { return try read(message, range, p) }
        let (offset, length) = Self.window(p)
        let key = DecodedParts.Key(
            digest: try store.bodyDigest(message), start: range.lowerBound - message.prefixLength, count: range.count,
            text: type == "text")
        let (bytes, total) = try decodedParts.read(key, encoding: node.encoding, offset: offset, length: length) { at, count in
            try self.store.read(message, offset: Int64(range.lowerBound + at), length: count)
        }
        return MessageReadResult(data: Base64Data(bytes), total: total, offset: min(offset, total))
    }

    /// `message.read`'s window (`offset`, `length`) of `range` within the stored message.
    func read(_ message: MessageRecord, _ range: Range<Int>, _ p: MessageReadParams) throws -> MessageReadResult {
        let (offset, length) = Self.window(p)
        let total = Int64(range.count)
        let start = Int64(range.lowerBound) + min(offset, total)
        let count = Int(min(Int64(length), total - min(offset, total)))
        let bytes = count > 0 ? try store.read(message, offset: start, length: count) : []
        return MessageReadResult(data: Base64Data(bytes), total: total, offset: min(offset, total))
    }

    /// The offset asked for (not negative) and the length (0 to one chunk, one chunk by default).
    static func window(_ p: MessageReadParams) -> (offset: Int64, length: Int) {
        (max(p.offset ?? 0, 0), min(max(p.length ?? RPCLimits.maxChunkBytes, 0), RPCLimits.maxChunkBytes))
    }

    /// The structure keeps the encoding uppercased, "7BIT" when absent.
    static func isIdentity(_ encoding: String) -> Bool {
        ["", "7BIT", "8BIT", "BINARY"].contains(encoding)
    }

    /// The part at an IMAP section number (`"1.2"`).
    static func partNode(_ parsed: ParsedMessage, part: String) throws -> BodyStructure {
        let path = part.split(separator: ".", omittingEmptySubsequences: false).map { Int($0) ?? 0 }
        guard path.count <= 64, path.allSatisfy({ $0 > 0 }) else {
            throw RPCError(.invalidParams, "part must be dot-separated positive numbers, like 1.2", field: "part")
        }
        guard let node = parsed.part(at: path) else { throw RPCError(.noSuchPart, "the message has no part \(part)") }
        return node
    }

    static func parsedStructure(_ message: MessageRecord) throws -> ParsedMessage {
        guard let json = message.structure, let parsed = try? ParsedMessage(jsonBytes: Array(json.utf8)) else {
            throw RPCError(.noSuchPart, "the message's structure is not available")
        }
        return parsed.afterPrefix(message.prefixLength)
    }

    /// The byte range of an IMAP section (RFC 3501 §6.4.5) within the stored message, from the
    /// structure cached at delivery.
    static func sectionRange(_ message: MessageRecord, part: String?, section: MessageReadParams.Section) throws -> Range<Int> {
        let size = Int(message.size)
        if part == nil && section == .full { return 0..<size }
        let parsed = try parsedStructure(message)
        guard let part, !part.isEmpty else {
            switch section {
            case .full: return 0..<size
            case .header: return parsed.headerRange
            case .text: return parsed.bodyRange
            case .mime: throw RPCError(.invalidParams, "MIME needs a part number", field: "section")
            }
        }
        let node = try partNode(parsed, part: part)
        switch section {
        case .full: return node.bodyRange
        case .mime: return node.headerRange
        case .header, .text:
            guard let embedded = node.embeddedBody else {
                throw RPCError(.noSuchPart, "part \(part) is not an encapsulated message, so it has no HEADER or TEXT")
            }
            return section == .header ? embedded.headerRange : embedded.bodyRange
        }
    }
}
