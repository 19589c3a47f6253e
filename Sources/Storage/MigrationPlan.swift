import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// What opening a data directory would do to its database, found without changing anything
/// (`loft backend --check`, issue 14): the migrations applied, the ones this version would
/// apply (after backing the database up), and any this version does not know (the database
/// was opened by a newer Loft, which this one must not run on).
public struct MigrationPlan: Sendable, Equatable {
    public struct Step: Sendable, Equatable {
        public var id: String
        public var summary: String
    }
    /// False when there is no database: opening would create one at the current schema.
    public var exists: Bool
    public var applied: [String]
    public var pending: [Step]
    public var unknown: [String]
    /// The schema this version runs: its last migration.
    public var current: String
}

extension SQLiteStore {
    /// Reads the migrations table only, from a read-only connection; the store may be running.
    public static func migrationPlan(directory: String) throws -> MigrationPlan {
        let migrator = Schema.migrator()
        let known = migrator.migrations
        let current = known.last ?? ""
        let path = directory + "/" + databaseName
        guard FileManager.default.fileExists(atPath: path) else {
            return MigrationPlan(exists: false, applied: [], pending: [], unknown: [], current: current)
        }
        var configuration = Configuration()
        configuration.readonly = true
        // A reader of a WAL database makes its -wal and -shm files when they are missing (the
        // store is not running): those it made go again, so the directory is left as found.
        // A back-end starting meanwhile would own them: they are removed only while its lock
        // (when the directory has one) is free, and held so for the whole read.
        let lockFD = open(directory + "/" + DirectoryLock.fileName, O_RDWR | O_CLOEXEC)
        let idle = lockFD < 0 || flock(lockFD, LOCK_EX | LOCK_NB) == 0
        let made = idle ? ["-wal", "-shm"].map { path + $0 }.filter { !FileManager.default.fileExists(atPath: $0) } : []
        defer {
            for file in made { unlink(file) }
            if lockFD >= 0 { Glibc.close(lockFD) }
        }
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            let applied = try queue.read { db in
                try db.tableExists("grdb_migrations") ? try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") : []
            }
            let done = Set(applied)
            return MigrationPlan(
                exists: true, applied: known.filter(done.contains),
                pending: known.filter { !done.contains($0) }.map { MigrationPlan.Step(id: $0, summary: Schema.summaries[$0] ?? "") },
                unknown: applied.filter { !known.contains($0) }.sorted(), current: current)
        } catch let error as DatabaseError {
            throw storageError(error, "read \(path)")
        }
    }
}

extension Schema {
    /// One line per migration, for `loft backend --check`; the doc comments of the migrations
    /// above have the detail.
    static let summaries: [String: String] = [
        "v1": "the first schema: domains, accounts, aliases, groups, mailboxes, messages, body files",
        "v2": "delivery outcomes kept by idempotency key, so a repeated delivery is not stored twice",
        "v3": "storage at scale: small bodies inline in the database, per-mailbox counters, a header prefix per copy",
        "v4": "IMAP: subscriptions as a list of their own, each body's header block for SEARCH",
        "v5": "IMAP speed: each body's envelope in a table of its own",
        "v6": "SPECIAL-USE: Sent, Drafts, Trash, Junk and Archive for every account",
        "v7": "SORT and THREAD: room for each body's sort keys",
        "v8": "the outbound queue: what the relay and delivery status notifications need",
        "v9": "the directory: given name, surname, and whether an account is hidden from it",
    ]
}
