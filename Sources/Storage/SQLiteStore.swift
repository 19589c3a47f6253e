import Dispatch
import Foundation
import GRDB
public import Logging
import MailCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// How the embedded store is laid out; the defaults are what the benchmarks chose
/// (Tests/bench/STORAGE.md).
public struct StoreOptions: Sendable {
    /// Bodies of at most this many bytes are stored in the database, with their rows.
    public var inlineBodyLimit: Int = 64 * 1024
    /// SQLite's page size for a new database (an existing one keeps its own).
    public var pageSize: Int = 4096
    /// How often the background checkpointer copies the WAL into the database.
    public var checkpointIntervalMs: Int = 250
    /// RFC 6154 §2: the mailboxes every new account gets besides INBOX (and every account
    /// that existed before schema v6, by its migration), so IMAP clients, web mail and a junk
    /// filter agree where sent mail, drafts, deleted and junk mail go.
    public var defaultMailboxes: [DefaultMailbox] = StoreOptions.standardMailboxes
    public init() {}

    public static let standardMailboxes = SpecialUse.defaultMailboxes.map { DefaultMailbox($0.name, $0.specialUse) }
}

/// A mailbox every account has from its creation, with its special use.
public struct DefaultMailbox: Sendable, Equatable {
    public var name: String
    public var specialUse: String
    public init(_ name: String, _ specialUse: String) {
        self.name = name
        self.specialUse = specialUse
    }
}

/// The embedded store: a data directory with `loft.sqlite` (WAL) and `blobs/` for bodies too
/// large to keep inline. Opening it runs pending migrations — after copying the database to
/// `backups/` — and empties `blobs/tmp/`; bodies left unreferenced by a crash are found by a
/// background sweep, so start-up does not grow with the store.
public final class SQLiteStore: MailStorage {
    public let directory: String
    public let options: StoreOptions
    let pool: DatabasePool
    let files: BodyFiles
    let logger: Logger
    let checkpointer: Checkpointer
    /// Background housekeeping (the orphan sweep); `close` waits for it.
    let maintenance = DispatchQueue(label: "loft.store.maintenance", qos: .utility)
    let closing = Mutex(false)
    /// Held while the store is open: one back-end per data directory (the one-writer rule).
    let lock: DirectoryLock
    /// Combines concurrent small write transactions into one commit (`combinedWrite`).
    let combiner = WriteCombiner()

    public static let databaseName = "loft.sqlite"
    public var inlineBodyLimit: Int { options.inlineBodyLimit }

