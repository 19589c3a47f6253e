import MailMessage
import NIOConcurrencyHelpers
import RPCProtocol
import Storage

/// IMAP BINARY (RFC 3516) reads a part decoded from its Content-Transfer-Encoding, and a client
/// reads a large attachment in chunks, each one `message.read`. Decoding the part again for
/// every chunk would cost the square of its size, so decoded parts are kept here, least
/// recently used first out, within `maxBytes`. A part that decodes to more than `maxEntryBytes`
/// is not kept, only its decoded size: each chunk of it is decoded from the part's start in
/// bounded pieces (slower, never unbounded memory). Bodies never change, and a key names the
/// body by its SHA-256 (row ids may be used again once a body is gone), so an entry is never
/// stale; copies of one body in many mailboxes share it.
final class DecodedParts: Sendable {
    struct Key: Hashable {
        var digest: BodyDigest
        /// The part's encoded bytes within the body (the per-copy prefix not counted).
        var start: Int
        var count: Int
    }
    struct Entry {
        var bytes: [UInt8]?
        var total: Int64
        var lastUse: UInt64
    }
    struct State {
        var entries: [Key: Entry] = [:]
        var bytes = 0
        var clock: UInt64 = 0
    }

    let maxBytes: Int
    let maxEntryBytes: Int
    let maxEntries: Int
    let state = NIOLockedValueBox(State())
    /// Encoded bytes read from the store at a time while decoding.
    static let pieceBytes = 1 << 20

    init(maxBytes: Int = 64 << 20, maxEntryBytes: Int = 16 << 20, maxEntries: Int = 4096) {
        self.maxBytes = maxBytes
        self.maxEntryBytes = min(maxEntryBytes, maxBytes)
        self.maxEntries = maxEntries
    }

    var storedBytes: Int { state.withLockedValue { $0.bytes } }

    /// `length` decoded bytes at `offset` of the part whose encoded bytes `read` returns, and
    /// the decoded size.
    func read(
        _ key: Key, encoding: String, offset: Int64, length: Int, read: (_ offset: Int, _ length: Int) throws -> [UInt8]
    ) throws -> (bytes: [UInt8], total: Int64) {
        let cached = state.withLockedValue { s -> Entry? in
            guard var entry = s.entries[key] else { return nil }
            s.clock += 1
            entry.lastUse = s.clock
            s.entries[key] = entry
            return entry
        }
        if let cached, let bytes = cached.bytes { return (Self.slice(bytes, offset, length), cached.total) }
        guard var decoder = TransferDecoding.Decoder(encoding: encoding) else {
            throw RPCError(.unknownTransferEncoding, "the part's Content-Transfer-Encoding \(encoding) is not one Loft decodes")
        }
        // Decode from the start, keeping everything while it fits an entry, else only the
        // window asked for; with a known total, stop once the window is complete.
        let wanted = offset..<(offset + Int64(length))
        var kept: [UInt8]? = []
        var window: [UInt8] = []
        var produced: Int64 = 0
        var position = 0
        func take(_ output: [UInt8]) {
            let range = produced..<(produced + Int64(output.count))
            if kept != nil {
                kept! += output
                if kept!.count > maxEntryBytes {
                    window = Self.slice(kept!, offset, length)
                    kept = nil
                }
            } else if range.overlaps(wanted) {
                let from = Int(max(wanted.lowerBound, range.lowerBound) - range.lowerBound)
                let to = Int(min(wanted.upperBound, range.upperBound) - range.lowerBound)
                window += output[from..<to]
            }
            produced = range.upperBound
        }
        while position < key.count {
            if let cached, kept == nil, produced >= wanted.upperBound { return (window, cached.total) }
            let piece = try read(position, min(Self.pieceBytes, key.count - position))
            guard !piece.isEmpty else { break }
            position += piece.count
            take(decoder.decode(piece))
        }
        take(decoder.finish())
        if let kept {
            remember(key, Entry(bytes: kept, total: produced, lastUse: 0))
            return (Self.slice(kept, offset, length), produced)
        }
        remember(key, Entry(bytes: nil, total: produced, lastUse: 0))
        return (window, produced)
    }

    private func remember(_ key: Key, _ entry: Entry) {
        state.withLockedValue { s in
            if let old = s.entries.removeValue(forKey: key) { s.bytes -= old.bytes?.count ?? 0 }
            s.clock += 1
            var entry = entry
            entry.lastUse = s.clock
            let size = entry.bytes?.count ?? 0
            while !s.entries.isEmpty, s.bytes + size > maxBytes || s.entries.count >= maxEntries {
                guard let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
                s.entries.removeValue(forKey: oldest.key)
                s.bytes -= oldest.value.bytes?.count ?? 0
            }
            s.entries[key] = entry
            s.bytes += size
        }
    }

    static func slice(_ bytes: [UInt8], _ offset: Int64, _ length: Int) -> [UInt8] {
        let from = Int(min(Int64(bytes.count), max(0, offset)))
        let to = min(bytes.count, from + max(0, length))
        return Array(bytes[from..<to])
    }
}
