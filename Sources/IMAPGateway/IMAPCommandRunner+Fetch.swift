import Foundation
import IMAPCodec
import JSONCodec
import MailCore
import MailMessage
import NIOCore
import RPCProtocol
import RPCTransport

/// FETCH (RFC 3501 §6.4.5, §7.4.2): the metadata from `message.list` a page at a time, bodies
/// and sections from `message.read` (the start of whole messages of a page in one
/// `message.read_batch`), literals streamed in chunks so a large message never sits whole in
/// the gateway.
extension IMAPCommandRunner {
    func fetch(
        _ set: IMAPSequenceSet, _ requested: [IMAPFetchAttribute], uid: Bool, modifiers: IMAPFetchModifiers = IMAPFetchModifiers(),
        into out: inout ResponseWriter
    ) async throws
        -> IMAPCompletion
    {
        let current = try requireSelected()
        let uids = try resolve(set, uid: uid)
        var attributes = requested
        // RFC 3501 §6.4.8: UID FETCH always returns the UID.
        if uid, !attributes.contains(.uid) { attributes.insert(.uid, at: 0) }
        if let since = modifiers.changedSince {
            // RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ; §3.2.6: VANISHED (EARLIER)
            // for the UIDs of the set that went since, before the FETCH responses.
            if !attributes.contains(.modseq) { attributes.append(.modseq) }
            if modifiers.vanished {
                guard qresync else { throw IMAPCommandError(.bad, "VANISHED needs QRESYNC enabled") }
                try await writeVanished(since: since, within: Self.uidSet(set), into: &out)
            }
        }
        let plan = FetchPlan(attributes, readOnly: current.view.readOnly)
        // The next page is asked for before this one is written, so the back-end reads it while
        // the gateway encodes (the two took turns, each idle half the time).
        var pages = PageAhead(
            client: client, batches: IMAPMailboxView.uidSets(uids),
            template: MessageListParams(
                session: token, mailbox: current.name, withStructure: plan.needsStructure ? true : nil,
                changedSince: modifiers.changedSince, limit: configuration.listPageSize, fields: plan.fields))
        defer { pages.cancel() }
        while let page = try await pages.next() {
            var messages = page.messages
            var justSeen = Set<UInt32>()
            // A BINARY that will fail does so before `\Seen` is set on anything of the page.
            if plan.checksBinaryParts { try Self.checkBinaryParts(plan.attributes, of: messages) }
            if plan.setsSeen { (messages, justSeen) = try await markSeen(messages, in: current.name) }
            var firstBytes =
                plan.readsWholeMessages
                ? BodiesAhead(
                    client: client, uids: messages.map(\.uid),
                    template: MessageReadBatchParams(session: token, mailbox: current.name, uids: [], length: configuration.readChunkBytes))
                : nil
            defer { firstBytes?.cancel() }
            let structures: [ParsedMessage?] =
                plan.needsStructure ? Self.decodeAll(messages.map(\.structure), as: ParsedMessage.self) : []
            let envelopes: [Envelope?] =
                plan.needsEnvelope && !plan.needsStructure ? Self.decodeAll(messages.map(\.envelope), as: Envelope.self) : []
            for (index, message) in messages.enumerated() {
                // The client went away: stop reading messages for nobody.
                if closed { throw IMAPCommandError(.no, "the connection closed") }
                guard let seq = selected?.view.sequenceNumber(of: message.uid) else { continue }
                let parsed = structures.isEmpty ? nil : structures[index]
                let envelope = parsed?.envelope ?? (envelopes.isEmpty ? nil : envelopes[index])
                try await write(
                    message, seq: seq, plan, parsed: parsed, envelope: envelope, in: current.name,
                    prefetched: await firstBytes?.chunk(for: message.uid), seenJustSet: justSeen.contains(message.uid),
                    into: &out)
                await emit(&out)
            }
        }
        if literalShortfall {
            literalShortfall = false
            return IMAPCompletion(.no, code: "SERVERBUG", "a message could not be read completely; it was padded")
        }
        return IMAPCompletion(.ok, "FETCH completed")
    }

