import Foundation
public import GRDB
public import Logging

/// The data directory: `loft.sqlite` (WAL) and `blobs/`. Opening it runs pending migrations —
/// after copying the database to `backups/` — and sweeps what a crash left half-done.
public final class MailStore: Sendable {
    public let directory: String
    public let pool: DatabasePool
    public let blobs: BlobStore
    let logger: Logger

    public static let databaseName = "loft.sqlite"

    public init(directory: String, logger: Logger = Logger(label: "loft.storage")) throws {
        self.directory = directory
        self.logger = logger
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        chmod(directory, 0o750)
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.maximumReaderCount = 8
        config.label = "loft"
        config.prepareDatabase { db in
            // WAL commits are durable only with synchronous=FULL (the default in WAL is not,
            // with some builds): a commit returns after the WAL is fsynced (DESIGN §3).
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let path = directory + "/" + Self.databaseName
        let existed = FileManager.default.fileExists(atPath: path)
        let pool = try DatabasePool(path: path, configuration: config)
        self.pool = pool
        self.blobs = try BlobStore(root: directory + "/blobs")
        let migrator = Schema.migrator()
        let pending = try pool.read { db in try !migrator.hasCompletedMigrations(db) }
        if existed && pending {
            let backup = try backupDatabase(reason: "pre-migration")
            logger.notice("backed up the database to \(backup) before migrating")
        }
        try migrator.migrate(pool)
        let swept = blobs.sweep { sha in
            (try? pool.read { db in try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM blob WHERE sha256 = ?"), arguments: [sha])
            }) != nil
        }
        if swept.staged + swept.orphans > 0 {
            logger.notice("start-up sweep removed \(swept.staged) unfinished uploads and \(swept.orphans) unreferenced bodies")
        }
    }

    /// Copies the live database (consistently, with SQLite's backup API) to
    /// `backups/loft-<reason>-<time>.sqlite` and returns that path.
    @discardableResult
    public func backupDatabase(reason: String) throws -> String {
        let dir = directory + "/backups"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let stamp = Int(Date().timeIntervalSince1970)
        let path = "\(dir)/loft-\(reason)-\(stamp).sqlite"
        let target = try DatabaseQueue(path: path)
        try pool.backup(to: target)
        try target.close()
        return path
    }

    public func close() throws {
        try pool.close()
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970) }
}
