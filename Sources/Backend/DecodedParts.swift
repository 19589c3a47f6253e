import Foundation
import MailMessage
import NIOConcurrencyHelpers
import RPCProtocol
import Storage

/// IMAP BINARY (RFC 3516) reads a part decoded from its Content-Transfer-Encoding, and a client
/// reads a large attachment in chunks, each one `message.read`. Decoding the part again for
/// every chunk would cost the square of its size, so each part is decoded once, in 1 MiB
/// pieces, and kept: in memory when it decodes to at most `memoryEntryBytes`, else in a file in
/// `directory` (a cache: emptied at start, never fsynced), least recently used out first within
/// `maxMemoryBytes` and `maxFileBytes`. Bodies never change, and a key names the body by its
/// SHA-256 (row ids may be used again once a body is gone), so an entry is never stale; copies
/// of one body in many mailboxes share it.
final class DecodedParts: Sendable {
    struct Key: Hashable {
        var digest: BodyDigest
        /// The part's encoded bytes within the body (the per-copy prefix not counted).
        var start: Int
        var count: Int
        /// Line ends made CRLF (a text part, RFC 9051 §7.5.2).
        var text: Bool
    }
    enum Stored {
        case memory([UInt8])
        case file(String)
    }
    struct Entry {
        var stored: Stored
        var total: Int64
        var lastUse: UInt64
        var memoryBytes: Int {
            if case .memory(let bytes) = stored { bytes.count } else { 0 }
        }
        var fileBytes: Int64 {
            if case .file = stored { total } else { 0 }
        }
    }
    struct State {
        var entries: [Key: Entry] = [:]
        var memoryBytes = 0
        var fileBytes: Int64 = 0
        var clock: UInt64 = 0
        var nextFile = 0
    }

    let directory: String
    let maxMemoryBytes: Int
    let memoryEntryBytes: Int
    let maxFileBytes: Int64
    let maxEntries: Int
    let state = NIOLockedValueBox(State())
    /// Encoded bytes read from the store at a time while decoding.
    static let pieceBytes = 1 << 20

    init(
        directory: String, maxMemoryBytes: Int = 64 << 20, memoryEntryBytes: Int = 1 << 20, maxFileBytes: Int64 = 1 << 30,
        maxEntries: Int = 4096
    ) {
        self.directory = directory
        self.maxMemoryBytes = maxMemoryBytes
        self.memoryEntryBytes = min(memoryEntryBytes, maxMemoryBytes)
        self.maxFileBytes = maxFileBytes
        self.maxEntries = maxEntries
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    var storedBytes: (memory: Int, files: Int64) { state.withLockedValue { ($0.memoryBytes, $0.fileBytes) } }

    /// `length` decoded bytes at `offset` of the part whose encoded bytes `read` returns, and
    /// the decoded size.
    func read(
        _ key: Key, encoding: String, offset: Int64, length: Int, read: (_ offset: Int, _ length: Int) throws -> [UInt8]
    ) throws -> (bytes: [UInt8], total: Int64) {
        let entry =
            try state.withLockedValue { s -> Entry? in
                guard var entry = s.entries[key] else { return nil }
                s.clock += 1
                entry.lastUse = s.clock
                s.entries[key] = entry
                return entry
            } ?? decode(key, encoding: encoding, read: read)
        let from = min(max(0, offset), entry.total)
        let count = Int(min(Int64(max(0, length)), entry.total - from))
        guard count > 0 else { return ([], entry.total) }
        switch entry.stored {
        case .memory(let bytes):
            return (Array(bytes[Int(from)..<(Int(from) + count)]), entry.total)
        case .file(let path):
            if let bytes = try? Self.pread(path, offset: from, count: count) { return (bytes, entry.total) }
            // Evicted between the look-up and the read: decode it again.
            let fresh = try decode(key, encoding: encoding, read: read)
            guard case .file(let again) = fresh.stored else {
                return try self.read(key, encoding: encoding, offset: offset, length: length, read: read)
            }
            return (try Self.pread(again, offset: from, count: count), fresh.total)
        }
    }

    private func decode(_ key: Key, encoding: String, read: (_ offset: Int, _ length: Int) throws -> [UInt8]) throws -> Entry {
        guard var decoder = TransferDecoding.Decoder(encoding: encoding, crlf: key.text) else {
            throw RPCError(.unknownTransferEncoding, "the part's Content-Transfer-Encoding \(encoding) is not one Loft decodes")
        }
        var kept: [UInt8] = []
        var file: FileHandle?
        var path = ""
        var total: Int64 = 0
        func take(_ output: [UInt8]) throws {
            total += Int64(output.count)
            if file == nil, kept.count + output.count <= memoryEntryBytes {
                kept += output
                return
            }
            if file == nil {
                path = state.withLockedValue { s in
                    s.nextFile += 1
                    return "\(directory)/\(s.nextFile)"
                }
                guard FileManager.default.createFile(atPath: path, contents: Data(kept)), let handle = FileHandle(forWritingAtPath: path)
                else {
                    throw RPCError(.internalError, "could not write a decoded part to \(directory)", temporary: true)
                }
                handle.seekToEndOfFile()
                file = handle
                kept = []
            }
            try file!.write(contentsOf: Data(output))
        }
        do {
            var position = 0
            while position < key.count {
                let piece = try read(position, min(Self.pieceBytes, key.count - position))
                guard !piece.isEmpty else { break }
                position += piece.count
                try take(decoder.decode(piece))
            }
            try take(decoder.finish())
            try file?.close()
        } catch {
            try? file?.close()
            if file != nil { unlink(path) }
            throw error
        }
        let entry = Entry(stored: file == nil ? .memory(kept) : .file(path), total: total, lastUse: 0)
        remember(key, entry)
        return entry
    }

    private func remember(_ key: Key, _ entry: Entry) {
        let removed = state.withLockedValue { s -> [String] in
            var removed: [String] = []
            func drop(_ key: Key) {
                guard let old = s.entries.removeValue(forKey: key) else { return }
                s.memoryBytes -= old.memoryBytes
                s.fileBytes -= old.fileBytes
                if case .file(let path) = old.stored { removed.append(path) }
            }
            drop(key)
            s.clock += 1
            var entry = entry
            entry.lastUse = s.clock
            while !s.entries.isEmpty,
                s.memoryBytes + entry.memoryBytes > maxMemoryBytes || s.fileBytes + entry.fileBytes > maxFileBytes
                    || s.entries.count >= maxEntries
            {
                guard let oldest = s.entries.min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
                drop(oldest.key)
            }
            s.entries[key] = entry
            s.memoryBytes += entry.memoryBytes
            s.fileBytes += entry.fileBytes
            return removed
        }
        // A reader may still have a removed file open: unlinking leaves its data until it closes.
        for path in removed { unlink(path) }
    }

    static func pread(_ path: String, offset: Int64, count: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RPCError(.internalError, "a decoded part went missing", temporary: true) }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { Foundation.pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            guard n > 0 else { throw RPCError(.internalError, "a decoded part is shorter than recorded", temporary: true) }
            done += n
        }
        return bytes
    }
}