    public init(directory: String, options: StoreOptions = StoreOptions(), logger: Logger = Logger(label: "loft.storage")) throws {
        self.directory = directory
        self.options = options
        self.logger = logger
        if mkdir(directory, 0o750) != 0 && errno != EEXIST {
            throw StorageError.fromPOSIX("create the data directory \(directory)")
        }
        chmod(directory, 0o750)
        lock = try DirectoryLock(directory: directory)
        let path = directory + "/" + Self.databaseName
        let existed = FileManager.default.fileExists(atPath: path)
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.maximumReaderCount = 8
        config.label = "loft"
        let pageSize = options.pageSize
        config.prepareDatabase { db in
            // Only a database with no page yet takes these (the writer is opened first, before
            // WAL mode, which fixes the page size).
            if !existed && !db.configuration.readonly {
                try db.execute(sql: "PRAGMA page_size = \(pageSize); PRAGMA auto_vacuum = INCREMENTAL")
            }
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)
            // GRDB switches the writer to synchronous=NORMAL when it turns WAL on, after
            // `prepareDatabase`. In WAL mode NORMAL does not fsync at commit, so a power cut
            // could lose acknowledged mail: FULL makes every commit durable when it returns
            // (DESIGN §3). Checkpoints run in the background, not on the committing thread.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864")
                guard try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2 else {
                    throw StorageError(.ioFailure, "SQLite refused synchronous=FULL")
                }
            }
        } catch let error as DatabaseError {
            throw Self.storageError(error, "open \(path)")
        }
        self.pool = pool
        self.files = try BodyFiles(root: directory + "/blobs")
        let migrator = Schema.migrator(defaultMailboxes: options.defaultMailboxes)
        do {
            // A database a newer Loft migrated has tables and meanings this version does not
            // know: refuse it rather than run on it.
            let unknown = try pool.read { db in
                try db.tableExists("grdb_migrations")
                    ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations").filter { !migrator.migrations.contains($0) }
                    : []
            }
            guard unknown.isEmpty else {
                throw StorageError(
                    .unusableDirectory,
                    "\(path) was upgraded by a newer Loft (schema \(unknown.sorted().joined(separator: ", ")), this version knows up to \(migrator.migrations.last ?? "none")); run that version, or restore a backup made before the upgrade"
                )
            }
            let pending = try pool.read { db in try !migrator.hasCompletedMigrations(db) }
            if existed && pending {
                let backup = try Self.backup(pool, directory: directory, reason: "pre-migration")
                logger.notice("backed up the database to \(backup) before migrating")
            }
            try migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw Self.storageError(error, "migrate \(path)")
        }
        let staged = files.sweepStaged()
        if staged > 0 { logger.notice("start-up removed \(staged) unfinished uploads") }
        checkpointer = Checkpointer(path: path, intervalMs: options.checkpointIntervalMs, logger: logger)
        checkpointer.start(pool: pool)
        maintenance.async { [self] in
            let removed = Self.sweepOrphans(pool: pool, files: files) { closing.withLock { $0 } }
            if removed > 0 { logger.notice("removed \(removed) body files no row referred to (left by a crash)") }
        }
    }

    public func availableBytes() -> Int64? {
        var fs = statvfs()
        guard statvfs(directory, &fs) == 0 else { return nil }
        return Int64(fs.f_bavail) * Int64(fs.f_frsize)
    }

    public func newBody() throws -> any BodyWriter {
        SpillingBodyWriter(files: files, inlineLimit: options.inlineBodyLimit)
    }

    /// Copies the live database (consistently, with SQLite's backup API) to
    /// `backups/loft-<reason>-<time>.sqlite` and returns that path.
    @discardableResult
    public func backup(reason: String) throws -> String {
        try Self.backup(pool, directory: directory, reason: reason)
    }

    static func backup(_ pool: DatabasePool, directory: String, reason: String) throws -> String {
        let dir = directory + "/backups"
        if mkdir(dir, 0o700) != 0 && errno != EEXIST { throw StorageError.fromPOSIX("create \(dir)") }
        let stamp = Int(Date().timeIntervalSince1970)
        let path = "\(dir)/loft-\(reason)-\(stamp).sqlite"
        do {
            let target = try DatabaseQueue(path: path)
            try pool.backup(to: target)
            try target.close()
        } catch let error as DatabaseError {
            throw storageError(error, "back up to \(path)")
        }
        return path
    }

    /// Closes the database; a second call does nothing.
    public func close() throws {
        let first = closing.withLock { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        maintenance.sync {}
        checkpointer.stop()
        defer { lock.release() }
        try pool.close()
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    // MARK: Transactions

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch let error as DatabaseError {
            throw Self.storageError(error, "read")
        }
    }

    /// A write transaction; a full disk comes back as `storageFull` (SQLite rolled it back).
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.write(body)
        } catch let error as DatabaseError {
            throw Self.storageError(error, "write")
        }
    }

    func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.writeWithoutTransaction(body)
        } catch let error as DatabaseError {
            throw Self.storageError(error, "write")
        }
    }

    static func storageError(_ error: DatabaseError, _ what: String) -> StorageError {
        switch error.resultCode {
        case .SQLITE_FULL: StorageError(.storageFull, "\(what): the data directory's file system is full")
        case .SQLITE_IOERR, .SQLITE_CANTOPEN, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_NOMEM:
            StorageError(.ioFailure, "\(what): \(error)")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: StorageError(.corrupt, "\(what): \(error)")
        default: StorageError(.ioFailure, "\(what): \(error)")
        }
    }

    /// Deletes body files no row refers to: a crash between a body's rename into place and its
    /// batch's commit leaves one. Each is checked and removed under the writer, which also
    /// covers every install and commit, so a body being stored right now is never taken.
    static func sweepOrphans(pool: DatabasePool, files: BodyFiles, stop: () -> Bool) -> Int {
        var removed = 0
        for digest in files.allFiles() {
            if stop() { break }
            let gone = try? pool.writeWithoutTransaction { db -> Bool in
                let used = try Bool.fetchOne(
                    try db.cachedStatement(sql: "SELECT 1 FROM blob WHERE sha256 = ? AND inline = 0"), arguments: [digest.data])
                if used == nil {
                    files.remove([digest])
                    return true
                }
                return false
            }
            if gone == true { removed += 1 }
        }
        return removed
    }
}