    /// §6.4.5: fetching a body section without .PEEK sets `\Seen`; the FETCH then reports the
    /// new FLAGS too (§7.4.2).
    func markSeen(_ messages: [MessageSummary], in mailbox: String) async throws -> ([MessageSummary], Set<UInt32>) {
        let unseen = messages.filter { !$0.flags.system.contains(.seen) }.map(\.uid)
        guard !unseen.isEmpty else { return (messages, []) }
        var flags: [UInt32: (flags: MessageFlags, modseq: Int64)] = [:]
        for set in IMAPMailboxView.uidSets(unseen) {
            let result = try await client.call(
                Methods.messageFlags,
                MessageFlagsParams(session: token, mailbox: mailbox, uids: set, operation: .add, flags: MessageFlags(system: .seen)))
            if let modseq = result.updated.first?.modseq { selected?.ownModseqs.insert(modseq) }
            for update in result.updated { flags[update.uid] = (update.flags, update.modseq) }
        }
        let changed = messages.map { message in
            var changed = message
            if let new = flags[message.uid] {
                changed.flags = new.flags
                changed.modseq = new.modseq
            }
            return changed
        }
        return (changed, Set(flags.keys))
    }

    func write(
        _ message: MessageSummary, seq: Int, _ plan: FetchPlan, parsed: ParsedMessage?, envelope: Envelope?, in mailbox: String,
        prefetched: MessageChunk?, seenJustSet: Bool, into out: inout ResponseWriter
    ) async throws {
        // BINARY's first read comes before anything of this message is written: a part that
        // cannot be decoded fails the command (RFC 3516 §4.3) between whole responses.
        var decoded: [Int: MessageChunk] = [:]
        for (index, attribute) in plan.attributes.enumerated() {
            switch attribute {
            case .binary(let part, let partial, _):
                let length = partial.map { min(Int($0.length), configuration.readChunkBytes) } ?? configuration.readChunkBytes
                decoded[index] = try await firstDecoded(
                    message, part: part, offset: Int64(partial?.offset ?? 0), length: length, in: mailbox)
            case .binarySize(let part) where !part.isEmpty:
                decoded[index] = try await firstDecoded(message, part: part, offset: 0, length: 0, in: mailbox)
            default: break
            }
        }
        var first = true
        func separator() -> String {
            defer { first = false }
            return first ? "" : " "
        }
        // The small items straight into the buffer: interpolated strings for each were a good
        // part of a FETCH over a whole mailbox.
        out.buffer.writeStaticString("* ")
        out.buffer.writeString(String(seq))
        out.buffer.writeStaticString(" FETCH (")
        var flagsWritten = false
        for (attributeIndex, attribute) in plan.attributes.enumerated() {
            switch attribute {
            case .uid:
                out.text(separator())
                out.buffer.writeStaticString("UID ")
                out.buffer.writeString(String(message.uid))
            case .flags:
                flagsWritten = true
                out.text(separator())
                writeFlags(message, into: &out.buffer)
            case .internalDate:
                out.text(separator() + "INTERNALDATE \"\(IMAPDateFormat.dateTime(message.internalDate))\"")
            case .rfc822Size:
                out.text(separator())
                out.buffer.writeStaticString("RFC822.SIZE ")
                out.buffer.writeString(String(message.size))
            case .modseq:
                out.text(separator() + "MODSEQ (\(message.modseq))")
            case .envelope:
                out.text(separator() + "ENVELOPE ")
                if let envelope { IMAPStructureRendering.write(envelope, into: &out.buffer) } else { out.text("NIL") }
            case .body, .bodyStructure:
                out.text(separator() + (attribute == .body ? "BODY " : "BODYSTRUCTURE "))
                if let parsed {
                    IMAPStructureRendering.write(parsed.body, extensible: attribute == .bodyStructure, into: &out.buffer)
                } else {
                    out.text("NIL")
                }
            case .rfc822:
                out.text(separator() + "RFC822 ")
                try await section(message, IMAPSection(), partial: nil, in: mailbox, prefetched: prefetched, into: &out)
            case .rfc822Header:
                out.text(separator() + "RFC822.HEADER ")
                try await section(message, IMAPSection(text: .header), partial: nil, in: mailbox, prefetched: nil, into: &out)
            case .rfc822Text:
                out.text(separator() + "RFC822.TEXT ")
                try await section(message, IMAPSection(text: .text), partial: nil, in: mailbox, prefetched: nil, into: &out)
            case .bodySection(let spec, let partial, _):
                let origin = partial.map { "<\($0.offset)>" } ?? ""
                out.text(separator() + "BODY[\(Self.sectionText(spec))]\(origin) ")
                let whole = spec.part.isEmpty && spec.text == .full && partial == nil
                try await section(message, spec, partial: partial, in: mailbox, prefetched: whole ? prefetched : nil, into: &out)
            case .binary(let part, let partial, _):
                let origin = partial.map { "<\($0.offset)>" } ?? ""
                out.text(separator() + "BINARY[\(part.map(String.init).joined(separator: "."))]\(origin) ")
                if let first = decoded[attributeIndex] {
                    try await section(
                        message, IMAPSection(part: part), partial: partial, in: mailbox, prefetched: first, decode: !part.isEmpty,
                        into: &out)
                } else {
                    // RFC 9051 §9: nstring. No such part, or the message went meanwhile.
                    out.text("NIL")
                }
            case .binarySize(let part):
                out.text(separator() + "BINARY.SIZE[\(part.map(String.init).joined(separator: "."))] ")
                out.text(String(part.isEmpty ? message.size : decoded[attributeIndex]?.total ?? 0))
            }
            await emit(&out)
        }
        // §7.4.2: an implicit \Seen is reported even when FLAGS was not asked for.
        if seenJustSet, !flagsWritten {
            out.text(separator())
            writeFlags(message, into: &out.buffer)
        }
        if seenJustSet {
            // RFC 7162 §3.1 and §3.2.4: a FETCH that set \Seen carries the new MODSEQ once
            // CONDSTORE is on, and the UID once QRESYNC is.
            if condstore, !plan.attributes.contains(.modseq) { out.text(" MODSEQ (\(message.modseq))") }
            if qresync || rev2, !plan.attributes.contains(.uid) { out.text(" UID \(message.uid)") }
        }
        out.line(")")
    }

