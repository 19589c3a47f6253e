import Foundation
import GRDB
public import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// What a snapshot holds (also its `backup.json`, written last: a directory without it is an
/// unfinished snapshot).
public struct SnapshotManifest: Codable, Sendable, Equatable {
    /// This layout's version; `restore` refuses one it does not know.
    public var format: Int
    /// Seconds since 1970: the instant the database copy shows.
    public var createdAt: Int64
    public var messages: Int64
    public var bodies: Int64
    public var fileBodies: Int64
    /// Bytes written: the database, the body files and the extra files.
    public var bytes: Int64
    /// The extra files copied beside the store (relative paths).
    public var extraFiles: [String]

    public static let fileName = "backup.json"
    public static let currentFormat = 1
}

extension SQLiteStore {
    /// A consistent copy of the whole store in `target` (created; it must not exist or be
    /// empty), taken while mail keeps flowing: SQLite's online backup API copies the database
    /// as of one instant, then the body files that copy names are copied. Removing body files
    /// is held off from before the database copy until the files are copied, so none the copy
    /// names can vanish first; bodies stored after the instant are not needed. `extraFiles`
    /// (paths relative to the data directory, such as the key that seals secrets) are copied
    /// when they exist. Every file is fsynced, the manifest last.
    public func snapshot(to target: String, extraFiles: [String]) throws -> SnapshotManifest {
        try Self.prepareEmptyDirectory(target)
        files.hold()
        defer { dropHeldFiles(files.release()) }
        let createdAt = Self.now()
        let databasePath = target + "/" + Self.databaseName
        var copied: [(hex: String, size: Int64)] = []
        do {
            let copy = try DatabaseQueue(path: databasePath)
            try pool.backup(to: copy)
            copied = try copy.read { db in
                try Row.fetchAll(db, sql: "SELECT sha256, size FROM blob WHERE inline = 0").map {
                    (BodyDigest($0["sha256"] as Data).hex, $0["size"] as Int64)
                }
            }
            try copy.close()
        } catch let error as DatabaseError {
            throw Self.storageError(error, "copy the database to \(databasePath)")
        }
        let counts = try Self.counts(databasePath)
        var bytes = Self.fileSize(databasePath)
        try Self.fsyncFile(databasePath)
        let blobs = target + "/blobs"
        try Self.makeDirectory(blobs)
        var shards = Set<String>()
        for body in copied {
            let shard = "\(blobs)/\(body.hex.prefix(2))"
            if shards.insert(shard).inserted { try Self.makeDirectory(shard) }
            let size = try Self.copyFile(from: "\(files.root)/\(body.hex.prefix(2))/\(body.hex)", to: "\(shard)/\(body.hex)")
            guard size == body.size else {
                throw StorageError(.corrupt, "body file \(body.hex) has \(size) bytes, its row says \(body.size)")
            }
            bytes += size
        }
        var extras: [String] = []
        for relative in extraFiles where FileManager.default.fileExists(atPath: directory + "/" + relative) {
            let destination = target + "/" + relative
            try Self.makeDirectory((destination as NSString).deletingLastPathComponent)
            bytes += try Self.copyFile(from: directory + "/" + relative, to: destination)
            extras.append(relative)
        }
        for dir in Array(shards) + [blobs] + Set(extras.map { (target + "/" + $0 as NSString).deletingLastPathComponent }) {
            try BodyFiles.fsyncPath(dir)
        }
        let manifest = SnapshotManifest(
            format: SnapshotManifest.currentFormat, createdAt: createdAt, messages: counts.messages, bodies: counts.bodies,
            fileBodies: Int64(copied.count), bytes: bytes, extraFiles: extras)
        try Self.writeDurably(try JSONEncoder().encode(manifest), to: target + "/" + SnapshotManifest.fileName)
        try BodyFiles.fsyncPath(target)
        return manifest
    }

