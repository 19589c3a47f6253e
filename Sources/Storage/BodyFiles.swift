import Crypto
import Dispatch
public import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A body's SHA-256: its name in the store, whichever way it is stored.
public struct BodyDigest: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    init(_ digest: SHA256.Digest) { bytes = Array(digest) }
    init(_ data: Data) { bytes = [UInt8](data) }
    init?(hex: String) {
        guard hex.utf8.count == 64 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        bytes = out
    }

    var data: Data { Data(bytes) }
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
    public var description: String { hex }
}

/// A body received and made durable, not yet part of the store: in memory when it is small
/// enough to be stored inline, else a staged file (already fsynced). `StoreRequest` carries it
/// to the store, which takes it over; a body that is not stored must be `discard`ed.
public struct PreparedBody: Sendable {
    public enum Content: Sendable {
        case memory([UInt8])
        /// A staged file, owned by the body store that wrote it.
        case file(path: String)
    }
    public let digest: BodyDigest
    public let size: Int64
    public let content: Content

    public init(digest: BodyDigest, size: Int64, content: Content) {
        self.digest = digest
        self.size = size
        self.content = content
    }

    /// A body made in memory (a bounce the back-end composed), named by its SHA-256.
    public static func inMemory(_ bytes: [UInt8]) -> PreparedBody {
        PreparedBody(digest: BodyDigest(SHA256.hash(data: bytes)), size: Int64(bytes.count), content: .memory(bytes))
    }

    /// The bytes, for parsing: the buffer itself, or the staged file mapped (not copied).
    public func contents() throws -> Data {
        switch content {
        case .memory(let bytes): return Data(bytes)
        case .file(let path):
            do {
                return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
            } catch {
                throw StorageError(.corrupt, "cannot map the staged body \(path): \(error)")
            }
        }
    }

    /// Drops a body that will not be stored.
    public func discard() {
        if case .file(let path) = content { unlink(path) }
    }

    var stagedPath: String? {
        if case .file(let path) = content { return path }
        return nil
    }
}

/// A body being received, in order, by one upload. Small bodies stay in memory; one that grows
/// past the store's inline limit spills to a staged file (the bytes so far first), so memory
/// stays bounded whatever the size.
public protocol BodyWriter: AnyObject {
    var size: Int64 { get }
    func append(_ bytes: some ContiguousBytes) throws
    /// Hashes and, for a file, fsyncs it. The writer is spent afterwards.
    func finish() throws -> PreparedBody
    /// Abandons the body.
    func discard()
}

/// Large message bodies as files named by their SHA-256 (hex) under `blobs/xx/`, where `xx` is
/// the first two hex digits. A body is written to `tmp/`, fsynced, renamed into place and its
/// directory fsynced before any database row points at it (DESIGN §3), so a row never names a
/// file that a crash could lose.
final class BodyFiles: Sendable {
    let root: String
    let tmp: String
    /// While a snapshot copies body files (`hold`), removals wait here instead, so every file
    /// the snapshot's database names is still there to copy.
    let holds = Mutex<(count: Int, deferred: Set<BodyDigest>)>((0, []))

    init(root: String) throws {
        self.root = root
        self.tmp = root + "/tmp"
        for dir in [root, tmp] where mkdir(dir, 0o700) != 0 && errno != EEXIST {
            throw StorageError.fromPOSIX("create \(dir)")
        }
    }

    func path(for digest: BodyDigest) -> String {
        let hex = digest.hex
        return "\(root)/\(hex.prefix(2))/\(hex)"
    }