/// Runs SQLite's checkpoints off the committing thread: a PASSIVE checkpoint on a connection of
/// its own every `intervalMs`, which copies committed pages from the WAL into the database
/// without blocking the writer or readers; and, about once a minute, gives free pages back to
/// the file system (`auto_vacuum=INCREMENTAL`) when many have piled up.
///
/// `@unchecked Sendable`: the timer is set up once in `start` and cancelled in `stop`; its
/// handler runs on `queue` only.
final class Checkpointer: @unchecked Sendable {
    let path: String
    let intervalMs: Int
    let logger: Logger
    let queue = DispatchQueue(label: "loft.checkpoint", qos: .utility)
    let timer: any DispatchSourceTimer
    let connection: DatabaseQueue?
    static let vacuumEvery = 240
    /// WAL frames (pages) beyond which a checkpoint also restarts the WAL: 32 MiB of 4 KiB pages.
    static let restartFrames = 8192
    static let vacuumFreePages = 4096

    init(path: String, intervalMs: Int, logger: Logger) {
        self.path = path
        self.intervalMs = intervalMs
        self.logger = logger
        timer = DispatchSource.makeTimerSource(queue: queue)
        var config = Configuration()
        config.busyMode = .timeout(1)
        config.label = "loft.checkpoint"
        connection = try? DatabaseQueue(path: path, configuration: config)
    }

    func start(pool: DatabasePool) {
        // Resumed whatever happens: libdispatch traps when a suspended source is released.
        defer { timer.resume() }
        guard let connection, intervalMs > 0 else { return }
        let ticks = ManagedTicks()
        timer.schedule(deadline: .now() + .milliseconds(intervalMs), repeating: .milliseconds(intervalMs))
        timer.setEventHandler { [logger] in
            do {
                try connection.writeWithoutTransaction { db in
                    let (frames, _) = try db.checkpoint(.passive)
                    // The WAL starts again from its beginning only once a checkpoint has copied
                    // all of it; under steady load a passive one never quite does, so past a
                    // size a RESTART waits (briefly: the frames since the last pass) for the
                    // writer and lets the WAL wrap around.
                    if frames > Self.restartFrames { _ = try db.checkpoint(.restart) }
                }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
                // Readers held an old snapshot: the next pass tries again.
            } catch {
                logger.warning("checkpoint failed: \(error)")
            }
            if ticks.next() % Self.vacuumEvery == 0 {
                do {
                    try pool.writeWithoutTransaction { db in
                        let free = try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
                        let mode = try Int.fetchOne(db, sql: "PRAGMA auto_vacuum") ?? 0
                        if mode == 2 && free > Self.vacuumFreePages { try db.execute(sql: "PRAGMA incremental_vacuum(\(free / 2))") }
                    }
                } catch {
                    logger.warning("incremental vacuum failed: \(error)")
                }
            }
        }
    }

    func stop() {
        timer.cancel()
        queue.sync {}
        try? connection?.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        try? connection?.close()
    }
}

/// A counter for the checkpoint timer. `@unchecked Sendable`: only the timer's serial queue
/// touches it.
final class ManagedTicks: @unchecked Sendable {
    var count = 0
    func next() -> Int {
        count += 1
        return count
    }
}

/// An exclusive `flock` on `<data>/loft.lock` for as long as a store is open, with the
/// holder's pid in the file: the store assumes it is the only writer (`MailStorage`), so a
/// second back-end on the same directory (a second `loft serve`, a `loft backend` started by
/// hand) is refused at once with the first one's pid. The kernel drops the lock when its
/// process dies, however it dies, so a crash never leaves the directory locked.
final class DirectoryLock: Sendable {
    static let fileName = "loft.lock"
    private let descriptor: Mutex<Int32>

    init(directory: String) throws {
        let path = directory + "/" + Self.fileName
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StorageError.fromPOSIX("open \(path)") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            Glibc.close(fd)
            throw StorageError(
                .unusableDirectory,
                "another Loft back-end\(holder.map { $0.isEmpty ? "" : " (pid \($0))" } ?? "") has \(directory) open; stop it first, one back-end per data directory"
            )
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = Mutex(fd)
    }

    /// Gives the lock up (the store closed); later calls do nothing.
    func release() {
        descriptor.withLock { fd in
            if fd >= 0 { Glibc.close(fd) }
            fd = -1
        }
    }

    deinit { release() }
}