    /// `FLAGS (…)` with this session's `\Recent`.
    func writeFlags(_ message: MessageSummary, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("FLAGS (")
        for (index, name) in flagNames(message).enumerated() {
            if index > 0 { buffer.writeStaticString(" ") }
            buffer.writeString(name)
        }
        buffer.writeStaticString(")")
    }

    func flagNames(_ message: MessageSummary) -> [String] {
        flagNames(message.flags, uid: message.uid)
    }

    /// The stored flags with this session's `\Recent` (§2.3.2): every FLAGS response, FETCH's,
    /// STORE's and an unsolicited one, lists all the flags, since a client replaces its copy.
    func flagNames(_ flags: MessageFlags, uid: UInt32) -> [String] {
        var names = flags.names
        if !rev2, selected?.view.recent.contains(uid) == true { names.append("\\Recent") }
        return names
    }

    /// §6.4.5 section-spec as the response echoes it.
    static func sectionText(_ section: IMAPSection) -> String {
        let part = section.part.map(String.init).joined(separator: ".")
        let text: String
        switch section.text {
        case .full: text = ""
        case .header: text = "HEADER"
        case .headerFields(let names): text = "HEADER.FIELDS (\(names.joined(separator: " ")))"
        case .headerFieldsNot(let names): text = "HEADER.FIELDS.NOT (\(names.joined(separator: " ")))"
        case .text: text = "TEXT"
        case .mime: text = "MIME"
        }
        if part.isEmpty { return text }
        return text.isEmpty ? part : part + "." + text
    }

    /// RFC 9051 §6.4.5: the first decoded bytes of a part at `offset`, and its decoded size
    /// (all BINARY.SIZE needs: `length` 0); nil when there is no such part or message (NIL).
    /// An empty part is the whole message as stored, read as BODY[] is.
    func firstDecoded(
        _ message: MessageSummary, part: [Int], offset: Int64, length: Int, in mailbox: String
    ) async throws
        -> MessageChunk?
    {
        do {
            let read = try await client.call(
                Methods.messageRead,
                MessageReadParams(
                    session: token, mailbox: mailbox, uid: message.uid,
                    part: part.isEmpty ? nil : part.map(String.init).joined(separator: "."), offset: offset, length: length,
                    decode: part.isEmpty ? nil : true))
            return MessageChunk(uid: message.uid, data: read.data, total: read.total)
        } catch {
            if error.is(.noSuchPart) || error.is(.noSuchMessage) { return nil }
            throw Self.binaryError(error)
        }
    }