    /// Starts a new body in `tmp/`.
    func stage() throws -> (fd: Int32, path: String) {
        let path = "\(tmp)/\(UUID().uuidString)"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StorageError.fromPOSIX("create \(path)") }
        return (fd, path)
    }

    /// Moves finished bodies into place and makes the renames durable: one fsync per directory
    /// touched, the fsyncs side by side (the file system merges them into one journal commit,
    /// where one after another would each wait for their own). A body already present (same
    /// content) is replaced by its identical staged copy.
    func install(_ bodies: [(digest: BodyDigest, path: String)]) throws {
        var dirs = Set<String>()
        var newShard = false
        for body in bodies {
            let target = path(for: body.digest)
            let dir = String(target.prefix(target.utf8.count - 65))
            if !dirs.contains(dir) {
                if mkdir(dir, 0o700) == 0 { newShard = true }
                dirs.insert(dir)
            }
            guard Glibc.rename(body.path, target) == 0 else { throw StorageError.fromPOSIX("rename into \(target)") }
        }
        // A new shard directory is itself an entry of the root that must survive a crash.
        let paths = Array(dirs) + (newShard ? [root] : [])
        let failed = FsyncFailures()
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            do {
                try Self.fsyncPath(paths[i])
            } catch {
                failed.record(error)
            }
        }
        if let failure = failed.first { throw failure }
    }

    /// Unlinks the files of bodies no row uses any more; callers hold the writer, so no
    /// install of the same body runs meanwhile. Held off while a snapshot copies.
    func remove(_ digests: some Sequence<BodyDigest>) {
        let now: [BodyDigest]? = holds.withLock { state in
            guard state.count > 0 else { return nil }
            state.deferred.formUnion(digests)
            return []
        }
        for digest in now ?? Array(digests) { unlink(path(for: digest)) }
    }

    /// Holds removals off until `release`.
    func hold() { holds.withLock { $0.count += 1 } }

    /// Ends a hold; when it was the last, the removals it held off, for the caller to check
    /// again under the writer (a body may have been stored anew meanwhile) and remove.
    func release() -> Set<BodyDigest> {
        holds.withLock { state in
            state.count -= 1
            guard state.count == 0 else { return [] }
            defer { state.deferred = [] }
            return state.deferred
        }
    }

    /// Reads `length` bytes at `offset` of a body file; fewer at its end.
    func read(_ digest: BodyDigest, offset: Int64, length: Int) throws -> [UInt8] {
        let fd = open(path(for: digest), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(.corrupt, "message body \(digest) is missing") }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: length)
        var done = 0
        while done < length {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, length - done, off_t(offset) + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.fromPOSIX("read \(digest)")
            }
            if n == 0 { break }
            done += n
        }
        out.removeLast(length - done)
        return out
    }

    /// The SHA-256 of a body file as it is on disk, and its size; nil if it is missing.
    func rehash(_ digest: BodyDigest) -> (BodyDigest, Int64)? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path(for: digest)), options: .alwaysMapped) else { return nil }
        return (BodyDigest(SHA256.hash(data: data)), Int64(data.count))
    }

    /// Empties `tmp/`: uploads that never committed. Only what is in `tmp/` is read, so start-up
    /// does not grow with the store.
    func sweepStaged() -> Int {
        var staged = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] {
            unlink("\(tmp)/\(name)")
            staged += 1
        }
        return staged
    }

    /// Every body file in place, by name (a file whose name is not a digest is left alone).
    func allFiles() -> [BodyDigest] {
        let fm = FileManager.default
        var out: [BodyDigest] = []
        for shard in (try? fm.contentsOfDirectory(atPath: root)) ?? [] where shard.utf8.count == 2 {
            for name in (try? fm.contentsOfDirectory(atPath: "\(root)/\(shard)")) ?? [] {
                if let digest = BodyDigest(hex: name) { out.append(digest) }
            }
        }
        return out
    }

    static func fsyncPath(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.fromPOSIX("open \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StorageError.fromPOSIX("fsync \(path)") }
    }
}

/// The SQLite store's writer: bytes in memory up to `inlineLimit`, then a staged file.
final class SpillingBodyWriter: BodyWriter {
    let files: BodyFiles
    let inlineLimit: Int
    var buffer: [UInt8] = []
    var file: (fd: Int32, path: String)?
    var hasher = SHA256()
    private(set) var size: Int64 = 0
    var finished = false

    init(files: BodyFiles, inlineLimit: Int) {
        self.files = files
        self.inlineLimit = inlineLimit
    }

    func append(_ bytes: some ContiguousBytes) throws {
        precondition(!finished, "append after finish")
        try bytes.withUnsafeBytes { raw in
            hasher.update(bufferPointer: raw)
            if file == nil && buffer.count + raw.count <= inlineLimit {
                buffer.append(contentsOf: raw)
            } else {
                if file == nil {
                    let staged: (fd: Int32, path: String) = try files.stage()
                    file = staged
                    try Self.write(staged, buffer)
                    buffer = []
                }
                try Self.write(file!, raw)
            }
            size += Int64(raw.count)
        }
    }

    static func write(_ file: (fd: Int32, path: String), _ bytes: some ContiguousBytes) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(file.fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw StorageError.fromPOSIX("write \(file.path)")
                }
                done += n
            }
        }
    }

    func finish() throws -> PreparedBody {
        precondition(!finished, "finish twice")
        finished = true
        let digest = BodyDigest(hasher.finalize())
        guard let file else {
            defer { buffer = [] }
            return PreparedBody(digest: digest, size: size, content: .memory(buffer))
        }
        defer { close(file.fd) }
        guard fsync(file.fd) == 0 else {
            let error = StorageError.fromPOSIX("fsync \(file.path)")
            unlink(file.path)
            throw error
        }
        return PreparedBody(digest: digest, size: size, content: .file(path: file.path))
    }

    func discard() {
        buffer = []
        if let file, !finished {
            close(file.fd)
            unlink(file.path)
        }
        finished = true
    }

    deinit {
        if let file, !finished {
            close(file.fd)
            unlink(file.path)
        }
    }
}

/// Collects failures from concurrent fsyncs. `@unchecked Sendable`: `errors` is only touched
/// under `lock`.
final class FsyncFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [any Error] = []
    func record(_ error: any Error) {
        lock.lock()
        errors.append(error)
        lock.unlock()
    }
    var first: (any Error)? {
        lock.lock()
        defer { lock.unlock() }
        return errors.first
    }
}
