import Crypto
import Dispatch
public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Message bodies as files named by their SHA-256 under `blobs/xx/`, where `xx` is the first
/// two hex digits. A body is written to `tmp/`, fsynced, renamed into place and its directory
/// fsynced before any database row points at it (DESIGN §3), so a row never names a file that
/// a crash could lose. Identical bodies are stored once.
public final class BlobStore: Sendable {
    public let root: String
    let tmp: String

    public init(root: String) throws {
        self.root = root
        self.tmp = root + "/tmp"
        for dir in [root, tmp] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    public func path(for sha256: String) -> String {
        "\(root)/\(sha256.prefix(2))/\(sha256)"
    }

    /// Starts a new body in `tmp/`.
    public func stage() throws -> StagedBlob {
        let path = "\(tmp)/\(UUID().uuidString)"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXFailure("create \(path)") }
        return StagedBlob(fd: fd, path: path)
    }

    /// Moves finished bodies into place and makes the renames durable: one fsync per directory
    /// touched, however many bodies share it. A body already present (same content) is kept and
    /// the staged copy dropped.
    public func install(_ blobs: [FinishedBlob]) throws {
        var dirs = Set<String>()
        var newShard = false
        for blob in blobs {
            let dir = "\(root)/\(blob.sha256.prefix(2))"
            if !dirs.contains(dir) {
                if mkdir(dir, 0o700) == 0 { newShard = true }
                dirs.insert(dir)
            }
            let target = "\(dir)/\(blob.sha256)"
            guard Glibc.rename(blob.path, target) == 0 else { throw POSIXFailure("rename into \(target)") }
        }
        // A new shard directory is itself an entry of the root that must survive a crash.
        let paths = Array(dirs) + (newShard ? [root] : [])
        // The directory fsyncs run side by side: the file system merges them into one journal
        // commit, where one after another would each wait for their own.
        let failed = FsyncFailures()
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            do {
                try Self.fsyncPath(paths[i])
            } catch {
                failed.record("\(error)")
            }
        }
        if let failure = failed.first { throw StorageError(.corrupt, failure) }
    }

    /// Removes bodies that no row references any more. Their rows are already gone; a crash
    /// before this leaves files the start-up sweep removes.
    public func remove(_ sha256s: some Sequence<String>) {
        for sha in sha256s { unlink(path(for: sha)) }
    }

    public func discard(_ path: String) { unlink(path) }

    /// Reads `length` bytes at `offset` of a body.
    public func read(_ sha256: String, offset: Int64, length: Int) throws -> [UInt8] {
        let fd = open(path(for: sha256), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError(.corrupt, "message body \(sha256) is missing") }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: length)
        var done = 0
        while done < length {
            let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, length - done, off_t(offset) + off_t(done)) }
            if n < 0 { if errno == EINTR { continue }; throw POSIXFailure("read \(sha256)") }
            if n == 0 { break }
            done += n
        }
        out.removeLast(length - done)
        return out
    }

    /// The whole body mapped into memory (not copied), for parsing.
    public func map(path: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    }

    /// Start-up housekeeping: empties `tmp/` (uploads that never committed) and deletes bodies
    /// no row references (renamed into place just before a crash). Returns what it removed.
    public func sweep(isReferenced: (String) -> Bool) -> (staged: Int, orphans: Int) {
        let fm = FileManager.default
        var staged = 0
        var orphans = 0
        for name in (try? fm.contentsOfDirectory(atPath: tmp)) ?? [] {
            unlink("\(tmp)/\(name)")
            staged += 1
        }
        for shard in (try? fm.contentsOfDirectory(atPath: root)) ?? [] where shard.count == 2 {
            for name in (try? fm.contentsOfDirectory(atPath: "\(root)/\(shard)")) ?? [] where !isReferenced(name) {
                unlink("\(root)/\(shard)/\(name)")
                orphans += 1
            }
        }
        return (staged, orphans)
    }

    static func fsyncPath(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXFailure("open \(path)") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw POSIXFailure("fsync \(path)") }
    }
}

/// A body being written. Not shareable: one upload owns it and appends in order.
public final class StagedBlob {
    let fd: Int32
    public let path: String
    var hasher = SHA256()
    public private(set) var size: Int64 = 0

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    public func append(_ bytes: some ContiguousBytes) throws {
        try bytes.withUnsafeBytes { raw in
            hasher.update(bufferPointer: raw)
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 { if errno == EINTR { continue }; throw POSIXFailure("write \(path)") }
                done += n
            }
            size += Int64(raw.count)
        }
    }

    /// Flushes the body to disk and names it. After this the staged file is durable; it becomes
    /// part of the store with `BlobStore.install`.
    public func finish() throws -> FinishedBlob {
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw POSIXFailure("fsync \(path)") }
        let sha = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        return FinishedBlob(path: path, sha256: sha, size: size)
    }

    /// Abandons the body.
    public func discard() {
        close(fd)
        unlink(path)
    }
}

public struct FinishedBlob: Sendable, Equatable {
    public let path: String
    public let sha256: String
    public let size: Int64
}

struct POSIXFailure: Error, CustomStringConvertible {
    let description: String
    init(_ what: String) { description = "\(what): \(String(cString: strerror(errno)))" }
}

/// Collects failures from concurrent fsyncs. `@unchecked Sendable`: `messages` is only touched
/// under `lock`.
final class FsyncFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func record(_ message: String) {
        lock.lock()
        messages.append(message)
        lock.unlock()
    }
    var first: String? {
        lock.lock()
        defer { lock.unlock() }
        return messages.first
    }
}