    /// The BINARY parts asked for, checked against each message's structure: an encoding Loft
    /// cannot decode is `NO [UNKNOWN-CTE]`, a part that is not a leaf is NO (RFC 9051 §6.4.5);
    /// a part that does not exist is left for NIL.
    static func checkBinaryParts(_ attributes: [IMAPFetchAttribute], of messages: [MessageSummary]) throws {
        let parts = attributes.compactMap { attribute -> [Int]? in
            if case .binary(let part, _, _) = attribute, !part.isEmpty { return part }
            return nil
        }
        for (message, parsed) in zip(messages, decodeAll(messages.map(\.structure), as: ParsedMessage.self)) {
            guard let parsed else { continue }
            for path in parts {
                guard let node = parsed.part(at: path) else { continue }
                switch node.content {
                case .multipart, .message:
                    throw IMAPCommandError(
                        .no, "BINARY[\(path.map(String.init).joined(separator: "."))] of UID \(message.uid) is not a leaf part")
                case .single:
                    if TransferDecoding.Decoder(encoding: node.encoding) == nil {
                        throw IMAPCommandError(
                            .no, code: "UNKNOWN-CTE",
                            "UID \(message.uid) part \(path.map(String.init).joined(separator: ".")) is in \(node.encoding)")
                    }
                }
            }
        }
    }

    /// RFC 9051 §6.4.5, §7.1: a part in an encoding the server cannot decode fails the command
    /// with `UNKNOWN-CTE`; so does asking for a part that is not a leaf (plain NO).
    static func binaryError(_ error: any Error) -> any Error {
        guard let rpc = error as? RPCError else { return error }
        if rpc.is(.unknownTransferEncoding) { return IMAPCommandError(.no, code: "UNKNOWN-CTE", rpc.message) }
        if rpc.is(.invalidParams), rpc.data?.field == "part" { return IMAPCommandError(.no, rpc.message) }
        return error
    }

    /// Writes one section as a literal (NIL when the message has no such part), streaming it
    /// in chunks of `readChunkBytes`; with `decode`, a BINARY part (RFC 9051 §6.4.5).
    /// `prefetched`, when given, is its first chunk at the partial's offset.
    func section(
        _ message: MessageSummary, _ spec: IMAPSection, partial: IMAPPartial?, in mailbox: String, prefetched: MessageChunk?,
        decode: Bool = false, into out: inout ResponseWriter
    ) async throws {
        let part = spec.part.isEmpty ? nil : spec.part.map(String.init).joined(separator: ".")
        let kind: MessageReadParams.Section
        switch spec.text {
        case .full: kind = .full
        case .header, .headerFields, .headerFieldsNot: kind = .header
        case .text: kind = .text
        case .mime: kind = .mime
        }
        // HEADER.FIELDS(.NOT): the header is read whole (bounded) and filtered here.
        if case .headerFields(let names) = spec.text {
            return try await filteredHeader(message.uid, part: part, names: names, keep: true, partial: partial, in: mailbox, into: &out)
        }
        if case .headerFieldsNot(let names) = spec.text {
            return try await filteredHeader(message.uid, part: part, names: names, keep: false, partial: partial, in: mailbox, into: &out)
        }
        let start = Int64(partial?.offset ?? 0)
        let chunk = configuration.readChunkBytes
        var firstData: ByteBuffer
        var total: Int64
        if let prefetched {
            firstData = ByteBuffer(bytes: prefetched.data.bytes)
            total = prefetched.total
        } else {
            do {
                let read = try await client.call(
                    Methods.messageRead,
                    MessageReadParams(
                        session: token, mailbox: mailbox, uid: message.uid, part: part, section: kind, offset: start,
                        length: partial.map { min(Int($0.length), chunk) } ?? chunk, decode: decode ? true : nil))
                firstData = ByteBuffer(bytes: read.data.bytes)
                total = read.total
            } catch {
                if decode { throw Self.binaryError(error) }
                out.text("NIL")
                return
            }
        }
        let available = max(0, total - start)
        let size = partial.map { min(Int64($0.length), available) } ?? available
        // RFC 3516 §4.1: decoded bytes may hold NUL, which only a literal8 may carry. When all
        // of them are at hand and none is NUL, an ordinary literal (every client reads it).
        let binaryLiteral = decode && (Int64(firstData.readableBytes) < size || firstData.readableBytesView.contains(0))
        out.text(binaryLiteral ? "~{\(size)}\r\n" : "{\(size)}\r\n")
        var written: Int64 = 0
        let firstTake = Int(min(Int64(firstData.readableBytes), size))
        if let slice = firstData.readSlice(length: firstTake) {
            out.bytes(slice)
            written += Int64(firstTake)
        }
        while written < size {
            await emit(&out)
            let want = Int(min(Int64(chunk), size - written))
            let read: MessageReadResult
            do {
                read = try await client.call(
                    Methods.messageRead,
                    MessageReadParams(
                        session: token, mailbox: mailbox, uid: message.uid, part: part, section: kind, offset: start + written,
                        length: want, decode: decode ? true : nil))
            } catch {
                // The length is promised: pad (below) and end the command NO.
                logger.warning("a literal could not be read to its end: \(error)")
                literalShortfall = true
                break
            }
            var data = ByteBuffer(bytes: read.data.bytes)
            guard data.readableBytes > 0 else { break }
            let take = min(data.readableBytes, want)
            out.bytes(data.readSlice(length: take)!)
            written += Int64(take)
        }
        // The literal's length was promised: should the message have shrunk meanwhile
        // (it cannot: bodies are immutable), pad rather than break the stream.
        if written < size { out.bytes(ByteBuffer(repeating: UInt8(ascii: " "), count: Int(size - written))) }
    }