    /// Brings a snapshot back into `directory`, which must hold no store (it may exist, empty
    /// or with a configuration beside): the extra files, every body file, the database last.
    /// Then opens the store (running any migration a newer version needs) and checks it as
    /// `loft check --deep` does, page by page with every body re-hashed; the problems found,
    /// empty when the store is whole.
    public static func restore(
        from snapshot: String, into directory: String, logger: Logger
    ) throws -> (manifest: SnapshotManifest, problems: [String]) {
        guard let data = FileManager.default.contents(atPath: snapshot + "/" + SnapshotManifest.fileName) else {
            throw StorageError(
                .unusableDirectory,
                "\(snapshot) is not a finished Loft backup (no \(SnapshotManifest.fileName); an interrupted backup has none)")
        }
        let manifest: SnapshotManifest
        do {
            manifest = try JSONDecoder().decode(SnapshotManifest.self, from: data)
        } catch {
            throw StorageError(.unusableDirectory, "\(snapshot)/\(SnapshotManifest.fileName) cannot be read: \(error)")
        }
        guard manifest.format == SnapshotManifest.currentFormat else {
            throw StorageError(.unusableDirectory, "\(snapshot) is a backup of format \(manifest.format); this version reads format 1")
        }
        let databasePath = directory + "/" + databaseName
        for existing in [databasePath, databasePath + "-wal", databasePath + "-shm", directory + "/blobs"]
        where FileManager.default.fileExists(atPath: existing) {
            throw StorageError(.unusableDirectory, "\(directory) already holds a store (\(existing)); restore into an empty data directory")
        }
        if mkdir(directory, 0o750) != 0 && errno != EEXIST { throw StorageError.fromPOSIX("create \(directory)") }
        for relative in manifest.extraFiles {
            let destination = directory + "/" + relative
            try makeDirectory((destination as NSString).deletingLastPathComponent)
            _ = try copyFile(from: snapshot + "/" + relative, to: destination)
        }
        let blobs = directory + "/blobs"
        try makeDirectory(blobs)
        let fm = FileManager.default
        for shard in (try? fm.contentsOfDirectory(atPath: snapshot + "/blobs")) ?? [] where shard.utf8.count == 2 {
            try makeDirectory("\(blobs)/\(shard)")
            for name in try fm.contentsOfDirectory(atPath: "\(snapshot)/blobs/\(shard)") {
                _ = try copyFile(from: "\(snapshot)/blobs/\(shard)/\(name)", to: "\(blobs)/\(shard)/\(name)")
            }
            try BodyFiles.fsyncPath("\(blobs)/\(shard)")
        }
        try BodyFiles.fsyncPath(blobs)
        // The database last, so an interrupted restore leaves a directory `restore` refuses
        // only because of its blobs/, never a database whose bodies are missing.
        _ = try copyFile(from: snapshot + "/" + databaseName, to: databasePath)
        try BodyFiles.fsyncPath(directory)
        let store = try SQLiteStore(directory: directory, logger: logger)
        defer { try? store.close() }
        return (manifest, try store.verify(deep: true))
    }

    /// Releases removals held off during a snapshot: each body checked again under the
    /// writer, as every removal is, since it may have been stored anew meanwhile.
    func dropHeldFiles(_ digests: Set<BodyDigest>) {
        guard !digests.isEmpty else { return }
        do {
            try writeWithoutTransaction { db in
                var unused: [BodyDigest] = []
                for digest in digests
                where try Bool.fetchOne(
                    try db.cachedStatement(sql: "SELECT 1 FROM blob WHERE sha256 = ? AND inline = 0"), arguments: [digest.data]) == nil
                {
                    unused.append(digest)
                }
                files.remove(unused)
            }
        } catch {
            // Left in place: the orphan sweep at the next start removes them.
            logger.warning("could not remove \(digests.count) unused body files after a backup: \(error)")
        }
    }

    static func counts(_ databasePath: String) throws -> (messages: Int64, bodies: Int64) {
        do {
            let queue = try DatabaseQueue(path: databasePath)
            defer { try? queue.close() }
            return try queue.read { db in
                (try Int64.fetchOne(db, sql: "SELECT count(*) FROM message")!, try Int64.fetchOne(db, sql: "SELECT count(*) FROM blob")!)
            }
        } catch let error as DatabaseError {
            throw storageError(error, "read \(databasePath)")
        }
    }

    /// Creates `path` (mode 0700) or accepts it empty; anything in it is refused.
    static func prepareEmptyDirectory(_ path: String) throws {
        guard path.hasPrefix("/") else {
            throw StorageError(.unusableDirectory, "the backup directory must be an absolute path, not \(path)")
        }
        if mkdir(path, 0o700) != 0 {
            guard errno == EEXIST else { throw StorageError.fromPOSIX("create \(path)") }
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"]
            guard entries.isEmpty else { throw StorageError(.unusableDirectory, "\(path) is not empty; back up into a new directory") }
        }
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw StorageError.fromPOSIX("create \(path)") }
    }

    static func fileSize(_ path: String) -> Int64 {
        var st = stat()
        return stat(path, &st) == 0 ? Int64(st.st_size) : 0
    }

    static func fsyncFile(_ path: String) throws { try BodyFiles.fsyncPath(path) }

    /// Copies a file (mode 0600) through a temporary name, fsyncs it and renames it into place;
    /// its size.
    static func copyFile(from source: String, to destination: String) throws -> Int64 {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw StorageError.fromPOSIX("open \(source)") }
        defer { Glibc.close(input) }
        let temporary = destination + ".part"
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw StorageError.fromPOSIX("create \(temporary)") }
        var total: Int64 = 0
        do {
            defer { Glibc.close(output) }
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let n = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                guard n >= 0 else { throw StorageError.fromPOSIX("read \(source)") }
                if n == 0 { break }
                try SpillingBodyWriter.write((output, temporary), buffer[0..<n])
                total += Int64(n)
            }
            guard fsync(output) == 0 else { throw StorageError.fromPOSIX("fsync \(temporary)") }
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, destination) == 0 else { throw StorageError.fromPOSIX("rename \(temporary)") }
        return total
    }

    static func writeDurably(_ data: Data, to path: String) throws {
        let temporary = path + ".part"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw StorageError.fromPOSIX("write \(temporary)")
        }
        try BodyFiles.fsyncPath(temporary)
        guard rename(temporary, path) == 0 else { throw StorageError.fromPOSIX("rename \(temporary)") }
    }
}