    /// RFC 3501 §6.4.5 HEADER.FIELDS and HEADER.FIELDS.NOT: the header's lines whose field
    /// names are (or are not) in the list, case-insensitively, then the blank line.
    func filteredHeader(
        _ uid: UInt32, part: String?, names: [String], keep: Bool, partial: IMAPPartial?, in mailbox: String,
        into out: inout ResponseWriter
    ) async throws {
        var header = ByteBuffer()
        var offset: Int64 = 0
        repeat {
            guard
                let read = try? await client.call(
                    Methods.messageRead,
                    MessageReadParams(
                        session: token, mailbox: mailbox, uid: uid, part: part, section: .header, offset: offset,
                        length: configuration.readChunkBytes))
            else {
                out.text("NIL")
                return
            }
            offset += Int64(read.data.bytes.count)
            header.writeBytes(read.data.bytes)
            if offset >= read.total || read.data.bytes.isEmpty || header.readableBytes > Self.maximumHeaderBytes { break }
        } while true
        var filtered = HeaderFieldFilter.filter(Array(header.readableBytesView), names: names, keep: keep)
        if let partial {
            let from = min(Int(partial.offset), filtered.count)
            let to = min(from + Int(partial.length), filtered.count)
            filtered = Array(filtered[from..<to])
        }
        out.text("{\(filtered.count)}\r\n")
        out.bytes(ByteBuffer(bytes: filtered))
    }

    /// A header longer than this is cut for HEADER.FIELDS (a real one is a few KiB).
    static var maximumHeaderBytes: Int { 1 << 20 }

    /// Reads a page's JSON texts (envelopes or structures); a text that does not read spoils
    /// only itself (its message then answers NIL).
    static func decodeAll<Value: JSONFastCodable>(_ texts: [JSONText?], as: Value.Type) -> [Value?] {
        texts.map { text in text.flatMap { try? Value(jsonBytes: $0.bytes) } }
    }
}

/// `message.list` pages over UID sets, with the call for the next page always in flight while
/// the caller uses the current one.
struct PageAhead {
    let client: RPCClient
    let batches: [UIDSet]
    /// The params of every call but `uids` and `afterUid`.
    let template: MessageListParams
    var index = 0
    var ahead: Task<MessageListResult, any Error>?

    init(client: RPCClient, batches: [UIDSet], template: MessageListParams) {
        self.client = client
        self.batches = batches
        self.template = template
        if !batches.isEmpty { ahead = call(batches[0], after: nil) }
    }

    func call(_ batch: UIDSet, after: UInt32?) -> Task<MessageListResult, any Error> {
        var request = template
        request.uids = batch
        request.afterUid = after
        return Task { [client] in try await client.call(Methods.messageList, request) }
    }

    /// The next page, or nil after the last; the call after it is already on its way.
    mutating func next() async throws -> MessageListResult? {
        guard let current = ahead else { return nil }
        ahead = nil
        let page = try await current.value
        if let after = page.nextAfterUid {
            ahead = call(batches[index], after: after)
        } else if index + 1 < batches.count {
            index += 1
            ahead = call(batches[index], after: nil)
        }
        return page
    }

    func cancel() { ahead?.cancel() }
}

/// The first bytes of a page's messages (`message.read_batch`, 64 at a time), read in order
/// with the next group's call in flight while the caller writes this group's: at most two
/// answers (1 MiB each) are held, however many messages the page has. A message an answer
/// leaves out (it was full) is read by the caller itself.
struct BodiesAhead {
    let client: RPCClient
    let template: MessageReadBatchParams
    var groups: [[UInt32]]
    var current: [UInt32: MessageChunk] = [:]
    /// The UIDs of the group `current` answers, and of the one `ahead` will.
    var currentGroup: Set<UInt32> = []
    var aheadGroup: [UInt32] = []
    var ahead: Task<MessageReadBatchResult?, Never>?

    init(client: RPCClient, uids: [UInt32], template: MessageReadBatchParams) {
        self.client = client
        self.template = template
        groups = stride(from: 0, to: uids.count, by: MessageReadBatchParams.maxBatchMessages).map {
            Array(uids[$0..<min($0 + MessageReadBatchParams.maxBatchMessages, uids.count)])
        }
        groups.reverse()
        ahead = call()
    }

    mutating func call() -> Task<MessageReadBatchResult?, Never>? {
        guard let group = groups.popLast() else { return nil }
        aheadGroup = group
        var request = template
        request.uids = group
        return Task { [client] in try? await client.call(Methods.messageReadBatch, request) }
    }

    /// `uid`'s first bytes, if its group's answer has them; the caller asks in page order.
    mutating func chunk(for uid: UInt32) async -> MessageChunk? {
        // Past the current group (a whole group may have been skipped: expunged meanwhile),
        // the next answers, each with the call after it.
        while !currentGroup.contains(uid), let next = ahead {
            currentGroup = Set(aheadGroup)
            ahead = nil
            let answer = await next.value
            ahead = call()
            current = [:]
            for chunk in answer?.messages ?? [] { current[chunk.uid] = chunk }
        }
        return current.removeValue(forKey: uid)
    }

    func cancel() { ahead?.cancel() }
}

/// What a FETCH needs, worked out once for all its messages.
struct FetchPlan {
    var attributes: [IMAPFetchAttribute]
    var needsStructure = false
    var needsEnvelope = false
    var setsSeen = false
    var readsWholeMessages = false
    var checksBinaryParts = false

    init(_ attributes: [IMAPFetchAttribute], readOnly: Bool) {
        self.attributes = attributes
        for attribute in attributes {
            switch attribute {
            case .body, .bodyStructure: needsStructure = true
            case .envelope: needsEnvelope = true
            case .rfc822:
                readsWholeMessages = true
                if !readOnly { setsSeen = true }
            case .rfc822Text:
                if !readOnly { setsSeen = true }
            case .bodySection(let section, let partial, let peek):
                if !peek, !readOnly { setsSeen = true }
                if section.part.isEmpty, section.text == .full, partial == nil { readsWholeMessages = true }
            case .binary(let part, _, let peek):
                if !peek, !readOnly {
                    setsSeen = true
                    // Checked against the structure before \Seen is set.
                    if !part.isEmpty {
                        needsStructure = true
                        checksBinaryParts = true
                    }
                }
            case .uid, .flags, .internalDate, .rfc822Size, .rfc822Header, .modseq, .binarySize: break
            }
        }
    }

    /// `message.list` members beyond the cheap ones.
    var fields: [String]? {
        if needsStructure { return ["structure"] }
        if needsEnvelope { return ["envelope"] }
        return nil
    }
}
